"""Mailbox and Domain value types, and effective values through MailboxTemplate inheritance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from remediate.mailsite.msbox import Dialect
from remediate.secrets import Secret

Value = str | Secret


def _properties(value: Mapping[str, Any]) -> Mapping[str, Value]:
    """Explicit properties as read; numbers written in a spec file become text like msbox's."""
    return {str(k): (v if isinstance(v, Secret) else str(v)) for k, v in value.items()}


@attrs.frozen
class Mailbox:
    """One mailbox and the properties set explicitly on it."""

    name: str
    domain: str
    properties: Mapping[str, Value] = attrs.field(factory=dict, converter=_properties)

    @property
    def address(self) -> str:
        return f"{self.name}@{self.domain}"

    def explicit(self, prop: str) -> Value | None:
        """The value set on this mailbox itself (property names are not case sensitive)."""
        lowered = prop.lower()
        for name, value in self.properties.items():
            if name.lower() == lowered:
                return value
        return None


@attrs.frozen
class Setting:
    """An effective value and where it comes from: "mailbox", "template" or "default"."""

    value: Value | None
    origin: str


@attrs.frozen
class Domain:
    """One domain: its template, its mailboxes, and the ones msbox could not read."""

    name: str
    template: Mailbox | None
    mailboxes: tuple[Mailbox, ...] = ()
    error: str | None = None
    unread: Mapping[str, str] = attrs.field(factory=dict)
    skipped: Mapping[str, str] = attrs.field(factory=dict)

    def effective(self, mailbox: Mailbox, prop: str) -> Setting:
        """The value the mailbox lives with: its own, else its template's, else the default."""
        own = mailbox.explicit(prop)
        if own is not None:
            return Setting(own, "mailbox")
        inherited = None if self.template is None else self.template.explicit(prop)
        if inherited is not None:
            return Setting(inherited, "template")
        return Setting(None, "default")


def domains_from_value(value: Mapping[str, Any], dialect: Dialect) -> tuple[Domain, ...]:
    """The MailboxFacts value as Domains, sorted by name; mailboxes keep msbox's order."""
    return tuple(
        _domain(name, entry, dialect) for name, entry in sorted(value.get("domains", {}).items())
    )


def _domain(name: str, entry: Mapping[str, Any], dialect: Dialect) -> Domain:
    template = None
    mailboxes = []
    for mailbox_name, properties in (entry.get("mailboxes") or {}).items():
        mailbox = Mailbox(str(mailbox_name), name, properties or {})
        if dialect.is_template(mailbox.name) and template is None:
            template = mailbox
        else:
            mailboxes.append(mailbox)
    unread = dict(entry.get("unread") or {})
    unread.update({pending: "not read yet" for pending in entry.get("pending") or ()})
    return Domain(
        name=name,
        template=template,
        mailboxes=tuple(mailboxes),
        error=entry.get("error"),
        unread=unread,
        skipped=dict(entry.get("skipped") or {}),
    )
