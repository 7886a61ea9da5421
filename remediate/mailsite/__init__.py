"""The MailSite admin surface: the msbox dialect, the mailbox fact, template inheritance."""

from __future__ import annotations

from remediate.mailsite.facts import MailboxFacts, fact_key
from remediate.mailsite.mailboxes import Domain, Mailbox, Setting, domains_from_value
from remediate.mailsite.msbox import Dialect, clear_property, dword, set_property

__all__ = [
    "Dialect",
    "Domain",
    "Mailbox",
    "MailboxFacts",
    "Setting",
    "clear_property",
    "domains_from_value",
    "dword",
    "fact_key",
    "set_property",
]
