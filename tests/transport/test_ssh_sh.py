"""SSH in the sh dialect, against a loopback SSH server whose exec runs the local `sh`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.model import ConnectionSettings
from remediate.transport import SSHConnection, connect
from remediate.transport.quoting import quote_argv

from .localsshd import PASSWORD, USER, LocalSSHD, local_sshd


@pytest.fixture
def sshd() -> Iterator[LocalSSHD]:
    with local_sshd() as server:
        yield server


def settings(sshd: LocalSSHD, tmp_path: Path) -> ConnectionSettings:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line, encoding="ascii")
    return ConnectionSettings.from_vars(
        "gw1",
        {
            "ansible_connection": "ssh",
            "ansible_host": "127.0.0.1",
            "ansible_port": sshd.port,
            "ansible_user": USER,
            "ansible_password": PASSWORD,
            "remediate_known_hosts": str(known),
        },
    )


def test_sh_batch_is_one_exec_with_per_command_results(sshd: LocalSSHD, tmp_path: Path) -> None:
    commands = [
        quote_argv("sh", ["printf", "%s\\n", f"line {i}", "x & y; $(id)"]) for i in range(300)
    ]
    commands += ["echo oops >&2; exit 4", "cat"]
    with connect(settings(sshd, tmp_path)) as conn:
        assert conn.dialect == "sh"
        results = conn.run_batch(commands)
        assert conn.round_trips == 1
    assert sshd.server.execs == ["sh -s"]
    assert results[299].stdout == "line 299\nx & y; $(id)\n"
    assert (results[300].rc, results[300].stderr) == (4, "oops\n")
    assert (results[301].rc, results[301].stdout) == (0, "")  # stdin is not the batch


def test_large_stdin_and_large_output_stream_both_ways(sshd: LocalSSHD, tmp_path: Path) -> None:
    # 0.8 MB in and 4 MB out in one exec: neither side may wait on the other.
    commands = [f": {'z' * 20_000}; printf '%100000s\\n' {i}" for i in range(40)]
    with connect(settings(sshd, tmp_path)) as conn:
        results = conn.run_batch(commands, safe_to_repeat=True)
        assert conn.round_trips == 1
    assert [len(r.stdout) for r in results] == [100_001] * 40
    assert results[-1].stdout.strip() == "39"


def test_batches_split_at_the_size_limit(sshd: LocalSSHD, tmp_path: Path) -> None:
    conn = SSHConnection(settings(sshd, tmp_path), max_script_bytes=4000)
    with conn:
        results = conn.run_batch([f"echo {i}" for i in range(200)])
        assert conn.round_trips > 1
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(200)]
