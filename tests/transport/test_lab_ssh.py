"""SSH against the lab: known_hosts checking, one transport, 500 commands in one exec, faults."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import paramiko
import pytest

from remediate.errors import AuthFailed, CommandTimeout, HostKeyRejected
from remediate.transport import UnknownBatchOutcome, connect
from remediate.transport.quoting import quote_argv

from .labfleet import FAST_RETRIES, MSBOX, Lab

pytestmark = pytest.mark.lab
HOST = "mail002"


@pytest.fixture(autouse=True)
def no_user_known_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep ~/.ssh/known_hosts and any agent of the machine running the tests out."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def msbox(*args: str) -> str:
    return quote_argv("cmd", [MSBOX, *args])


def test_500_msbox_commands_cost_one_round_trip(lab: Lab) -> None:
    boxes = lab.mailboxes(HOST)
    commands = [msbox("-get", boxes[i % len(boxes)]) for i in range(499)]
    commands.append(msbox("-get", "nobody@nowhere.example"))
    with connect(lab.ssh(HOST)) as conn:
        assert conn.dialect == "cmd"
        before = lab.counters(HOST)
        results = conn.run_batch(commands, safe_to_repeat=True)
        assert lab.counters(HOST)["round_trips"] - before["round_trips"] == 1
        assert conn.round_trips == 1
    expected = lab.host(HOST).console(commands[7]).stdout.decode().replace("\r\n", "\n")
    assert results[7] == results[7].__class__(0, expected, "")
    assert (results[-1].rc, results[-1].stdout) == (1, "Mailbox not found\n")


def test_key_file_auth_and_hostile_values(lab: Lab) -> None:
    key = lab.vars[HOST]["lab_ssh_private_key_file"]
    settings = lab.ssh(HOST, ansible_password=None, ansible_ssh_private_key_file=key)
    box = lab.mailboxes(HOST)[1]
    value = "a&b^c%d!e\"f'g(h) 日本語"
    with connect(settings) as conn:
        assert conn.run(msbox("-set", box, "FullName", value)).rc == 0
        assert f"FullName={value}\n" in conn.run(msbox("-get", box)).stdout


def _known_hosts_with(tmp_path: Path, line: str) -> str:
    path = tmp_path / "known_hosts"
    path.write_text(line, encoding="ascii")
    return str(path)


def test_unknown_host_key_is_refused_after_one_attempt(lab: Lab, tmp_path: Path) -> None:
    settings = lab.ssh(HOST, remediate_known_hosts=_known_hosts_with(tmp_path, ""))
    before = lab.counters(HOST)
    with pytest.raises(HostKeyRejected, match="unknown SSH host key") as caught:
        connect(settings, FAST_RETRIES)
    assert lab.counters(HOST)["connections"] - before["connections"] == 1
    assert "ssh-keyscan" in str(caught.value) and "accept-new" in str(caught.value)


def test_changed_host_key_is_refused_after_one_attempt(lab: Lab, tmp_path: Path) -> None:
    port = lab.vars[HOST]["lab_ssh_port"]
    other = paramiko.ECDSAKey.generate()  # a key of the same type that is not the host's
    line = f"[127.0.0.1]:{port} {other.get_name()} {other.get_base64()}\n"
    settings = lab.ssh(
        HOST,
        remediate_known_hosts=_known_hosts_with(tmp_path, line),
        remediate_ssh_host_key_policy="accept-new",
    )
    before = lab.counters(HOST)
    with pytest.raises(HostKeyRejected, match="CHANGED") as caught:
        connect(settings, FAST_RETRIES)
    assert lab.counters(HOST)["connections"] - before["connections"] == 1
    assert "ssh-keygen -R" in str(caught.value)


def test_accept_new_trusts_on_first_use_and_writes_the_key(lab: Lab, tmp_path: Path) -> None:
    known = _known_hosts_with(tmp_path, "")
    first = lab.ssh(HOST, remediate_known_hosts=known, remediate_ssh_host_key_policy="accept-new")
    with connect(first) as conn:
        assert conn.run("hostname").stdout == f"{HOST}\n"
    port = lab.vars[HOST]["lab_ssh_port"]
    assert Path(known).read_text().startswith(f"[127.0.0.1]:{port} ")
    with connect(lab.ssh(HOST, remediate_known_hosts=known)) as conn:  # now known: reject is fine
        assert conn.run("hostname").rc == 0


def test_wrong_password_is_tried_exactly_once(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    before = lab.counters(HOST)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthFailed) as caught:
        connect(lab.ssh(HOST, ansible_password="wrong-Secret-456"), FAST_RETRIES)
    assert lab.counters(HOST)["connections"] - before["connections"] == 1
    assert "wrong-Secret-456" not in str(caught.value) + caplog.text


@pytest.mark.usefixtures("clean_faults")
def test_drop_mid_batch_of_writes_is_not_resent(lab: Lab) -> None:
    boxes = lab.mailboxes("mail004")[:5]
    commands = [msbox("-set", box, "FullName", "ssh-drop") for box in boxes]
    with connect(lab.ssh("mail004"), FAST_RETRIES) as conn:
        # 4 opening lines, 4 per write: three writes run with their markers, then the drop.
        lab.fleet.set_fault("mail004", f"drop-after={4 + 4 * 3}")
        before = lab.counters("mail004")
        with pytest.raises(UnknownBatchOutcome, match="2 of 5 commands in doubt") as caught:
            conn.run_batch(commands)
        assert lab.counters("mail004")["round_trips"] - before["round_trips"] == 1
    assert len(caught.value.completed) == 3 and caught.value.in_doubt == 2
    texts = [lab.host("mail004").console(msbox("-get", b)).stdout.decode() for b in boxes]
    assert ["FullName=ssh-drop" in t for t in texts] == [True, True, True, False, False]


@pytest.mark.usefixtures("clean_faults")
def test_drop_mid_batch_of_reads_reconnects_and_retries(lab: Lab) -> None:
    commands = [msbox("-get", box) for box in lab.mailboxes("mail004")]
    with connect(lab.ssh("mail004"), FAST_RETRIES) as conn:
        lab.fleet.set_fault("mail004", "drop-after=30")
        before = lab.counters("mail004")
        results = conn.run_batch(commands, safe_to_repeat=True)
        after = lab.counters("mail004")
    assert all(r.rc == 0 for r in results) and len(results) == len(commands)
    assert after["connections"] - before["connections"] == 1
    assert after["round_trips"] - before["round_trips"] == 2


@pytest.mark.usefixtures("clean_faults")
def test_refused_exec_request_is_retried_even_for_writes(lab: Lab) -> None:
    box = lab.mailboxes("mail004")[6]
    with connect(lab.ssh("mail004"), FAST_RETRIES) as conn:
        lab.fleet.set_fault("mail004", "http500=1")
        assert conn.run(msbox("-set", box, "FullName", "after-refusal")).rc == 0
    assert "after-refusal" in lab.host("mail004").console(msbox("-get", box)).stdout.decode()


@pytest.mark.slow
@pytest.mark.usefixtures("clean_faults")
def test_hang_ends_within_the_deadline(lab: Lab) -> None:
    with connect(lab.ssh("mail003", remediate_command_timeout=2), FAST_RETRIES) as conn:
        lab.fleet.set_fault("mail003", "hang=6")
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="within 2s"):
            conn.run("hostname", safe_to_repeat=True)
        assert time.monotonic() - started < 3.5
