"""The Connection protocol every transport implements, and what a command returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs


@attrs.frozen
class CommandResult:
    """What one remote command gave back."""

    rc: int
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0


@runtime_checkable
class Connection(Protocol):
    """One open connection to one host, reused for every command of a run.

    `run_batch` sends all commands in one round trip where the size limits allow
    (a cmd or sh session fed through stdin with per-command markers).
    `safe_to_repeat` marks reads: only those are re-sent after a dropped connection.
    """

    host: str
    dialect: str  # "cmd" | "powershell" | "sh"
    round_trips: int

    def run(self, command: str, *, safe_to_repeat: bool = False) -> CommandResult: ...

    def run_batch(
        self, commands: Sequence[str], *, safe_to_repeat: bool = False
    ) -> list[CommandResult]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Connection: ...

    def __exit__(self, *exc: object) -> None: ...
