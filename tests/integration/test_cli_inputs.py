"""Input mistakes around runs and the API get one clear line, never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import remediate
from remediate.errors import InputError
from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.start(
        tmp_path_factory.mktemp("lab"), hosts=2, workstations=0, mailboxes=5, seed=8
    ) as lab:
        yield lab


def test_a_runs_directory_that_is_a_file_is_exit_5(fleet: Fleet, cli: Cli, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    done = cli("run", PLAYBOOK, "-i", str(fleet.inventory_path), "--runs-dir", str(afile))
    assert done.returncode == 5
    assert f"cannot use the runs directory {afile}" in done.stderr


def test_a_damaged_run_json_is_listed_and_refused_clearly(fleet: Fleet, cli: Cli) -> None:
    assert cli("run", PLAYBOOK, "-i", str(fleet.inventory_path)).returncode == 0
    run_id = cli.latest_run()
    (cli.runs / run_id / "run.json").write_text("[]")
    listed = cli("runs")
    assert listed.returncode == 0 and f"{run_id}  DAMAGED" in listed.stdout
    for args in (("runs", "show", run_id), ("rollback", run_id)):
        done = cli(*args)
        assert done.returncode == 5 and "run.json is not a JSON object" in done.stderr


def test_a_host_past_the_plan_deadline_is_reported_not_waited_for(fleet: Fleet, cli: Cli) -> None:
    fleet.set_fault("mail001", "hang=20")
    try:
        done = cli(
            "plan",
            PLAYBOOK,
            "-i",
            str(fleet.inventory_path),
            "--host-deadline",
            "2",
            "--format",
            "json",
        )
    finally:
        fleet.set_fault("mail001", "clear")
    hosts = {h["host"]: h for h in json.loads(done.stdout)["hosts"]}
    assert hosts["mail001"]["status"] == "failed"
    assert "host deadline exceeded" in hosts["mail001"]["error"]
    assert hosts["mail002"]["status"] == "planned"


def test_the_api_takes_tags_as_the_cli_does_and_checks_its_arguments(tmp_path: Path) -> None:
    with Fleet.start(tmp_path / "lab", hosts=1, workstations=0, mailboxes=5, seed=3) as fleet:
        tagged = remediate.plan(PLAYBOOK, str(fleet.inventory_path), tags="reply_once")
        skipped = remediate.plan(PLAYBOOK, str(fleet.inventory_path), skip_tags="reply_once")
        checked = remediate.run(PLAYBOOK, str(fleet.inventory_path), check=True)
    assert tagged.changes and not skipped.changes
    assert checked.changed and not checked.failed
    with pytest.raises(InputError, match="limit must be a host pattern string"):
        remediate.plan(PLAYBOOK, str(fleet.inventory_path), limit=5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="forks must be a whole number"):
        remediate.plan(PLAYBOOK, str(fleet.inventory_path), forks="3")  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_misspelt_tag_is_exit_5_not_an_empty_plan(fleet: Fleet, cli: Cli, command: str) -> None:
    done = cli(command, PLAYBOOK, "-i", str(fleet.inventory_path), "-t", "reply_onec")
    assert done.returncode == 5
    assert "no play or task has the tag 'reply_onec'; did you mean 'reply_once'?" in done.stderr


@pytest.mark.parametrize(
    ("limit", "message"),
    [("", "--limit is empty"), (",", "--limit is empty"), ("nomatch", "leaves no hosts")],
)
def test_a_limit_that_selects_nothing_is_exit_5(
    fleet: Fleet, cli: Cli, limit: str, message: str
) -> None:
    for command in ("plan", "validate"):
        done = cli(command, PLAYBOOK, "-i", str(fleet.inventory_path), "-l", limit)
        assert done.returncode == 5, (command, done.stdout)
        assert message in done.stderr


def test_an_empty_limit_file_and_a_play_matching_nothing_are_exit_5(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    empty = tmp_path / "hosts.txt"
    empty.write_text("\n")
    done = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-l", f"@{empty}")
    assert done.returncode == 5 and "the file names no host" in done.stderr
    playbook = tmp_path / "nobody.yml"
    playbook.write_text("- hosts: mail9*\n  tasks:\n    - mailsite.reply_once: {}\n")
    done = cli("plan", str(playbook), "-i", str(fleet.inventory_path))
    assert done.returncode == 5
    assert done.stderr.startswith(f"{playbook}: no play matches any host")


def test_limits_made_of_separators_or_bad_patterns_are_the_limits_fault(
    fleet: Fleet, cli: Cli
) -> None:
    for limit in (":", "\t", ",:"):
        done = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-l", limit)
        assert done.returncode == 5 and "--limit is empty" in done.stderr
    done = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-l", "~(")
    assert done.returncode == 5 and "invalid host pattern '~('" in done.stderr
    assert not done.stderr.startswith(PLAYBOOK)  # not blamed on the playbook's hosts:


def test_an_output_path_ending_in_a_slash_is_refused(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    done = cli(
        "plan", PLAYBOOK, "-i", str(fleet.inventory_path), "--junit", str(tmp_path / "new") + "/"
    )
    assert done.returncode == 5 and "is a directory" in done.stderr


def test_extra_vars_with_number_keys_and_nested_secrets_make_sound_plans(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    canary = "Nested-Canary-Pw-4411"
    varfile = tmp_path / "vars.yml"
    varfile.write_text(f"creds:\n  password: {canary}\nports:\n  9: a\n  10: b\n")
    plan_file = tmp_path / "plan.json"
    done = cli(
        "plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-e", f"@{varfile}", "-o", str(plan_file)
    )
    assert done.returncode == 0, done.stderr
    assert canary not in plan_file.read_text()
    assert oct(plan_file.stat().st_mode & 0o777) == "0o600"
    again = cli("apply", str(plan_file))
    assert again.returncode == 5 and "-e creds=..." in again.stderr  # not "changed after"
    applied = cli("apply", str(plan_file), "-e", f"@{varfile}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
