"""Saved plans go stale only when what they depend on moves, and say what moved; a host past
its deadline is abandoned before it writes anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli, states

pytestmark = pytest.mark.lab


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet.start(tmp_path / "lab", hosts=3, workstations=0, mailboxes=20, seed=5) as lab:
        yield lab


def a_plain_mailbox(fleet: Fleet, host: str) -> str:
    """A mailbox of the host that sets no ReplyOnce of its own."""
    for domain, boxes in fleet.state(host)["domains"].items():
        for name, props in boxes.items():
            if name != "MailboxTemplate" and "ReplyOnce" not in props and name.isalnum():
                return f"{name}@{domain}"
    raise AssertionError("no plain mailbox")


def test_a_user_switching_auto_reply_on_does_not_make_the_plan_stale(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert (
        cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-o", str(plan_file)).returncode == 0
    )
    host = json.loads(plan_file.read_text())["resource_changes"][0]["host"]
    mailbox = a_plain_mailbox(fleet, host)
    assert fleet.hosts[host].console(f"msbox -set {mailbox} EnableAutoReply 1").rc == 0

    applied = cli("apply", str(plan_file))

    assert applied.returncode == 0, applied.stdout


def test_a_stale_host_says_what_moved_even_when_no_change_differs(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert (
        cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-o", str(plan_file)).returncode == 0
    )
    doc = json.loads(plan_file.read_text())
    host = doc["resource_changes"][0]["host"]
    done = [
        d
        for d, boxes in fleet.state(host)["domains"].items()
        if boxes["MailboxTemplate"].get("ReplyOnce") == 1
    ]
    assert done, "the seeded host should have a template that already replies once"
    assert fleet.hosts[host].console(f"msbox -set MailboxTemplate@{done[0]} ReplyOnce 2").rc == 0

    applied = cli("apply", str(plan_file))

    assert applied.returncode == 6, applied.stdout
    assert f"domains.{done[0]}.template: 1 -> 2" in applied.stdout


@pytest.mark.slow
def test_a_host_past_its_deadline_writes_nothing_later(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    playbook = tmp_path / "one-by-one.yml"
    playbook.write_text("- hosts: mailsite\n  serial: 1\n  tasks:\n    - mailsite.reply_once: {}\n")
    planned = cli("plan", str(playbook), "-i", str(fleet.inventory_path), "--format", "json")
    assert '"host": "mail001"' in planned.stdout.split('"resource_changes"')[1]
    before = states(fleet)
    # mail001 hangs past the deadline; the run goes on long enough for it to wake up.
    fleet.set_fault("mail001", "hang=3")
    fleet.set_fault("mail003", "hang=1.5")
    done = cli(
        "run",
        str(playbook),
        "-i",
        str(fleet.inventory_path),
        "--host-deadline",
        "2",
        "--format",
        "json",
    )
    fleet.set_fault("mail001", "clear")
    result = json.loads(done.stdout)
    hosts = {h["host"]: h for h in result["hosts"]}
    assert hosts["mail001"]["status"] == "failed"
    assert "deadline" in hosts["mail001"]["message"]
    assert states(fleet)["mail001"] == before["mail001"]
    journal = (cli.runs / result["run_id"] / "journal.jsonl").read_text()
    assert '"host":"mail001"' not in journal
