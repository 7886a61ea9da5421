"""The MailSite admin surface: the msbox dialect, template inheritance, logs."""
