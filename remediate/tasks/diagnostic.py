"""Diagnostic task types: `diagnostic.ping` checks a host runs a command and answers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from remediate.model import Change, Finding, Host
from remediate.secrets import Secret
from remediate.tasks.base import ArgumentError, Fact, Task
from remediate.transport.base import CommandResult, Connection

DATA_PATTERN = re.compile(r"[A-Za-z0-9 ._-]{1,64}")
# `echo off` / `echo on` switch cmd's echo instead of printing; `echo -n` is an sh option.
_ECHO_KEYWORDS = ("on", "off")


def _words(text: str) -> str:
    """Text with runs of whitespace as one space: sh word splitting collapses them, cmd not."""
    return " ".join(text.split())


class EchoFact:
    """Echo a word back: proves a command ran on the host and its output came home."""

    def __init__(self, data: str) -> None:
        self.data = data
        self.key = f"diagnostic.ping:{data}"

    def commands(self, host: Host) -> Sequence[str]:
        return [f"echo {self.data}"]

    def process(self, host: Host, results: Sequence[CommandResult]) -> dict[str, Any]:
        result = results[0]
        return {"text": result.stdout.strip(), "rc": result.rc}

    def refine(self, host: Host, value: Any) -> Sequence[str]:
        return []

    def process_refined(self, host: Host, value: Any, results: Sequence[CommandResult]) -> Any:
        return value


@attrs.frozen
class Ping:
    """Run `echo DATA` on the host and report whether DATA came back intact. Never changes."""

    name: ClassVar[str] = "diagnostic.ping"
    argument_names: ClassVar[frozenset[str]] = frozenset({"data"})

    data: str = "pong"

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Ping:
        for key in args:
            if key not in cls.argument_names:
                raise ArgumentError(f"unknown argument {key!r}; expected 'data'", key=str(key))
        data = args.get("data", "pong")
        if isinstance(data, Secret):
            raise ArgumentError("argument 'data' cannot be a secret", key="data")
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            raise ArgumentError(f"argument 'data' must be text, got {type(data).__name__}", "data")
        return cls(data=_checked_data(str(data)))

    def facts(self, host: Host) -> Sequence[Fact]:
        return [EchoFact(self.data)]

    def plan(self, host: Host, facts: Mapping[str, Any]) -> Iterable[Change | Finding]:
        answer = facts.get(f"diagnostic.ping:{self.data}")
        address = f"{host.name}/ping"
        # Did the echo run and bring back exactly what we sent?
        if (
            isinstance(answer, dict)
            and answer.get("rc") == 0
            and _words(str(answer.get("text", ""))) == _words(self.data)
        ):
            yield Finding(address, f"host answers {self.data!r}", severity="info", task=self.name)
            return
        text = answer.get("text") if isinstance(answer, dict) else None
        rc = answer.get("rc") if isinstance(answer, dict) else None
        yield Finding(
            address,
            f"echo {self.data!r} did not come back intact: got {text!r} (rc {rc})",
            severity="critical",
            task=self.name,
            evidence=(str(text),) if text is not None else (),
        )

    def relevant(self, host: Host, facts: Mapping[str, Any]) -> Any:
        return facts.get(f"diagnostic.ping:{self.data}")

    def apply(self, conn: Connection, host: Host, change: Change) -> None:
        raise NotImplementedError("diagnostic.ping plans no change, so there is nothing to apply")

    def revert(self, conn: Connection, host: Host, change: Change) -> None:
        raise NotImplementedError("diagnostic.ping plans no change, so there is nothing to revert")


def _checked_data(data: str) -> str:
    if not DATA_PATTERN.fullmatch(data):
        raise ArgumentError(
            f"argument 'data' must be 1 to 64 of A-Z a-z 0-9 space . _ -, got {data[:80]!r}",
            key="data",
        )
    if not data.strip():
        raise ArgumentError("argument 'data' must not be only spaces", key="data")
    if data.strip().startswith("-") or data.strip().lower() in _ECHO_KEYWORDS:
        raise ArgumentError(
            f"argument 'data' {data!r} would be read by echo as an option; "
            "start it with a letter or digit",
            key="data",
        )
    return data


TASK_TYPES: tuple[type[Task], ...] = (Ping,)
