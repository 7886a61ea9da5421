"""Rollback undoes only what the run did and what still stands; it never guesses."""

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
    with Fleet.start(tmp_path / "lab", hosts=2, workstations=0, mailboxes=10, seed=5) as lab:
        yield lab


def applied_run(cli: Cli, fleet: Fleet, tmp_path: Path) -> tuple[str, dict[str, object]]:
    plan_file = tmp_path / "plan.json"
    assert (
        cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-o", str(plan_file)).returncode == 0
    )
    change = json.loads(plan_file.read_text())["resource_changes"][0]
    assert cli("apply", str(plan_file)).returncode == 0
    return cli.latest_run(), change


def test_a_value_moved_since_the_run_is_left_alone_and_reported(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    run_id, change = applied_run(cli, fleet, tmp_path)
    host, mailbox = change["host"], change["data"]["mailbox"]
    assert fleet.hosts[host].console(f'msbox -set "{mailbox}" ReplyOnce 7').rc == 0

    undone = cli("rollback", run_id, "-v")

    assert undone.returncode == 2, undone.stdout + undone.stderr
    assert "changed since the run: it is now 7, the run wrote 1; left alone" in undone.stdout
    domain = mailbox.split("@")[1]
    assert states(fleet)[host]["domains"][domain]["MailboxTemplate"]["ReplyOnce"] == 7


def test_a_change_already_undone_by_hand_is_not_written_again(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    run_id, change = applied_run(cli, fleet, tmp_path)
    host, mailbox = change["host"], change["data"]["mailbox"]
    assert fleet.hosts[host].console(f'msbox -clear "{mailbox}" ReplyOnce').rc == 0

    undone = cli("rollback", run_id, "-v")

    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "already as before (read from the host)" in undone.stdout


def test_a_limit_that_matches_nothing_is_exit_5(fleet: Fleet, cli: Cli, tmp_path: Path) -> None:
    run_id, _ = applied_run(cli, fleet, tmp_path)
    done = cli("rollback", run_id, "-l", "mial001")
    assert done.returncode == 5
    assert "--limit 'mial001' matches none of the hosts" in done.stderr
    planned = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-l", "mial001")
    assert planned.returncode == 5
    assert "--limit 'mial001' leaves no hosts to target" in planned.stderr


def test_rollback_can_use_another_inventory(fleet: Fleet, cli: Cli, tmp_path: Path) -> None:
    copy = tmp_path / "moved-inventory.yml"
    copy.write_text(fleet.inventory_path.read_text())
    run_id, _ = applied_run(cli, fleet, tmp_path)
    fleet.inventory_path.rename(tmp_path / "gone.yml")
    assert cli("rollback", run_id).returncode == 5  # the run's inventory is gone
    undone = cli("rollback", run_id, "-i", str(copy))
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "reverted" in undone.stdout


def test_rolling_back_an_older_run_leaves_what_a_later_run_changed(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    first, change = applied_run(cli, fleet, tmp_path)
    host, mailbox = change["host"], change["data"]["mailbox"]
    assert fleet.hosts[host].console(f'msbox -clear "{mailbox}" ReplyOnce').rc == 0
    second, _ = applied_run(cli, fleet, tmp_path)  # the same change made again

    again = cli("rollback", first, "-v")

    assert "was changed again by the later run " + second in again.stdout
    domain = change["data"]["mailbox"].split("@")[1]
    assert states(fleet)[change["host"]]["domains"][domain]["MailboxTemplate"]["ReplyOnce"] == 1
