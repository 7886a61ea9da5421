"""What every transport shares: batches over one shell session, retries, outcomes in doubt.

A transport supplies three things: `_open` (connect, raising ConnectionFailed),
`_discard` (drop a broken session quietly) and `_exchange` (one round trip: start the
session command, feed it stdin, collect stdout/stderr until it ends or the deadline
passes). This class turns those into `run` and `run_batch` with the rules of the
Connection protocol: one round trip per batch, retries only for transient failures,
and a write never re-sent once it may have run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import attrs

from remediate.errors import CommandTimeout, ConnectionFailed, HostFailed, UnknownOutcome
from remediate.model import ConnectionSettings
from remediate.transport.base import CommandResult
from remediate.transport.batch import (
    MAX_SCRIPT_BYTES,
    SESSION_COMMAND,
    BatchScript,
    build_script,
    parse_output,
    split_commands,
)
from remediate.transport.retry import RetryPolicy, classify

log = logging.getLogger("remediate.transport")


class UnknownBatchOutcome(UnknownOutcome):
    """A batch of writes stopped where some may or may not have run.

    `completed` holds the results received in full before the failure, in order; the
    next `in_doubt` commands may have run, partly or not at all; the `not_sent` ones
    after them (a later part of a split batch) were never sent.
    """

    def __init__(self, host: str, message: str, completed: list[CommandResult], in_doubt: int):
        super().__init__(f"{host}: {message}", completed, in_doubt)
        self.host = host
        self.message = message


@attrs.frozen
class Exchanged:
    """What one round trip gave back."""

    stdout: bytes
    stderr: bytes
    rc: int


class Interrupted(Exception):
    """A round trip failed; `started` says whether the remote side may have run anything."""

    def __init__(self, cause: ConnectionFailed, stdout: bytes, stderr: bytes, started: bool):
        super().__init__(cause.message)
        self.cause = cause
        self.stdout = stdout
        self.stderr = stderr
        self.started = started


class TimedOut(Exception):
    """The deadline of a round trip passed; what had arrived so far."""

    def __init__(self, stdout: bytes, stderr: bytes):
        super().__init__("deadline passed")
        self.stdout = stdout
        self.stderr = stderr


class ShellConnection:
    """Base of the WinRM, SSH and local connections (see the module docstring)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        dialect: str,
        policy: RetryPolicy | None = None,
        max_script_bytes: int = MAX_SCRIPT_BYTES,
    ):
        self.settings = settings
        self.host = settings.name
        self.dialect = dialect
        self.round_trips = 0
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.max_script_bytes = max_script_bytes
        self._is_open = False

    # -- to implement
    def _open(self) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError

    def _exchange(self, command_line: str, stdin: bytes, deadline: float) -> Exchanged:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError

    # -- the Connection protocol
    def open(self) -> None:
        """Connect now, retrying transient failures; raises ConnectionFailed."""
        self.policy.call(self.host, "connect", self._ensure_open)

    def run(self, command: str, *, safe_to_repeat: bool = False) -> CommandResult:
        """One command, as a batch of one (one round trip)."""
        return self.run_batch([command], safe_to_repeat=safe_to_repeat)[0]

    def run_batch(
        self, commands: Sequence[str], *, safe_to_repeat: bool = False
    ) -> list[CommandResult]:
        """Every command in one round trip unless the size limit splits the batch."""
        if isinstance(commands, str):
            raise TypeError("run_batch takes a sequence of commands, not one string")
        chunks = list(split_commands(self.dialect, commands, self.max_script_bytes))
        results: list[CommandResult] = []
        for chunk in chunks:
            try:
                results += self._run_chunk(chunk, safe_to_repeat)
            except UnknownBatchOutcome as exc:
                exc.completed[:0] = results
                exc.not_sent = len(commands) - len(exc.completed) - exc.in_doubt
                raise
        return results

    def close(self) -> None:
        if self._is_open:
            self._is_open = False
            self._shutdown()

    def __enter__(self) -> ShellConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals
    def _ensure_open(self) -> None:
        if not self._is_open:
            try:
                self._open()
            except Exception as exc:
                self._drop_session()  # release whatever half-open session is left
                raise classify(self.host, exc) from None
            self._is_open = True

    def _drop_session(self) -> None:
        self._is_open = False
        try:
            self._discard()
        except Exception:  # noqa: BLE001 - the session is already broken
            log.debug("%s: discarding a broken session failed", self.host, exc_info=True)

    def _run_chunk(self, chunk: list[str], safe: bool) -> list[CommandResult]:
        done: list[CommandResult] = []
        remaining = list(chunk)
        for attempt in self.policy.retrying(self.host, "command batch"):
            with attempt:
                self._ensure_open()
                done += self._one_round_trip(remaining, safe, done)
                remaining = []
        return done

    def _one_round_trip(
        self, remaining: list[str], safe: bool, done: list[CommandResult]
    ) -> list[CommandResult]:
        """Run `remaining`; on a retriable failure, move finished results into `done`."""
        script = build_script(self.dialect, remaining)
        deadline = time.monotonic() + self.settings.command_timeout
        self.round_trips += 1
        try:
            raw = self._exchange(SESSION_COMMAND[self.dialect], script.stdin, deadline)
        except Interrupted as exc:
            return self._after_interruption(script, exc, remaining, safe, done)
        except TimedOut as exc:
            self._drop_session()
            raise self._timed_out(script, exc, safe, done) from None
        parsed = parse_output(script, raw.stdout, raw.stderr)
        if parsed.complete:
            return parsed.results
        raise self._ended_early(script, parsed.results, raw.rc, safe, done)

    def _after_interruption(
        self,
        script: BatchScript,
        exc: Interrupted,
        remaining: list[str],
        safe: bool,
        done: list[CommandResult],
    ) -> list[CommandResult]:
        self._drop_session()
        parsed = parse_output(script, exc.stdout, exc.stderr)
        if parsed.complete:
            return parsed.results
        if exc.started and not safe:
            in_doubt = script.count - len(parsed.results)
            raise UnknownBatchOutcome(
                self.host,
                f"{exc.cause.message} during a batch of writes: {in_doubt} of {script.count} "
                "commands in doubt (they may have run); not re-sent",
                done + parsed.results,
                in_doubt,
            )
        done += parsed.results
        del remaining[: len(parsed.results)]
        raise exc.cause

    def _timed_out(
        self, script: BatchScript, exc: TimedOut, safe: bool, done: list[CommandResult]
    ) -> Exception:
        parsed = parse_output(script, exc.stdout, exc.stderr)
        limit = self.settings.command_timeout
        in_doubt = script.count - len(parsed.results)
        if safe:
            return CommandTimeout(
                f"{self.host}: no complete reply within {limit:g}s "
                f"({len(parsed.results)} of {script.count} commands finished)"
            )
        return UnknownBatchOutcome(
            self.host,
            f"timed out after {limit:g}s: {in_doubt} of {script.count} commands in doubt",
            done + parsed.results,
            in_doubt,
        )

    def _ended_early(
        self,
        script: BatchScript,
        results: list[CommandResult],
        rc: int,
        safe: bool,
        done: list[CommandResult],
    ) -> Exception:
        missing = script.count - len(results)
        text = (
            f"the shell session ended (rc {rc}) after {len(results)} of {script.count} "
            f"commands: {missing} did not report"
        )
        if safe:
            return HostFailed(f"{self.host}: {text}")
        return UnknownBatchOutcome(self.host, text + " and are in doubt", done + results, missing)
