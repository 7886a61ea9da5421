"""The exception hierarchy: one class per condition, each knowing its exit code."""

from __future__ import annotations

from typing import Any

# Exit codes (DESIGN.md section 7).
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_HOST_FAILED = 2
EXIT_ABORTED = 3
EXIT_UNREACHABLE = 4
EXIT_INVALID_INPUT = 5
EXIT_STALE = 6
EXIT_CHANGES_PENDING = 8


class RemediateError(Exception):
    """Base of every error remediate raises on purpose."""

    exit_code = EXIT_INTERNAL


class InputError(RemediateError):
    """Bad input from the user: printed as one line `path:line:col: message`."""

    exit_code = EXIT_INVALID_INPUT

    def __init__(
        self, message: str, path: str | None = None, line: int | None = None, col: int | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        super().__init__(self.location_line())

    def location_line(self) -> str:
        if self.path is None:
            return self.message
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class ConnectionFailed(RemediateError):
    """A host could not be reached or would not let us in. Subclasses classify why."""

    exit_code = EXIT_UNREACHABLE
    kind = "unreachable"

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        self.message = message
        super().__init__(f"{host}: {message}")


class Unreachable(ConnectionFailed):
    """Connection refused, reset, timed out, or the server kept failing (5xx)."""

    kind = "unreachable"


class AuthFailed(ConnectionFailed):
    """The credentials were refused. Never retried."""

    kind = "auth-failed"


class HostKeyRejected(ConnectionFailed):
    """The SSH host key is unknown or changed. Never retried."""

    kind = "host-key-rejected"


class TLSFailed(ConnectionFailed):
    """The server certificate did not verify. Never retried."""

    kind = "tls-failed"


class CommandTimeout(RemediateError):
    """A remote command did not finish before its deadline."""

    exit_code = EXIT_HOST_FAILED


class UnknownOutcome(RemediateError):
    """A write was sent but the connection dropped before its result came back.

    `completed` holds the results fully received before the drop; `in_doubt` counts the
    commands that may or may not have run; `not_sent` those that surely did not.
    """

    exit_code = EXIT_HOST_FAILED

    def __init__(
        self, message: str, completed: list[Any] | None = None, in_doubt: int = 0, not_sent: int = 0
    ) -> None:
        super().__init__(message)
        self.completed: list[Any] = list(completed or [])
        self.in_doubt = in_doubt
        self.not_sent = not_sent


class UnsafeArgument(InputError):
    """A value that cannot be quoted safely for the target shell (NUL, CR, LF, too long)."""


class HostFailed(RemediateError):
    """A task failed on a host (a command returned an error, a change did not converge)."""

    exit_code = EXIT_HOST_FAILED


class StalePlan(RemediateError):
    """The host changed since the plan was made; nothing was applied there."""

    exit_code = EXIT_STALE


class JournalCorrupt(RemediateError):
    """A journal record before the last one is damaged."""

    exit_code = EXIT_INVALID_INPUT


class Interrupted(RemediateError):
    """The user stopped a run (Ctrl-C); what it did is in its journal."""

    exit_code = 130


class HostLocked(RemediateError):
    """Another live run holds the host lock."""

    exit_code = EXIT_HOST_FAILED
