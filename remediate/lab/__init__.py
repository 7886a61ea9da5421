"""A simulated MailSite fleet on loopback speaking real WinRM and SSH."""
