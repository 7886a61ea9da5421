"""Every fault knob and the latency knob, observed from real pywinrm and paramiko clients."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
import requests
import winrm
from winrm.exceptions import WinRMTransportError

from remediate.errors import InputError
from remediate.lab.fleet import Fleet

pytestmark = pytest.mark.lab


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet.start(tmp_path, hosts=1, workstations=1, mailboxes=3, transport="both") as lab:
        yield lab


def _run(fleet: Fleet, host: str, line: str) -> winrm.Response:
    port = fleet.ports[host]["winrm"]
    session = winrm.Session(
        f"https://127.0.0.1:{port}/wsman",
        auth=(fleet.user, fleet.password),
        transport="ssl",
        ca_trust_path=str(fleet.ca_path),
        proxy=None,
    )
    return session.run_cmd(line)


def _ssh(fleet: Fleet, host: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(fleet.known_hosts_path))
    client.connect(
        "127.0.0.1",
        port=fleet.ports[host]["ssh"],
        username=fleet.user,
        password=fleet.password,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def test_drop_after_n_commands_aborts_the_winrm_connection(fleet: Fleet) -> None:
    fleet.set_fault("mail001", "drop-after=1")
    assert _run(fleet, "mail001", "hostname").status_code == 0
    before = fleet.hosts["mail001"].counters["commands"]
    with pytest.raises(requests.exceptions.ConnectionError):
        _run(fleet, "mail001", "hostname")
    assert fleet.hosts["mail001"].counters["commands"] == before  # it never ran
    assert _run(fleet, "mail001", "hostname").std_out == b"mail001\r\n"  # fires once


def test_drop_keeps_the_effects_of_earlier_commands_in_a_batch(fleet: Fleet) -> None:
    port = fleet.ports["ws001"]["winrm"]
    protocol = winrm.Protocol(
        f"http://127.0.0.1:{port}/wsman",
        transport="basic",
        username=fleet.user,
        password=fleet.password,
        ca_trust_path=None,
        proxy=None,
    )
    rule = (
        'netsh advfirewall firewall add rule name="{}" dir=out action=block protocol=TCP '
        "remoteport=25 remoteip=192.0.2.1 profile=any enable=yes\r\n"
    )
    fleet.set_fault("ws001", "drop-after=1")
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd")
    batch = rule.format("lab-first") + rule.format("lab-second")
    protocol.send_command_input(shell, command, batch.encode(), end=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.get_command_output(shell, command)
    names = [rule["name"] for rule in fleet.state("ws001")["firewall"]]  # type: ignore[index]
    assert "lab-first" in names
    assert "lab-second" not in names


def test_drop_closes_the_ssh_transport_without_exit_status(fleet: Fleet) -> None:
    client = _ssh(fleet, "ws001")
    try:
        fleet.set_fault("ws001", "drop-after=0")
        _, out, _ = client.exec_command("hostname")
        assert out.read() == b""
        assert out.channel.recv_exit_status() == -1
        time.sleep(0.2)
        assert not client.get_transport().is_active()  # type: ignore[union-attr]
    finally:
        client.close()


def test_http500_on_the_nth_request(fleet: Fleet) -> None:
    fleet.set_fault("mail001", "http500=2")  # Create passes, Command gets the 500
    with pytest.raises(WinRMTransportError) as failure:
        _run(fleet, "mail001", "hostname")
    assert failure.value.code == 500
    assert _run(fleet, "mail001", "hostname").status_code == 0


def test_http500_refuses_the_nth_ssh_channel_request(fleet: Fleet) -> None:
    client = _ssh(fleet, "mail001")
    try:
        fleet.set_fault("mail001", "http500=1")
        with pytest.raises(paramiko.SSHException):
            client.exec_command("hostname")
        _, out, _ = client.exec_command("hostname")
        assert out.read() == b"mail001\r\n"
    finally:
        client.close()


def test_hang_delays_one_command(fleet: Fleet) -> None:
    fleet.set_fault("mail001", "hang=1.2")
    started = time.monotonic()
    client = _ssh(fleet, "mail001")
    try:
        _, out, _ = client.exec_command("hostname")
        assert out.read() == b"mail001\r\n"
        assert time.monotonic() - started >= 1.2
        started = time.monotonic()
        _, out, _ = client.exec_command("hostname")
        assert out.read() == b"mail001\r\n"
        assert time.monotonic() - started < 1.0
    finally:
        client.close()


def test_refuse_closes_both_ports_until_clear(fleet: Fleet) -> None:
    ports = fleet.ports["mail001"]
    fleet.set_fault("mail001", "refuse")
    for port in ports.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert _run(fleet, "ws001", "hostname").status_code == 0  # other hosts unaffected
    fleet.set_fault("mail001", "clear")
    assert _run(fleet, "mail001", "hostname").status_code == 0
    client = _ssh(fleet, "mail001")
    client.close()


def test_latency_is_paid_per_request(tmp_path: Path) -> None:
    with Fleet.start(tmp_path, hosts=1, workstations=0, latency_ms=150, transport="winrm") as lab:
        started = time.monotonic()
        _run(lab, "mail001", "hostname")
        elapsed = time.monotonic() - started
    assert elapsed >= 5 * 0.15  # Create, Command, Receive, Signal, Delete


def test_bad_fault_specs_and_hosts_are_input_errors(fleet: Fleet) -> None:
    for spec in ("drop-after", "drop-after=x", "http500=0", "hang=-1", "explode"):
        with pytest.raises(InputError, match="bad fault spec"):
            fleet.set_fault("mail001", spec)
    with pytest.raises(InputError, match="unknown lab host"):
        fleet.set_fault("mail999", "clear")
