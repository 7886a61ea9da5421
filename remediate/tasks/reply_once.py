"""`mailsite.reply_once`: auto replies answer each sender once (ReplyOnce=1 on templates).

KB 10469: auto replies draw blacklist probes; "reply just once" on the
MailboxTemplate applies to every mailbox that does not set ReplyOnce itself.
Mailboxes that set ReplyOnce=0 while auto reply is on are reported, and fixed
with `fix_overrides: true`. Rollback restores "not set" with `-clear`, not 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import attrs

from remediate.errors import HostFailed
from remediate.mailsite.facts import MailboxFacts, fact_key
from remediate.mailsite.mailboxes import Domain, Mailbox, Value, domains_from_value
from remediate.mailsite.msbox import Dialect, check_msbox, dword
from remediate.model import Change, Finding, Host
from remediate.secrets import Secret
from remediate.tasks.base import ArgumentError, Fact, Facts
from remediate.transport.base import CommandResult, Connection

NAME = "mailsite.reply_once"
_BOOLEAN_TEXT = {"true": True, "yes": True, "false": False, "no": False}


@attrs.frozen
class ReplyOnce:
    """Set ReplyOnce=1 on every domain's MailboxTemplate; report (and fix) mailbox overrides."""

    name: ClassVar[str] = NAME
    argument_names: ClassVar[frozenset[str]] = frozenset({"fix_overrides"})

    fix_overrides: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ReplyOnce:
        for key in args:
            if key not in cls.argument_names:
                raise ArgumentError(f"unknown argument {key!r} (known: fix_overrides)", key)
        fix = args.get("fix_overrides", False)
        if isinstance(fix, str) and fix.strip().lower() in _BOOLEAN_TEXT:
            fix = _BOOLEAN_TEXT[fix.strip().lower()]
        if not isinstance(fix, bool):
            raise ArgumentError("fix_overrides must be true or false", "fix_overrides")
        return cls(fix_overrides=fix)

    def facts(self, host: Host) -> list[Fact]:
        return [MailboxFacts(Dialect.for_host(host))]

    def plan(self, host: Host, facts: Facts) -> Iterable[Change | Finding]:
        dialect = Dialect.for_host(host)
        value = facts[fact_key(dialect)]
        for domain_name, reason in sorted(value.get("skipped_domains", {}).items()):
            yield Finding(f"{host.name}/domain:{domain_name}", reason, "info", NAME)
        for domain in domains_from_value(value, dialect):
            yield from _plan_domain(host, domain, dialect, self.fix_overrides)

    def relevant(self, host: Host, facts: Facts) -> Any:
        """What the changes depend on, and no more: each template's ReplyOnce and, with
        fix_overrides, which mailboxes override it while auto reply is on. A user switching
        auto reply on elsewhere does not make a saved plan stale."""
        dialect = Dialect.for_host(host)
        value = facts[fact_key(dialect)]
        return {
            "property": dialect.prop("reply_once"),
            "domains": {
                domain.name: _relevant_domain(domain, dialect, self.fix_overrides)
                for domain in domains_from_value(value, dialect)
            },
        }

    def apply(self, conn: Connection, host: Host, change: Change) -> None:
        self.check_write(host, change, conn.run(self.write_command(host, change, False)), False)

    def revert(self, conn: Connection, host: Host, change: Change) -> None:
        self.check_write(host, change, conn.run(self.write_command(host, change, True)), True)

    def observe(self, host: Host, facts: Facts, change: Change) -> Any:
        """The property's explicit value on the mailbox now (None: not set, or no mailbox)."""
        address, prop = _target(change)
        dialect = Dialect.for_host(host)
        for domain in domains_from_value(facts[fact_key(dialect)], dialect):
            for mailbox in (domain.template, *domain.mailboxes):
                if mailbox is not None and mailbox.address.lower() == address.lower():
                    return _plain(mailbox.explicit(prop))
        return None

    def write_command(self, host: Host, change: Change, revert: bool) -> str:
        """`-set` to the after value; reverting, `-clear` when it was not set, else `-set`."""
        address, prop = _target(change)
        dialect = Dialect.for_host(host)
        value = change.data.get("before") if revert else change.data["after"]
        if value is None:
            return dialect.clear_command(address, prop)
        return dialect.set_command(address, prop, str(value))

    def check_write(self, host: Host, change: Change, result: CommandResult, revert: bool) -> None:
        address, prop = _target(change)
        value = change.data.get("before") if revert else change.data["after"]
        what = f"-clear {address} {prop}" if value is None else f"-set {address} {prop} {value}"
        check_msbox(host, result, what)


def _plan_domain(
    host: Host, domain: Domain, dialect: Dialect, fix_overrides: bool
) -> Iterator[Change | Finding]:
    where = f"{host.name}/domain:{domain.name}"
    if domain.error is not None:
        yield Finding(where, f"cannot read domain {domain.name}: {domain.error}", "warning", NAME)
        return
    yield from _plan_template(host, domain, dialect)
    yield from _plan_overrides(host, domain, dialect, fix_overrides)
    for name, reason in sorted({**domain.unread, **domain.skipped}.items()):
        yield Finding(
            f"{host.name}/mailbox:{name}@{domain.name}",
            f"cannot check ReplyOnce of {name}@{domain.name}: {reason}",
            "warning",
            NAME,
        )


def _plan_template(host: Host, domain: Domain, dialect: Dialect) -> Iterator[Change | Finding]:
    prop = dialect.prop("reply_once")
    template = domain.template
    # Template unreadable or not listed?
    if template is None:
        if not any(dialect.is_template(name) for name in (*domain.unread, *domain.skipped)):
            yield Finding(
                f"{host.name}/domain:{domain.name}",
                f"msbox lists no {dialect.template} in {domain.name}; ReplyOnce cannot be set",
                "warning",
                NAME,
            )
        return
    current = template.explicit(prop)
    # Template already replies once (any non-zero value)?
    if dword(current):
        return
    before = _plain(current)
    yield _change(
        host,
        template,
        prop,
        before,
        f"{template.address} does not set {prop}"
        if current is None
        else f"{template.address} sets {prop}={before}",
        "so mailboxes that inherit it auto-reply to every message from the same sender, "
        "and repeated auto replies draw blacklist probes (KB 10469); 1 answers each sender once",
    )


def _plan_overrides(
    host: Host, domain: Domain, dialect: Dialect, fix_overrides: bool
) -> Iterator[Change | Finding]:
    prop, auto = dialect.prop("reply_once"), dialect.prop("enable_auto_reply")
    for mailbox in domain.mailboxes:
        own = mailbox.explicit(prop)
        # Only a mailbox that set ReplyOnce=0 itself escapes the template.
        if own is None or dword(own) != 0:
            continue
        auto_reply = domain.effective(mailbox, auto)
        # Auto reply off: the override does nothing today.
        if not dword(auto_reply.value):
            continue
        origin = (
            "set on the mailbox"
            if auto_reply.origin == "mailbox"
            else (f"inherited from {dialect.template}@{domain.name}")
        )
        evidence = (
            f"{prop}={_plain(own)} set on the mailbox",
            f"{auto}={_plain(auto_reply.value)} {origin}",
        )
        action = (
            "this plan sets it to 1" if fix_overrides else "run with fix_overrides: true to fix"
        )
        yield Finding(
            f"{host.name}/mailbox:{mailbox.address}",
            f"{mailbox.address} overrides {dialect.template} with {prop}=0 while auto reply is on "
            f"({action})",
            "warning",
            NAME,
            evidence,
        )
        if fix_overrides:
            yield _change(
                host, mailbox, prop, 0, f"{mailbox.address} sets {prop}=0 with auto reply on",
                "so it auto-replies to every message from the same sender, "
                "which draws blacklist probes (KB 10469)",
            )  # fmt: skip


def _change(host: Host, mailbox: Mailbox, prop: str, before: Any, why: str, effect: str) -> Change:
    return Change(
        address=f"{host.name}/mailbox:{mailbox.address}/{prop}",
        action="create" if before is None else "update",
        before=before,
        after=1,
        reason=f"{why}, {effect}",
        reversible=True,
        task=NAME,
        data={"mailbox": mailbox.address, "property": prop, "before": before, "after": 1},
    )


def _plain(value: Value | None) -> Any:
    """A property value for a plan: the integer when it is one, else the text; never a secret."""
    if value is None:
        return None
    if isinstance(value, Secret):
        return "(secret)"
    number = dword(value)
    return value if number is None else number


def _relevant_domain(domain: Domain, dialect: Dialect, fix_overrides: bool) -> dict[str, Any]:
    prop = dialect.prop("reply_once")
    template = domain.template
    view: dict[str, Any] = {
        "error": domain.error,
        "template": "missing" if template is None else _plain(template.explicit(prop)),
    }
    if fix_overrides:
        view["overrides"] = sorted(
            mailbox.name for mailbox in domain.mailboxes if _overrides(domain, mailbox, dialect)
        )
    return view


def _overrides(domain: Domain, mailbox: Mailbox, dialect: Dialect) -> bool:
    """Whether the mailbox sets ReplyOnce=0 itself while its auto reply is on."""
    own = mailbox.explicit(dialect.prop("reply_once"))
    auto = domain.effective(mailbox, dialect.prop("enable_auto_reply")).value
    return own is not None and dword(own) == 0 and bool(dword(auto))


def _target(change: Change) -> tuple[str, str]:
    """The mailbox address and property a change names; HostFailed if it names none."""
    address, prop = change.data.get("mailbox"), change.data.get("property")
    if not isinstance(address, str) or "@" not in address or not isinstance(prop, str):
        raise HostFailed(f"{change.address}: not a {NAME} change (mailbox/property missing)")
    return address, prop


TASK_TYPES = (ReplyOnce,)
