"""Writing changes to a host under the journal: intent, write, outcome, one by one or pipelined.

Every intent is durable before its write leaves; every write gets an outcome record once its
result is known. A task that implements PipelinedWrites has all of a host's writes sent in one
round trip; any other task is applied change by change, stopping at the first failure.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from remediate.engine.events import Emitter
from remediate.engine.hostwork import Target, change_record, describe, task_record
from remediate.engine.journal import Journal
from remediate.errors import RemediateError, UnknownOutcome
from remediate.model import Change, ChangeResult
from remediate.tasks.base import PipelinedWrites
from remediate.transport.base import CommandResult, Connection


@attrs.frozen
class _Writer:
    """One host's writes in one direction (apply: before -> after; revert: after -> before)."""

    conn: Connection
    target: Target
    journal: Journal
    emit: Emitter
    revert: bool

    @property
    def done(self) -> str:
        return "reverted" if self.revert else "applied"

    def intent(self, change: Change) -> None:
        self.emit("change.started", host=self.target.host.name, address=change.address)
        old, new = self._direction(change)
        self.journal.record_intent(
            self.target.host.name, change_record(change), self._task(change), old, new
        )

    def outcome(self, change: Change, status: str, error: str | None = None) -> ChangeResult:
        old, new = self._direction(change)
        self.journal.record_outcome(
            self.target.host.name,
            change_record(change),
            self._task(change),
            old,
            new,
            status,
            error,
        )
        self.emit(
            "change.finished", host=self.target.host.name, address=change.address, status=status
        )
        shown = status if status in (self.done, "not-applied") else "failed"
        return ChangeResult(change, shown, error)

    def _direction(self, change: Change) -> tuple[object, object]:
        return (change.after, change.before) if self.revert else (change.before, change.after)

    def _task(self, change: Change) -> dict[str, object]:
        return task_record(self.target.task(change.task_index))


def write_changes(
    conn: Connection,
    target: Target,
    changes: Sequence[Change],
    journal: Journal,
    emit: Emitter,
    revert: bool = False,
) -> tuple[list[ChangeResult], str | None]:
    """Apply (or revert) changes on one host; the first error, if any, comes back as text."""
    writer = _Writer(conn, target, journal, emit, revert)
    tasks = [target.task(c.task_index).task for c in changes]
    pipelined = [t for t in tasks if isinstance(t, PipelinedWrites)]
    if len(changes) > 1 and len(pipelined) == len(changes):
        return _pipelined(writer, pipelined, changes)
    return _one_by_one(writer, changes)


def _one_by_one(w: _Writer, changes: Sequence[Change]) -> tuple[list[ChangeResult], str | None]:
    results: list[ChangeResult] = []
    for change in changes:
        task = w.target.task(change.task_index).task
        w.intent(change)
        try:
            (task.revert if w.revert else task.apply)(w.conn, w.target.host, change)
        except UnknownOutcome as exc:
            results.append(w.outcome(change, "unknown", describe(exc)))
            return results, f"{change.address}: outcome unknown: {describe(exc)}"
        except (RemediateError, OSError) as exc:
            results.append(w.outcome(change, "failed", describe(exc)))
            return results, f"{change.address}: {describe(exc)}"
        results.append(w.outcome(change, w.done))
    return results, None


def _pipelined(
    w: _Writer, tasks: Sequence[PipelinedWrites], changes: Sequence[Change]
) -> tuple[list[ChangeResult], str | None]:
    host = w.target.host
    try:
        commands = [t.write_command(host, c, w.revert) for t, c in zip(tasks, changes, strict=True)]
    except RemediateError as exc:  # nothing journaled, nothing sent
        return [], describe(exc)
    for change in changes:
        w.intent(change)
    received, in_doubt, error = _send(w.conn, commands)
    results: list[ChangeResult] = []
    for index, (task, change) in enumerate(zip(tasks, changes, strict=True)):
        if index < len(received):
            results.append(_checked(w, task, change, received[index]))
        elif index < len(received) + in_doubt:
            results.append(w.outcome(change, "unknown", f"outcome unknown: {error}"))
        else:
            results.append(w.outcome(change, "not-applied", f"never sent: {error}"))
    first = next((f"{r.change.address}: {r.error}" for r in results if r.failed), None)
    return results, first


def _send(conn: Connection, commands: list[str]) -> tuple[list[CommandResult], int, str | None]:
    """The results received, how many writes after them are in doubt, and why (if any)."""
    try:
        return conn.run_batch(commands), 0, None
    except UnknownOutcome as exc:
        completed = list(exc.completed)
        doubt = exc.in_doubt or len(commands) - len(completed) - exc.not_sent
        return completed, doubt, describe(exc)
    except (RemediateError, OSError) as exc:
        return [], len(commands), describe(exc)


def _checked(
    w: _Writer, task: PipelinedWrites, change: Change, result: CommandResult
) -> ChangeResult:
    try:
        task.check_write(w.target.host, change, result, w.revert)
    except RemediateError as exc:
        return w.outcome(change, "failed", describe(exc))
    return w.outcome(change, w.done)
