"""diagnostic.ping end to end: playbook -> lab fleet over WinRM and SSH -> findings, no change."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.api import plan
from remediate.lab.fleet import Fleet


@pytest.mark.lab
def test_every_lab_host_answers(tmp_path: Path) -> None:
    book = tmp_path / "ping.yml"
    book.write_text(
        "- hosts: all\n  tasks:\n    - diagnostic.ping:\n"
        '    - diagnostic.ping: {data: "hi {{ inventory_hostname }}"}\n',
        encoding="utf-8",
    )
    fleet = Fleet.start(tmp_path / "lab", hosts=2, workstations=1, mailboxes=2, seed=3)
    try:
        result = plan(book, fleet.inventory_path)
        connections = {name: fleet.connection_of(name) for name in fleet.hosts}
    finally:
        fleet.stop()
    assert set(connections.values()) == {"winrm", "ssh"}  # both transports are exercised
    answers = {
        host_plan.host: [(f.severity, f.message) for f in host_plan.findings]
        for host_plan in result.hosts
    }
    assert answers == {
        name: [("info", "host answers 'pong'"), ("info", f"host answers 'hi {name}'")]
        for name in ("mail001", "mail002", "ws001")
    }
    assert all(host_plan.changes == () for host_plan in result.hosts)
    assert all(host_plan.round_trips == 1 for host_plan in result.hosts)
