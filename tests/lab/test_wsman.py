"""Real pywinrm against the lab's WS-Management server: HTTP, HTTPS with the lab CA, faults, ids."""

from __future__ import annotations

import base64
import socket
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from remediate.lab.fleet import Fleet

pytestmark = pytest.mark.lab


def _session(fleet: Fleet, host: str, scheme: str, password: str | None = None) -> winrm.Session:
    port = fleet.ports[host]["winrm"]
    return winrm.Session(
        f"{scheme}://127.0.0.1:{port}/wsman",
        auth=(fleet.user, fleet.password if password is None else password),
        transport="basic" if scheme == "http" else "ssl",
        ca_trust_path=str(fleet.ca_path),
        server_cert_validation="validate",
        proxy=None,
    )


def test_run_cmd_over_http(lab_fleet: Fleet) -> None:
    response = _session(lab_fleet, "mail001", "http").run_cmd("hostname")
    assert (response.status_code, response.std_out, response.std_err) == (0, b"mail001\r\n", b"")


def test_run_cmd_over_https_validates_the_lab_ca(lab_fleet: Fleet) -> None:
    response = _session(lab_fleet, "mail003", "https").run_cmd("whoami")
    assert response.status_code == 0
    assert response.std_out == b"mail003\\labadmin\r\n"


def test_https_without_the_lab_ca_fails_validation(lab_fleet: Fleet) -> None:
    port = lab_fleet.ports["mail001"]["winrm"]
    session = winrm.Session(
        f"https://127.0.0.1:{port}/wsman",
        auth=(lab_fleet.user, lab_fleet.password),
        transport="ssl",
        ca_trust_path=None,
        server_cert_validation="validate",
        proxy=None,
    )
    with pytest.raises(requests.exceptions.SSLError):
        session.run_cmd("hostname")


def test_wrong_password_is_invalid_credentials(lab_fleet: Fleet) -> None:
    with pytest.raises(InvalidCredentialsError):
        _session(lab_fleet, "mail001", "https", password="not-the-password").run_cmd("hostname")


def test_exit_code_and_stderr_come_back(lab_fleet: Fleet) -> None:
    response = _session(lab_fleet, "ws001", "http").run_cmd("type C:\\no\\such\\file.txt")
    assert response.status_code == 1
    assert response.std_out == b""
    assert b"cannot find" in response.std_err


def test_pipelined_batch_through_stdin_is_one_round_trip(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "mail001")
    before = dict(lab_fleet.hosts["mail001"].counters)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd")
    protocol.send_command_input(shell, command, b"hostname\r\n", end=False)
    protocol.send_command_input(shell, command, b"whoami\r\nexit /b 7\r\n", end=True)
    out, err, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert rc == 7
    assert out.startswith(b"Microsoft Windows [Version")
    assert b">hostname\r\nmail001\r\n" in out
    assert b">whoami\r\nmail001\\labadmin\r\n" in out
    after = lab_fleet.hosts["mail001"].counters
    # Create, Command, Send, Send, Receive, Signal, Delete
    assert after["requests"] - before["requests"] == 7
    assert after["round_trips"] - before["round_trips"] == 1
    assert after["connections"] - before["connections"] == 1


def test_counters_match_one_run_cmd(lab_fleet: Fleet, lab_winrm_run) -> None:
    counters = lab_fleet.hosts["mail003"].counters
    before = dict(counters)
    assert lab_winrm_run(lab_fleet, "mail003", "hostname").std_out == b"mail003\r\n"
    # Create, Command, Receive, Signal, Delete; one command; one shell
    assert counters["requests"] - before["requests"] == 5
    assert counters["round_trips"] - before["round_trips"] == 1
    assert counters["connections"] - before["connections"] == 1
    assert counters["commands"] - before["commands"] >= 1


def test_receive_times_out_while_the_command_runs(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "mail001", operation_timeout=1)
    lab_fleet.set_fault("mail001", "hang=2.5")
    try:
        shell = protocol.open_shell()
        command = protocol.run_command(shell, "hostname")
        started = time.monotonic()
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command)
        assert 0.8 < time.monotonic() - started < 2.4
        out, _, rc = protocol.get_command_output(shell, command)  # pywinrm re-polls silently
        assert (out, rc) == (b"mail001\r\n", 0)
        assert time.monotonic() - started >= 2.4
        protocol.close_shell(shell)
    finally:
        lab_fleet.set_fault("mail001", "clear")


def test_unknown_shell_and_command_are_soap_faults(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "mail001")
    with pytest.raises(WSManFaultError) as unknown_shell:
        protocol.run_command(str(uuid.uuid4()).upper(), "hostname")
    assert unknown_shell.value.code == 500
    assert unknown_shell.value.wsman_fault_code == 2150858843
    assert "shell was not found" in unknown_shell.value.reason
    shell = protocol.open_shell()
    with pytest.raises(WSManFaultError) as unknown_command:
        protocol.get_command_output_raw(shell, str(uuid.uuid4()).upper())
    assert unknown_command.value.wsman_fault_code == 2150858754
    protocol.close_shell(shell)
    with pytest.raises(WSManFaultError):  # the shell is gone after Delete
        protocol.run_command(shell, "hostname")


def test_replies_relate_to_the_request_message_id(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "mail001")
    message_id = uuid.uuid4()
    envelope = {
        "env:Envelope": protocol.build_wsman_header(
            action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
            message_id=message_id,
        )
    }
    envelope["env:Envelope"]["env:Body"] = {"rsp:Shell": {"rsp:InputStreams": "stdin"}}
    import xmltodict

    reply = ET.fromstring(protocol.send_message(xmltodict.unparse(envelope)))
    relates = [node.text for node in reply.iter() if node.tag.endswith("RelatesTo")]
    assert relates == [f"uuid:{message_id}"]


def test_large_output_arrives_over_several_receives(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "ws001")
    line = "echo " + "x" * 200 + "\r\n"
    before = lab_fleet.hosts["ws001"].counters["requests"]
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd")
    protocol.send_command_input(shell, command, (line * 800).encode(), end=True)
    out, _, rc = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert rc == 0
    assert out.count(b"x" * 200 + b"\r\n") == 1600  # echoed after the prompt, then printed
    requests_made = lab_fleet.hosts["ws001"].counters["requests"] - before
    receives = requests_made - 4  # Create, Command, Send, Delete
    assert receives == -(-len(out) // (96 * 1024))


def test_plain_http_post_without_auth_gets_401_with_basic_challenge(lab_fleet: Fleet) -> None:
    port = lab_fleet.ports["mail002"]["winrm"]
    reply = requests.post(
        f"http://127.0.0.1:{port}/wsman",
        data=b"<x/>",
        proxies={"http": "", "https": ""},
        timeout=10,
    )
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")
    token = base64.b64encode(f"{lab_fleet.user}:{lab_fleet.password}".encode()).decode()
    reply = requests.post(
        f"http://127.0.0.1:{port}/wsman",
        data=b"not xml",
        headers={"Authorization": f"Basic {token}"},
        proxies={"http": "", "https": ""},
        timeout=10,
    )
    assert reply.status_code == 500
    assert b"WSManFault" in reply.content


def test_silent_connections_do_not_starve_other_clients(lab_fleet: Fleet) -> None:
    port = lab_fleet.ports["mail002"]["winrm"]
    silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(80)]
    try:
        started = time.monotonic()
        assert _session(lab_fleet, "mail003", "http").run_cmd("hostname").status_code == 0
        assert time.monotonic() - started < 5
    finally:
        for sock in silent:
            sock.close()


def test_requests_over_max_envelope_size_are_refused(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "ws001")
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd")
    with pytest.raises(WSManFaultError) as refused:
        protocol.send_command_input(shell, command, b"rem " + b"x" * 400_000 + b"\r\n", end=True)
    assert refused.value.fault_subcode == "w:EncodingLimit"
    protocol.close_shell(shell)


def test_a_garbled_request_closes_only_that_connection(lab_fleet: Fleet) -> None:
    port = lab_fleet.ports["mail002"]["winrm"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /wsman HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        assert sock.recv(100) == b""  # closed without a reply
    assert _session(lab_fleet, "mail002", "http").run_cmd("hostname").status_code == 0


def test_shells_are_limited_per_user_and_freed_by_delete(lab_fleet: Fleet, lab_clients) -> None:
    protocol = lab_clients.winrm(lab_fleet, "mail003")
    assert lab_fleet.state("mail003")["winrm_open_shells"] == 0
    shells = [protocol.open_shell() for _ in range(30)]
    try:
        with pytest.raises(WSManFaultError) as quota:
            protocol.open_shell()
        assert quota.value.fault_subcode == "w:QuotaLimit"
        assert lab_fleet.state("mail003")["winrm_open_shells"] == 30
    finally:
        for shell in shells:
            protocol.close_shell(shell, close_session=False)
    assert lab_fleet.state("mail003")["winrm_open_shells"] == 0
    protocol.close_shell(protocol.open_shell())
