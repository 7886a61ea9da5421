"""The engine end to end against lab fleets: plan, apply, converge, drift, crash, rollback."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli, states

pytestmark = pytest.mark.lab


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet.start(tmp_path / "lab", hosts=3, workstations=1, mailboxes=15, seed=3) as lab:
        yield lab


def test_plan_apply_replan_rollback_restores_every_host(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = str(fleet.inventory_path)
    before = states(fleet)
    plan_file = str(tmp_path / "plan.json")

    planned = cli("plan", PLAYBOOK, "-i", inventory, "-o", plan_file, "--detailed-exitcode")
    assert planned.returncode == 8, planned.stderr
    assert "MailboxTemplate@" in planned.stdout and "(not set) -> 1" in planned.stdout
    assert states(fleet) == before  # planning never writes

    applied = cli("apply", plan_file)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "changed" in applied.stdout
    assert states(fleet) != before

    again = cli("plan", PLAYBOOK, "-i", inventory, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    assert "Plan: nothing to do." in again.stdout

    run_id = cli.latest_run()
    shown = cli("runs", "show", run_id)
    assert shown.returncode == 0 and "[applied]" in shown.stdout

    applied_state = states(fleet)
    checked = cli("rollback", run_id, "--check", "-v")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "would revert" in checked.stdout
    assert states(fleet) == applied_state
    assert len(list(cli.runs.glob("*/run.json"))) == 1  # a check is not a run

    undone = cli("rollback", run_id)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "reverted" in undone.stdout
    assert states(fleet) == before

    twice = cli("rollback", run_id)
    assert twice.returncode == 0
    assert "Nothing to roll back" in twice.stdout
    assert states(fleet) == before


def test_a_host_changed_out_of_band_is_stale_and_untouched(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert (
        cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-o", str(plan_file)).returncode == 0
    )
    doc = json.loads(plan_file.read_text())
    changed_hosts = sorted({c["host"] for c in doc["resource_changes"]})
    assert len(changed_hosts) >= 2, "the seeded fleet should need changes on several hosts"
    drifted = changed_hosts[0]
    mailbox = doc["resource_changes"][0]["data"]["mailbox"]
    console = fleet.hosts[drifted].console(f'msbox -set "{mailbox}" ReplyOnce 0')
    assert console.rc == 0, console
    drifted_state = states(fleet)[drifted]

    applied = cli("apply", str(plan_file))

    assert applied.returncode == 6, applied.stdout + applied.stderr
    assert f"{drifted}" in applied.stdout and "stale" in applied.stdout
    assert "was (not set) when planned, now 0" in applied.stdout
    assert states(fleet)[drifted] == drifted_state  # nothing applied there
    for other in changed_hosts[1:]:
        again = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-l", other)
        assert "Plan: nothing to do." in again.stdout, again.stdout


@pytest.mark.slow
def test_sigkill_during_apply_then_rollback_restores_everything(tmp_path: Path, cli: Cli) -> None:
    with Fleet.start(
        tmp_path / "lab", hosts=2, workstations=0, mailboxes=40, seed=5, latency_ms=60
    ) as fleet:
        before = states(fleet)
        plan_file = str(tmp_path / "plan.json")
        assert (
            cli(
                "plan",
                PLAYBOOK,
                "-i",
                str(fleet.inventory_path),
                "-o",
                plan_file,
                "-e",
                "fix_reply_once_overrides=true",
            ).returncode
            == 0
        )
        assert len(json.loads(Path(plan_file).read_text())["resource_changes"]) >= 4

        proc = cli.popen("apply", plan_file, "-f", "1")
        journal = _wait_for_in_flight_change(cli, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        _wait_until_quiet(fleet)  # the write in flight may still land after the client died

        run_id = journal.parent.name
        shown = cli("runs", "show", run_id)
        assert shown.returncode == 0, shown.stderr
        assert "IN FLIGHT" in shown.stdout

        undone = cli("rollback", run_id)
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert states(fleet) == before


def _wait_until_quiet(fleet: Fleet) -> None:
    """Wait until no host has run a command for a second: the crash is over."""
    last: dict[str, object] = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 1.0:
        now = {name: fleet.state(name)["counters"] for name in fleet.hosts}
        if now != last:
            last, quiet_since = now, time.monotonic()
        time.sleep(0.05)


def _wait_for_in_flight_change(cli: Cli, proc: object) -> Path:
    """Poll the journal until a change has its intent but not yet its outcome (after one done)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for journal in cli.runs.glob("*/journal.jsonl") if cli.runs.exists() else []:
            lines = [json.loads(x) for x in journal.read_text().splitlines() if x.endswith("}")]
            outcomes = sum(1 for r in lines if r["phase"] == "outcome")
            if lines and lines[-1]["phase"] == "intent" and outcomes >= 1:
                return journal
        time.sleep(0.005)
    raise AssertionError("apply never had a change in flight")


def test_bad_plan_files_exit_5_with_a_location(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "remediate-plan",\n  "format_version": 1,,\n}')
    done = cli("apply", str(broken))
    assert done.returncode == 5
    assert done.stderr.startswith(f"{broken}:2:")
    assert len(done.stderr.strip().splitlines()) == 1

    alien = tmp_path / "alien.json"
    alien.write_text(json.dumps({"format": "remediate-plan", "format_version": 99}))
    done = cli("apply", str(alien))
    assert done.returncode == 5 and "version 99 is not supported" in done.stderr

    missing = cli("apply", str(tmp_path / "nope.json"))
    assert missing.returncode == 5 and "cannot read plan" in missing.stderr


def test_rollback_of_an_unknown_run_is_exit_5(cli: Cli) -> None:
    done = cli("rollback", "20990101T000000Z-000000")
    assert done.returncode == 5
    assert "no run '20990101T000000Z-000000'" in done.stderr


def test_a_hosts_writes_cost_one_round_trip_whatever_their_number(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert (
        cli(
            "plan",
            PLAYBOOK,
            "-i",
            str(fleet.inventory_path),
            "-o",
            str(plan_file),
            "-e",
            "fix_reply_once_overrides=true",
        ).returncode
        == 0
    )
    doc = json.loads(plan_file.read_text())
    per_host = {h["host"]: h["round_trips"] for h in doc["hosts"]}
    changes = {h: sum(1 for c in doc["resource_changes"] if c["host"] == h) for h in per_host}
    busiest = max(changes, key=lambda h: changes[h])
    assert changes[busiest] >= 3
    gather = per_host[busiest]  # 1, or 2 when a mailbox name holds a quote

    def trips() -> int:
        return int(fleet.state(busiest)["counters"]["round_trips"])

    start = trips()
    assert cli("apply", str(plan_file)).returncode == 0
    # gather (drift check) + every write in one batch + gather (verify)
    assert trips() - start == gather + 1 + gather

    start = trips()
    assert cli("rollback", cli.latest_run()).returncode == 0
    # read where each change stands, the reverts in one batch, then verify
    assert trips() - start == gather + 1 + gather


def test_plans_and_runs_made_with_relative_paths_work_from_anywhere(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    work = fleet.inventory_path.parent.parent
    relative = str(fleet.inventory_path.relative_to(work))
    assert cli("plan", PLAYBOOK, "-i", relative, "-o", "plan.json", cwd=work).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    applied = cli("apply", str(work / "plan.json"), cwd=elsewhere)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    undone = cli("rollback", cli.latest_run(), cwd=Path("/"))
    assert undone.returncode == 0, undone.stdout + undone.stderr


def test_an_idn_domain_is_remediated_like_any_other(tmp_path: Path, cli: Cli) -> None:
    from remediate.lab.state import Domain, Mailbox

    with Fleet.start(tmp_path / "lab", hosts=1, workstations=0, mailboxes=5, seed=2) as fleet:
        lab = fleet.hosts["mail001"]
        with lab.lock:
            domain = Domain("bücher.example")
            domain.add(Mailbox("MailboxTemplate", {"EnableAutoReply": 0}))
            domain.add(Mailbox("jürgen", {}))
            lab.state.domains[domain.name] = domain
        planned = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path))
        assert "mailbox:MailboxTemplate@bücher.example/ReplyOnce" in planned.stdout
        assert cli("run", PLAYBOOK, "-i", str(fleet.inventory_path)).returncode == 0
        template = fleet.state("mail001")["domains"]["bücher.example"]["MailboxTemplate"]
        assert template["ReplyOnce"] == 1
