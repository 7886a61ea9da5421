"""Real paramiko clients against the lab's SSH server: host keys, auth, exec, stdin, counters."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from remediate.lab.fleet import Fleet

pytestmark = pytest.mark.lab


def test_exec_with_reject_policy_and_lab_known_hosts(lab_fleet: Fleet, lab_clients) -> None:
    client = lab_clients.ssh(lab_fleet, "mail002")
    assert lab_clients.ssh_run(client, "hostname") == (b"mail002\r\n", b"", 0)


def test_exit_status_and_stderr(lab_fleet: Fleet, lab_clients) -> None:
    client = lab_clients.ssh(lab_fleet, "ws001")
    out, err, rc = lab_clients.ssh_run(client, "type C:\\no\\such\\file.txt")
    assert (out, rc) == (b"", 1)
    assert b"cannot find" in err


def test_cmd_reads_its_commands_from_stdin(lab_fleet: Fleet, lab_clients) -> None:
    client = lab_clients.ssh(lab_fleet, "mail002")
    counters = lab_fleet.hosts["mail002"].counters
    before = dict(counters)
    out, _, rc = lab_clients.ssh_run(client, "cmd", b"hostname\r\nwhoami\r\nexit 4\r\n")
    assert rc == 4
    assert out.startswith(b"Microsoft Windows [Version")
    assert b">whoami\r\nmail002\\labadmin\r\n" in out
    assert counters["round_trips"] - before["round_trips"] == 1
    assert counters["requests"] - before["requests"] == 1
    assert counters["connections"] == before["connections"]


def test_several_execs_on_one_connection_are_counted(lab_fleet: Fleet, lab_clients) -> None:
    counters = lab_fleet.hosts["mail001"].counters
    before = dict(counters)
    client = lab_clients.ssh(lab_fleet, "mail001")
    for _ in range(3):
        assert lab_clients.ssh_run(client, "hostname")[2] == 0
    assert counters["connections"] - before["connections"] == 1
    assert counters["round_trips"] - before["round_trips"] == 3
    assert counters["requests"] - before["requests"] == 3
    assert counters["commands"] - before["commands"] == 3


def test_wrong_password_is_an_authentication_failure(lab_fleet: Fleet, lab_clients) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        lab_clients.ssh(lab_fleet, "mail002", password="wrong")


def test_public_key_auth_with_the_lab_client_key(lab_fleet: Fleet, lab_clients) -> None:
    client = lab_clients.ssh(lab_fleet, "ws001", key_filename=lab_fleet.client_key_path)
    assert lab_clients.ssh_run(client, "hostname")[0] == b"ws001\r\n"
    assert oct(lab_fleet.client_key_path.stat().st_mode & 0o777) == "0o600"


def test_an_unknown_key_is_rejected(lab_fleet: Fleet) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab_fleet.known_hosts_path))
    try:
        with pytest.raises(paramiko.AuthenticationException):
            client.connect(
                "127.0.0.1",
                port=lab_fleet.ports["ws001"]["ssh"],
                username=lab_fleet.user,
                pkey=paramiko.ECDSAKey.generate(),
                look_for_keys=False,
                allow_agent=False,
            )
    finally:
        client.close()


def test_reject_policy_refuses_a_host_missing_from_known_hosts(
    lab_fleet: Fleet, lab_clients, tmp_path: Path
) -> None:
    (tmp_path / "known_hosts").write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        lab_clients.ssh(lab_fleet, "mail002", known_hosts=tmp_path / "known_hosts")


def test_known_hosts_uses_bracketed_port_form(lab_fleet: Fleet) -> None:
    lines = lab_fleet.known_hosts_path.read_text().splitlines()
    assert len(lines) == 4
    expected = {f"[127.0.0.1]:{ports['ssh']}" for ports in lab_fleet.ports.values()}
    assert {line.split()[0] for line in lines} == expected


def test_host_keys_and_ports_survive_a_restart(tmp_path: Path) -> None:
    with Fleet.start(tmp_path, hosts=1, workstations=0, transport="ssh") as first:
        known = first.known_hosts_path.read_text()
        ports = first.ports
    with Fleet.start(tmp_path, hosts=1, workstations=0, transport="ssh") as second:
        assert second.ports == ports
        assert second.known_hosts_path.read_text() == known
        client = paramiko.SSHClient()
        client.load_host_keys(str(second.known_hosts_path))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            "127.0.0.1",
            port=ports["mail001"]["ssh"],
            username=second.user,
            password=second.password,
            look_for_keys=False,
            allow_agent=False,
        )
        try:
            _, out, _ = client.exec_command("hostname")
            assert out.read() == b"mail001\r\n"
        finally:
            client.close()


def test_stdin_larger_than_paramikos_default_window(lab_fleet: Fleet, lab_clients) -> None:
    client = lab_clients.ssh(lab_fleet, "ws001")
    batch = b"rem " + b"y" * 3_000_000 + b"\r\nhostname\r\n"
    out, _, rc = lab_clients.ssh_run(client, "cmd", batch)
    assert rc == 0
    assert out.endswith(b">hostname\r\nws001\r\n\r\nC:\\Users\\labadmin>")
