"""Shared lab fixtures: a running fleet and real pywinrm / paramiko clients pointed at it.

`lab_fleet` (session scope) is a `remediate.lab.fleet.Fleet` with 3 MailSite servers
(mail001..mail003, 20 mailboxes each, seed 1) and 1 workstation (ws001). Every host serves
both WinRM (HTTP and HTTPS on the same port, lab CA in `fleet.ca_path`) and SSH
(`fleet.known_hosts_path`). `fleet.inventory_path` points mail001/mail003 and the
workstation ws001 at WinRM, mail002 at SSH; `fleet.ports[name]` gives {"winrm": port,
"ssh": port} for either. Credentials: `fleet.user` / `fleet.password`.

Client helpers come as fixtures (conftest modules are not importable): `lab_clients` has
`.winrm(fleet, host, scheme="https", password=None, operation_timeout=20)` -> winrm.Protocol,
`.ssh(fleet, host, password=None, key_filename=None, known_hosts=None)` -> connected
paramiko.SSHClient (RejectPolicy, closed after the test) and `.ssh_run(client, command,
stdin=None)` -> (stdout, stderr, exit status); `lab_winrm_run(fleet, host, command_line)` runs
one command with winrm.Session.run_cmd over HTTPS.

The fleet is shared by the whole session, so a test that arms a fault must clear it
(`fleet.set_fault(name, "clear")` in a finally) and counters must be compared as differences.
Tests that change host state should restore it or use their own `Fleet.start(tmp_path, ...)`.

pytest only offers these fixtures to tests under tests/lab/. Elsewhere, start a fleet directly:

    @pytest.fixture(scope="session")
    def lab_fleet(tmp_path_factory):
        with Fleet.start(tmp_path_factory.mktemp("lab"), hosts=3, workstations=1) as fleet:
            yield fleet
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import winrm

from remediate.lab.fleet import Fleet


@pytest.fixture(scope="session")
def lab_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """3 MailSite servers + 1 workstation serving both WinRM and SSH (see the module docstring)."""
    fleet = Fleet.start(
        tmp_path_factory.mktemp("lab"),
        hosts=3,
        workstations=1,
        mailboxes=20,
        seed=1,
        transport="both",
    )
    try:
        yield fleet
    finally:
        fleet.stop()


def winrm_protocol(
    fleet: Fleet,
    host: str,
    scheme: str = "https",
    password: str | None = None,
    operation_timeout: int = 20,
) -> winrm.Protocol:
    """A real pywinrm Protocol for a lab host (Basic auth; HTTPS validates the lab CA)."""
    port = fleet.ports[host]["winrm"]
    return winrm.Protocol(
        f"{scheme}://127.0.0.1:{port}/wsman",
        transport="basic" if scheme == "http" else "ssl",
        username=fleet.user,
        password=fleet.password if password is None else password,
        ca_trust_path=str(fleet.ca_path),
        server_cert_validation="validate",
        operation_timeout_sec=operation_timeout,
        read_timeout_sec=operation_timeout + 10,
        proxy=None,
    )


def ssh_client(
    fleet: Fleet,
    host: str,
    password: str | None = None,
    key_filename: Path | None = None,
    known_hosts: Path | None = None,
) -> paramiko.SSHClient:
    """A connected paramiko SSHClient (RejectPolicy + the lab's known_hosts)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or fleet.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=fleet.ports[host]["ssh"],
        username=fleet.user,
        password=None if key_filename else (password or fleet.password),
        key_filename=str(key_filename) if key_filename else None,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
        banner_timeout=10,
        auth_timeout=10,
    )
    return client


def ssh_run(
    client: paramiko.SSHClient, command: str, stdin: bytes | None = None
) -> tuple[bytes, bytes, int]:
    """Exec one command (optionally feeding stdin then EOF); stdout, stderr, exit status."""
    chan_in, chan_out, chan_err = client.exec_command(command, timeout=30)
    if stdin is not None:
        chan_in.write(stdin)
        chan_in.channel.shutdown_write()
    out, err = chan_out.read(), chan_err.read()
    return out, err, chan_out.channel.recv_exit_status()


class LabClients:
    """Real clients for lab hosts; SSH clients opened here are closed after the test."""

    def __init__(self) -> None:
        self.opened: list[paramiko.SSHClient] = []
        self.ssh_run = staticmethod(ssh_run)
        self.winrm = staticmethod(winrm_protocol)

    def ssh(self, fleet: Fleet, host: str, **kwargs: Any) -> paramiko.SSHClient:
        client = ssh_client(fleet, host, **kwargs)
        self.opened.append(client)
        return client


@pytest.fixture
def lab_clients() -> Iterator[LabClients]:
    """Client helpers (see the module docstring)."""
    clients = LabClients()
    yield clients
    for client in clients.opened:
        client.close()


def winrm_run(fleet: Fleet, host: str, command_line: str) -> winrm.Response:
    """winrm.Session.run_cmd over HTTPS with the lab CA validated."""
    port = fleet.ports[host]["winrm"]
    session = winrm.Session(
        f"https://127.0.0.1:{port}/wsman",
        auth=(fleet.user, fleet.password),
        transport="ssl",
        ca_trust_path=str(fleet.ca_path),
        server_cert_validation="validate",
        proxy=None,
    )
    return session.run_cmd(command_line)


@pytest.fixture
def lab_winrm_run() -> Callable[[Fleet, str, str], winrm.Response]:
    """`lab_winrm_run(fleet, host, line)`: one command through winrm.Session.run_cmd (HTTPS)."""
    return winrm_run
