"""200 MailSite servers (+50 workstations) in one lab process answer pywinrm and paramiko."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest
import winrm
import yaml

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CLIENT_THREADS = 128


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remediate", "lab", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _winrm(name: str, hostvars: dict[str, object]) -> bytes:
    session = winrm.Session(
        f"https://127.0.0.1:{hostvars['lab_winrm_port']}/wsman",
        auth=(str(hostvars["ansible_user"]), str(hostvars["ansible_password"])),
        transport="ssl",
        ca_trust_path=str(hostvars["ansible_winrm_ca_trust_path"]),
        proxy=None,
    )
    response = session.run_cmd("hostname")
    assert response.status_code == 0, name
    return bytes(response.std_out)


def _ssh(name: str, hostvars: dict[str, object]) -> bytes:
    client = paramiko.SSHClient()
    client.load_host_keys(str(hostvars["remediate_known_hosts"]))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            "127.0.0.1",
            port=int(str(hostvars["lab_ssh_port"])),
            username=str(hostvars["ansible_user"]),
            password=str(hostvars["ansible_password"]),
            look_for_keys=False,
            allow_agent=False,
            timeout=60,
            banner_timeout=60,
            auth_timeout=60,
        )
        _, out, _ = client.exec_command("hostname", timeout=60)
        data = out.read()
        assert out.channel.recv_exit_status() == 0, name
        return data
    finally:
        client.close()


def _threads(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")), 0
    )


class _ThreadSampler(threading.Thread):
    """Records the lab process's peak thread count while the clients run (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, _threads(pid), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak = max(self.peak, _threads(self.pid))


def test_200_hosts_answer_winrm_and_ssh_concurrently(tmp_path: Path) -> None:
    started = time.monotonic()
    up = _lab("up", "--dir", str(tmp_path), "--hosts", "200", "--transport", "both", "--detach")
    up_seconds = time.monotonic() - started
    assert up.returncode == 0, up.stderr
    try:
        inventory = yaml.safe_load((tmp_path / "inventory.yml").read_text())["all"]["children"]
        hosts = {**inventory["mailsite"]["hosts"], **inventory["workstations"]["hosts"]}
        assert len(inventory["mailsite"]["hosts"]) == 200
        assert len(inventory["workstations"]["hosts"]) == 50
        sampler = _ThreadSampler(json.loads((tmp_path / "control.json").read_text())["pid"])
        sampler.start()
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            winrm_jobs = {n: pool.submit(_winrm, n, v) for n, v in hosts.items()}
            ssh_jobs = {n: pool.submit(_ssh, n, v) for n, v in hosts.items()}
            answers = {n: (winrm_jobs[n].result(), ssh_jobs[n].result()) for n in hosts}
        run_seconds = time.monotonic() - started
        sampler.done.set()
        assert all(answer == (f"{n}\r\n".encode(),) * 2 for n, answer in answers.items())
        counters = json.loads(_lab("state", "--dir", str(tmp_path), "mail137").stdout)["counters"]
        assert counters["round_trips"] == 2  # one WinRM Command + one SSH exec
        assert counters["connections"] == 2  # one shell + one SSH handshake
        assert counters["requests"] == 6  # Create, Command, Receive, Signal, Delete + exec
        print(
            f"\nlab up (250 hosts, both): {up_seconds:.1f}s; 500 commands from "
            f"{CLIENT_THREADS} client threads: {run_seconds:.1f}s; "
            f"lab process peak threads: {sampler.peak}"
        )
    finally:
        assert _lab("down", "--dir", str(tmp_path)).returncode == 0
