"""A saved plan is applied as reviewed: several plays, hand edits refused, secrets given again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.engine.planfile import seal
from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli, states

pytestmark = pytest.mark.lab

TWO_PLAYS = """\
- name: templates reply once
  hosts: mailsite
  tasks:
    - name: reply once
      mailsite.reply_once: {}
- name: and mail001's overrides are fixed too
  hosts: mail001
  tasks:
    - name: reply once, overrides too
      mailsite.reply_once:
        fix_overrides: true
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet.start(tmp_path / "lab", hosts=2, workstations=0, mailboxes=25, seed=5) as lab:
        yield lab


def plan_to(cli: Cli, fleet: Fleet, path: Path, *extra: str, playbook: str = PLAYBOOK) -> Any:
    done = cli("plan", playbook, "-i", str(fleet.inventory_path), "-o", str(path), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(path.read_text())


def test_a_plan_of_several_plays_applies_whole(fleet: Fleet, cli: Cli, tmp_path: Path) -> None:
    playbook = tmp_path / "two.yml"
    playbook.write_text(TWO_PLAYS)
    doc = plan_to(cli, fleet, tmp_path / "plan.json", playbook=str(playbook))
    overrides = [c for c in doc["resource_changes"] if c["play"] == 1 and c["before"] == 0]
    assert overrides, "mail001 should have an override for play 2 to fix"

    applied = cli("apply", str(tmp_path / "plan.json"))

    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = cli("plan", str(playbook), "-i", str(fleet.inventory_path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout


def test_an_edited_plan_file_is_refused_and_nothing_changes(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    doc = plan_to(cli, fleet, plan_file)
    target = doc["resource_changes"][0]
    host = target["host"]
    target["data"] = {
        "mailbox": f"postmaster@{target['data']['mailbox'].split('@')[1]}",
        "property": "FullName",
        "before": None,
        "after": "Tampered",
    }
    plan_file.write_text(json.dumps(doc))
    before = states(fleet)[host]

    edited = cli("apply", str(plan_file))
    assert edited.returncode == 5  # noticed on load, before any host is contacted
    assert "the plan was changed after it was made" in edited.stderr

    plan_file.write_text(json.dumps(seal(doc)))  # a deliberate edit, digest and all
    applied = cli("apply", str(plan_file))

    assert applied.returncode in (2, 3), applied.stdout  # failed (3: the play's threshold too)
    assert "does not match what mailsite.reply_once computes" in applied.stdout
    assert states(fleet)[host] == before
    assert "Tampered" not in json.dumps(states(fleet))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["plays"][0].update(serial=["abc"]), "serial[0]: expected a whole number"),
        (lambda d: d["plays"][0].update(max_fail_percentage=-5), "from 0 to 100"),
        (lambda d: d["hosts"][0].update(play=7), "play 7 is not among the plan's plays"),
        (lambda d: d["hosts"][0].update(status="weird"), "must be one of planned"),
        (lambda d: d["hosts"][0].update(round_trips="x"), "round_trips: expected a number"),
        (
            lambda d: d["resource_changes"][0].update(action="destroy"),
            "action: must be one of create, update, delete",
        ),
        (lambda d: d["resource_changes"].append(dict(d["resource_changes"][0])), "appears twice"),
        (
            lambda d: d["hosts"][0]["tasks"][0].update(args={"fix_overrides": "maybe"}),
            "fix_overrides must be true or false",
        ),
        (
            lambda d: d["hosts"][0]["tasks"][0].update(type="mailsite.nope"),
            "unknown task type 'mailsite.nope'",
        ),
    ],
)
def test_a_hand_edited_plan_is_exit_5_naming_the_file(
    fleet: Fleet, cli: Cli, tmp_path: Path, edit: Any, message: str
) -> None:
    plan_file = tmp_path / "plan.json"
    doc = plan_to(cli, fleet, plan_file)
    doc["hosts"] = [h for h in doc["hosts"] if h["status"] == "planned"]
    edit(doc)
    plan_file.write_text(json.dumps(seal(doc)))  # past the digest: the checks behind it
    before = states(fleet)

    done = cli("apply", str(plan_file))

    assert done.returncode == 5, done.stdout + done.stderr
    assert done.stderr.startswith(str(plan_file)), done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert states(fleet) == before
    assert not list(cli.runs.glob("*/run.json")) if cli.runs.exists() else True


def test_an_unwritable_report_path_is_exit_5_before_any_change(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    plan_to(cli, fleet, plan_file)
    before = states(fleet)
    for flag in ("--junit", "--events"):
        done = cli("apply", str(plan_file), flag, str(tmp_path / "missing" / "out"))
        assert done.returncode == 5, done.stderr
        assert f"{flag} " in done.stderr and "does not exist" in done.stderr
    done = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-o", str(tmp_path))
    assert done.returncode == 5 and "is a directory" in done.stderr
    assert states(fleet) == before


def test_connection_secrets_are_given_again_at_apply(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = yaml.safe_load(fleet.inventory_path.read_text())
    for variables in inventory["all"]["children"]["mailsite"]["hosts"].values():
        variables.pop("ansible_password")
    bare = tmp_path / "no-passwords.yml"
    bare.write_text(yaml.safe_dump(inventory))
    secret = f"ansible_password={fleet.password}"
    plan_file = tmp_path / "plan.json"
    done = cli("plan", PLAYBOOK, "-i", str(bare), "-e", secret, "-o", str(plan_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert fleet.password not in plan_file.read_text()

    assert f"remediate apply {plan_file} -e ansible_password=..." in done.stdout
    without = cli("apply", str(plan_file))
    assert without.returncode == 5, without.stdout + without.stderr
    assert "give them again: remediate apply PLAN -e ansible_password=..." in without.stderr

    applied = cli("apply", str(plan_file), "-e", secret)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    run_id = cli.latest_run()
    assert fleet.password not in (cli.runs / run_id / "run.json").read_text()
    undone = cli("rollback", run_id, "-e", secret)
    assert undone.returncode == 0, undone.stdout + undone.stderr
