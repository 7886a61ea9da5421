"""LocalConnection: sh batches in one child process, per-command output, rc, deadline."""

from __future__ import annotations

import time

import pytest

from remediate.errors import CommandTimeout, UnknownOutcome, UnsafeArgument
from remediate.model import ConnectionSettings
from remediate.transport import Connection, UnknownBatchOutcome, connect
from remediate.transport.quoting import quote_argv


def local(**overrides: object) -> ConnectionSettings:
    return ConnectionSettings.from_vars("localhost", {"ansible_connection": "local", **overrides})


def test_run_batch_gives_each_command_its_stdout_stderr_and_rc() -> None:
    with connect(local()) as conn:
        results = conn.run_batch(
            [
                "echo out; echo err >&2",
                "exit 3",
                quote_argv("sh", ["printf", "%s|", "x & whoami", "$(id)", "it's"]),
                'read line; echo "read:$line"',  # stdin is /dev/null, not the batch
            ]
        )
        assert conn.round_trips == 1
        assert conn.dialect == "sh"
        assert isinstance(conn, Connection)
    assert (results[0].rc, results[0].stdout, results[0].stderr) == (0, "out\n", "err\n")
    assert results[1].rc == 3
    assert results[2].stdout == "x & whoami|$(id)|it's|"
    assert results[3].stdout == "read:\n"


def test_run_is_one_round_trip_each() -> None:
    conn = connect(local())
    assert conn.run("echo hi").stdout == "hi\n"
    assert conn.run("false").rc == 1
    assert conn.round_trips == 2
    conn.close()


def test_unsafe_command_is_refused_before_anything_runs(tmp_path: object) -> None:
    with connect(local()) as conn:
        with pytest.raises(UnsafeArgument):
            conn.run_batch(["echo ok", "echo a\necho b"])
        assert conn.round_trips == 0


def test_hanging_read_ends_at_the_deadline() -> None:
    with connect(local(remediate_command_timeout=1)) as conn:
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="within 1s"):
            conn.run("sleep 30", safe_to_repeat=True)
        assert time.monotonic() - started < 3


def test_a_process_escaping_the_group_cannot_hold_the_deadline() -> None:
    # `setsid` leaves our process group, and its child keeps the output pipes open.
    with connect(local(remediate_command_timeout=1)) as conn:
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            conn.run("setsid sleep 20 & sleep 20", safe_to_repeat=True)
        assert time.monotonic() - started < 4


def test_hanging_write_is_an_unknown_outcome_naming_what_finished() -> None:
    conn = connect(local(remediate_command_timeout=1))
    with conn, pytest.raises(UnknownBatchOutcome) as caught:
        conn.run_batch(["echo done", "sleep 30", "echo never"])
    assert isinstance(caught.value, UnknownOutcome)
    assert [r.stdout for r in caught.value.completed] == ["done\n"]
    assert caught.value.in_doubt == 2
    assert "2 of 3 commands in doubt" in str(caught.value)
