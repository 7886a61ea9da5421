"""The servers around the interpreter: code pages per transport, streamed output before a drop,
a hang that does not hold the host, and which protocol the inventory names."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import winrm
import yaml

from remediate.lab.fleet import Fleet

pytestmark = pytest.mark.lab


def _http(fleet: Fleet, host: str) -> winrm.Protocol:
    port = fleet.ports[host]["winrm"]
    return winrm.Protocol(
        f"http://127.0.0.1:{port}/wsman",
        transport="basic",
        username=fleet.user,
        password=fleet.password,
        proxy=None,
        operation_timeout_sec=5,
        read_timeout_sec=15,
    )


def _winrm_cmd(
    protocol: winrm.Protocol, codepage: int | None, line: str, stdin: bytes | None = None
) -> tuple[bytes, bytes, int]:
    shell = protocol.open_shell() if codepage is None else protocol.open_shell(codepage=codepage)
    try:
        command = protocol.run_command(shell, line)
        if stdin is not None:
            protocol.send_command_input(shell, command, stdin, end=True)
        out, err, rc = protocol.get_command_output(shell, command)
        protocol.cleanup_command(shell, command)
        return out, err, rc
    finally:
        protocol.close_shell(shell)


# ---------------------------------------------------------------- code pages


def test_winrm_shell_code_page_comes_from_winrs_codepage(lab_fleet: Fleet) -> None:
    protocol = _http(lab_fleet, "mail001")
    assert _winrm_cmd(protocol, 65001, "echo josé")[0] == "josé\r\n".encode()
    assert _winrm_cmd(protocol, 437, "echo josé")[0] == b"jos\x82\r\n"
    assert _winrm_cmd(protocol, 1252, "chcp")[0] == b"Active code page: 1252\r\n"


def test_winrm_stdin_is_read_in_the_shell_code_page(lab_fleet: Fleet) -> None:
    protocol = _http(lab_fleet, "mail001")
    script = "@echo off\r\nmsbox -get josé.müller@example.org\r\nexit\r\n".encode()
    in_437 = _winrm_cmd(protocol, 437, "cmd /q /d", script)
    assert b"Mailbox not found" in in_437[0]  # the UTF-8 bytes read as other characters
    in_utf8 = _winrm_cmd(protocol, 65001, "cmd /q /d", script)
    assert b"\r\nPassword=" in in_utf8[0]  # found: its properties are listed
    switched = _winrm_cmd(protocol, 437, "cmd /q /d", b"chcp 65001 >nul\r\n" + script)
    assert b"\r\nPassword=" in switched[0]


def test_ssh_exec_starts_at_code_page_437(lab_fleet: Fleet, lab_clients: Any) -> None:
    client = lab_clients.ssh(lab_fleet, "mail002")
    out, _, rc = lab_clients.ssh_run(client, "echo josé")
    assert (out, rc) == (b"jos\x82\r\n", 0)
    out, _, _ = lab_clients.ssh_run(
        client, "cmd /q /d /v:off /e:on", "chcp 65001 >nul\r\necho josé\r\nexit\r\n".encode()
    )
    assert out.endswith("josé\r\n".encode())


# ---------------------------------------------------------------- streaming before a drop


def test_winrm_receive_returns_output_made_before_a_drop(lab_fleet: Fleet) -> None:
    protocol = _http(lab_fleet, "mail003")
    shell = protocol.open_shell()
    try:
        lab_fleet.set_fault("mail003", "drop-after=2")  # `@echo off`, `echo one`, then drop
        command = protocol.run_command(shell, "cmd /q /d")
        protocol.send_command_input(
            shell, command, b"@echo off\r\necho one\r\necho two\r\n", end=True
        )
        out, _, _, done = protocol._raw_get_command_output(shell, command)
        assert (out.endswith(b"one\r\n"), done) == (True, False)
        with pytest.raises(requests.exceptions.ConnectionError):
            protocol._raw_get_command_output(shell, command)
    finally:
        lab_fleet.set_fault("mail003", "clear")
        protocol.close_shell(shell)  # the shared fleet counts open shells


def test_ssh_streams_output_made_before_a_drop(lab_fleet: Fleet, lab_clients: Any) -> None:
    client = lab_clients.ssh(lab_fleet, "mail002")
    try:
        lab_fleet.set_fault("mail002", "drop-after=2")
        out, _, rc = lab_clients.ssh_run(
            client, "cmd /q /d", b"@echo off\r\necho one\r\necho two\r\n"
        )
    finally:
        lab_fleet.set_fault("mail002", "clear")
    assert out.endswith(b"one\r\n") and b"two" not in out
    assert rc == -1  # no exit status: the connection was dropped


def test_winrm_receive_answers_while_a_command_is_still_running(lab_fleet: Fleet) -> None:
    protocol = _http(lab_fleet, "mail001")
    shell = protocol.open_shell()
    try:
        lab_fleet.set_fault("mail001", "hang=10")  # the first command hangs, after the banner
        command = protocol.run_command(shell, "cmd /q /d")
        protocol.send_command_input(shell, command, b"echo late\r\n", end=True)
        started = time.monotonic()
        out, _, _, done = protocol._raw_get_command_output(shell, command)
        assert time.monotonic() - started < 3
    finally:
        lab_fleet.set_fault("mail001", "clear")
    protocol.close_shell(shell)
    assert out.startswith(b"Microsoft Windows") and b"late" not in out and not done


# ---------------------------------------------------------------- hang outside the lock


def _in_thread(action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def test_a_hung_command_does_not_block_the_host(
    lab_fleet: Fleet, lab_winrm_run: Callable[..., object]
) -> None:
    lab_fleet.set_fault("mail003", "hang=20")
    try:
        worker = _in_thread(lambda: lab_winrm_run(lab_fleet, "mail003", "hostname"))
        deadline = time.monotonic() + 5
        while lab_fleet.state("mail003")["faults"]["hang_seconds"] and (  # type: ignore[index]
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(0.1)  # the hung command is now waiting
        started = time.monotonic()
        lab_fleet.state("mail003")
        console = lab_fleet.hosts["mail003"].console("hostname")
        other = lab_winrm_run(lab_fleet, "mail003", "whoami")
        assert time.monotonic() - started < 3
        assert console.stdout == b"mail003\r\n"
        assert other.std_out == b"mail003\\labadmin\r\n"
        assert worker.is_alive()  # still hung
    finally:
        lab_fleet.set_fault("mail003", "clear")
    worker.join(10)
    assert not worker.is_alive()


# ---------------------------------------------------------------- inventory


def test_workstations_are_winrm_hosts_and_mailsite_alternates(lab_fleet: Fleet) -> None:
    inventory = yaml.safe_load(lab_fleet.inventory_path.read_text(encoding="utf-8"))
    children = inventory["all"]["children"]
    connection = {
        name: vars_["ansible_connection"]
        for group in children.values()
        for name, vars_ in group["hosts"].items()
    }
    assert connection == {
        "mail001": "winrm",
        "mail002": "ssh",
        "mail003": "winrm",
        "ws001": "winrm",
    }
    ws = children["workstations"]["hosts"]["ws001"]
    assert ws["ansible_port"] == lab_fleet.ports["ws001"]["winrm"]
