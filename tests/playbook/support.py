"""A task registry of our own for playbook tests, independent of which task types ship."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from remediate.model import Change, Finding, Host
from remediate.tasks.base import ArgumentError, Fact, TaskRegistry
from remediate.tasks.diagnostic import Ping
from remediate.transport.base import Connection


@attrs.frozen
class FakeReplyOnce:
    """Stands in for mailsite.reply_once: validates its arguments, never plans anything."""

    name: ClassVar[str] = "mailsite.reply_once"
    argument_names: ClassVar[frozenset[str]] = frozenset({"mailbox", "message", "options"})

    mailbox: str
    message: Any = None
    options: Any = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> FakeReplyOnce:
        mailbox = args.get("mailbox")
        if not isinstance(mailbox, str) or "@" not in mailbox:
            raise ArgumentError(f"'mailbox' must be name@domain, got {mailbox!r}", key="mailbox")
        return cls(mailbox=mailbox, message=args.get("message"), options=args.get("options"))

    def facts(self, host: Host) -> Sequence[Fact]:
        return []

    def plan(self, host: Host, facts: Mapping[str, Any]) -> Iterable[Change | Finding]:
        return []

    def relevant(self, host: Host, facts: Mapping[str, Any]) -> Any:
        return None

    def apply(self, conn: Connection, host: Host, change: Change) -> None:
        raise NotImplementedError

    def revert(self, conn: Connection, host: Host, change: Change) -> None:
        raise NotImplementedError


def make_registry() -> TaskRegistry:
    registry = TaskRegistry()
    registry.register(Ping)
    registry.register(FakeReplyOnce)
    return registry
