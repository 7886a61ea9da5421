"""Pipelined writes under the journal: every intent first, each outcome from its own result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from remediate.engine.events import Emitter
from remediate.engine.hostwork import Target
from remediate.engine.journal import Journal, read_journal
from remediate.engine.planning import BoundTask
from remediate.engine.writes import write_changes
from remediate.errors import HostFailed, UnknownOutcome
from remediate.model import Change, ConnectionSettings, Host, TaskRef
from remediate.transport.base import CommandResult


@attrs.define
class KeyValueHost:
    """A host whose whole state is a dict, written with `set KEY VALUE` commands."""

    values: dict[str, str] = attrs.field(factory=dict)
    drop_at: int | None = None  # the write at this index is lost with the connection
    round_trips: int = 0
    host: str = "kv1"
    dialect: str = "sh"

    def run(self, command: str, *, safe_to_repeat: bool = False) -> CommandResult:
        return self.run_batch([command])[0]

    def run_batch(
        self, commands: Sequence[str], *, safe_to_repeat: bool = False
    ) -> list[CommandResult]:
        self.round_trips += 1
        results = []
        for index, command in enumerate(commands):
            if index == self.drop_at:
                raise UnknownOutcome(
                    "connection dropped", results, in_doubt=1, not_sent=len(commands) - index - 1
                )
            _, key, value = command.split(" ", 2)
            if key == "readonly":
                results.append(CommandResult(1, "read-only"))
                continue
            self.values[key] = value
            results.append(CommandResult(0, ""))
        return results

    def close(self) -> None: ...

    def __enter__(self) -> KeyValueHost:
        return self

    def __exit__(self, *exc: object) -> None: ...


@attrs.frozen
class SetKeys:
    name = "test.set_keys"
    argument_names = frozenset()

    def write_command(self, host: Host, change: Change, revert: bool) -> str:
        return f"set {change.data['key']} {change.before if revert else change.after}"

    def check_write(self, host: Host, change: Change, result: CommandResult, revert: bool) -> None:
        if result.rc:
            raise HostFailed(f"{change.address}: {result.stdout}")

    def apply(self, conn: Any, host: Host, change: Change) -> None:
        self.check_write(host, change, conn.run(self.write_command(host, change, False)), False)


def _setup(tmp_path: Path, keys: Sequence[str]) -> tuple[Target, list[Change], Journal]:
    host = Host("kv1")
    target = Target(
        host,
        0,
        (BoundTask(TaskRef(0, 0, "test.set_keys", "set", {}), SetKeys()),),
        ConnectionSettings.from_vars("kv1", {"ansible_connection": "local"}),
    )
    changes = [
        Change(f"kv1/{k}", "update", "old", "new", "test", task_index=0, data={"key": k})
        for k in keys
    ]
    return target, changes, Journal(tmp_path, "run-1")


def outcomes(tmp_path: Path) -> list[tuple[str, str | None]]:
    return [
        (r.address, r.status)
        for r in read_journal(tmp_path / "journal.jsonl")
        if r.phase == "outcome"
    ]


def test_all_writes_of_a_host_go_in_one_round_trip_after_every_intent(tmp_path: Path) -> None:
    target, changes, journal = _setup(tmp_path, ["a", "b", "c"])
    conn = KeyValueHost()
    results, error = write_changes(conn, target, changes, journal, Emitter())
    assert error is None and conn.round_trips == 1
    assert [r.status for r in results] == ["applied"] * 3
    phases = [r.phase for r in read_journal(tmp_path / "journal.jsonl")]
    assert phases == ["intent"] * 3 + ["outcome"] * 3
    assert conn.values == {"a": "new", "b": "new", "c": "new"}


def test_each_write_is_judged_by_its_own_result(tmp_path: Path) -> None:
    target, changes, journal = _setup(tmp_path, ["a", "readonly", "c"])
    results, error = write_changes(KeyValueHost(), target, changes, journal, Emitter())
    assert [r.status for r in results] == ["applied", "failed", "applied"]
    assert error is not None and "kv1/readonly" in error and "read-only" in error
    assert outcomes(tmp_path) == [
        ("kv1/a", "applied"),
        ("kv1/readonly", "failed"),
        ("kv1/c", "applied"),
    ]


def test_a_dropped_batch_leaves_done_doubtful_and_unsent_apart(tmp_path: Path) -> None:
    target, changes, journal = _setup(tmp_path, ["a", "b", "c", "d"])
    conn = KeyValueHost(drop_at=1)
    results, error = write_changes(conn, target, changes, journal, Emitter())
    assert [r.status for r in results] == ["applied", "failed", "not-applied", "not-applied"]
    assert error is not None and "outcome unknown" in error
    assert outcomes(tmp_path) == [
        ("kv1/a", "applied"),
        ("kv1/b", "unknown"),
        ("kv1/c", "not-applied"),
        ("kv1/d", "not-applied"),
    ]


def test_reverting_writes_the_before_values(tmp_path: Path) -> None:
    target, changes, journal = _setup(tmp_path, ["a", "b"])
    conn = KeyValueHost(values={"a": "new", "b": "new"})
    results, error = write_changes(conn, target, changes, journal, Emitter(), revert=True)
    assert error is None and [r.status for r in results] == ["reverted", "reverted"]
    assert conn.values == {"a": "old", "b": "old"}
    records = read_journal(tmp_path / "journal.jsonl")
    assert (records[0].before, records[0].after) == ("new", "old")
