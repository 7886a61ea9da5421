"""What a run leaves behind: JSON results, events, JUnit, and never a secret anywhere."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli

pytestmark = pytest.mark.lab
CANARY = "Canary-Vault-Pw-5e1f0c"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.start(
        tmp_path_factory.mktemp("lab"), hosts=2, workstations=1, mailboxes=25, seed=4
    ) as lab:
        yield lab


def mailbox_passwords(fleet: Fleet) -> set[str]:
    """The hosts' mailbox passwords, less those that are the mailbox's own name (weak ones
    the scenario planted: the name appearing in a plan is no leak)."""
    found, names = set(), set()
    for name in fleet.hosts:
        for mailboxes in dict(fleet.state(name).get("domains", {})).values():  # type: ignore[call-overload]
            for mailbox, props in mailboxes.items():
                names.add(mailbox)
                password = props.get("Password")
                if isinstance(password, str) and len(password) >= 12:  # common words match prose
                    found.add(password)
    return {p for p in found if not any(p in n for n in names)}


def test_no_secret_reaches_output_plans_journals_events_or_reports(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    secrets = {fleet.password, CANARY} | mailbox_passwords(fleet)
    assert len(secrets) > 10
    plan_file, events, junit = tmp_path / "plan.json", tmp_path / "ev.jsonl", tmp_path / "j.xml"
    inventory = str(fleet.inventory_path)
    outputs = [
        cli(
            "plan",
            PLAYBOOK,
            "-i",
            inventory,
            "-e",
            f"vault_password={CANARY}",
            "-o",
            str(plan_file),
            "-v",
        ),
        cli("plan", PLAYBOOK, "-i", inventory, "--format", "json"),
        cli(
            "apply",
            str(plan_file),
            "-e",
            f"vault_password={CANARY}",
            "--events",
            str(events),
            "--junit",
            str(junit),
            "-v",
        ),
    ]
    run_id = cli.latest_run()
    outputs += [
        cli("runs", "show", run_id),
        cli("runs", "show", run_id, "--format", "json"),
        cli("rollback", run_id, "--format", "json", "-e", f"vault_password={CANARY}"),
        cli("runs"),
    ]
    texts = [o.stdout + o.stderr for o in outputs]
    texts += [p.read_text() for p in cli.runs.rglob("*") if p.is_file()]
    texts += [plan_file.read_text(), events.read_text(), junit.read_text()]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    for text in texts:
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"secret leaked into output: {text[:200]}"
    run_json = json.loads((cli.runs / run_id / "run.json").read_text())
    for key in ("started", "finished", "user", "playbook_digest", "inventory_digest", "arguments"):
        assert run_json[key], key
    assert f"vault_password={CANARY}" not in " ".join(run_json["arguments"])


def test_json_results_events_and_junit_tell_the_same_story(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    events, junit = tmp_path / "events.jsonl", tmp_path / "junit.xml"
    done = cli(
        "run",
        PLAYBOOK,
        "-i",
        str(fleet.inventory_path),
        "-e",
        "fix_reply_once_overrides=true",
        "--format",
        "json",
        "--events",
        str(events),
        "--junit",
        str(junit),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["exit_code"] == 0 and result["kind"] == "apply"
    hosts = {h["host"]: h for h in result["hosts"]}
    assert set(hosts) == {"mail001", "mail002"}

    kinds = [json.loads(line) for line in events.read_text().splitlines()]
    finished = {e["host"]: e["status"] for e in kinds if e["kind"] == "host.finished"}
    assert finished == {h: v["status"] for h, v in hosts.items()}
    applied = [e for e in kinds if e["kind"] == "change.finished" and e["status"] == "applied"]
    assert len(applied) == sum(len(h["changes"]) for h in hosts.values())
    assert kinds[-1]["kind"] == "run.finished"

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "0"

    cli("rollback", result["run_id"])


def test_check_mode_changes_nothing_and_detailed_exit_code_says_pending(
    fleet: Fleet, cli: Cli
) -> None:
    before = {n: fleet.state(n)["domains"] for n in fleet.hosts if n.startswith("mail")}
    checked = cli("run", PLAYBOOK, "-i", str(fleet.inventory_path), "--check", "--diff")
    assert checked.returncode == 0
    assert "why:" in checked.stdout
    assert {n: fleet.state(n)["domains"] for n in before} == before
    assert not cli.runs.exists() or not list(cli.runs.glob("*/run.json"))
    pending = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "--detailed-exitcode", "-q")
    assert pending.returncode == 8, pending.stdout


def test_readme_python_example_runs(fleet: Fleet, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {"INVENTORY": str(fleet.inventory_path), "RUNS_DIR": str(tmp_path / "runs")}
    exec(compile(example, "README.md", "exec"), scope)  # noqa: S102 - our own README


def test_a_hostile_mailbox_name_cannot_drive_the_terminal(tmp_path: Path) -> None:
    from remediate.lab.state import Mailbox

    with Fleet.start(tmp_path / "lab", hosts=1, workstations=0, mailboxes=5, seed=6) as fleet:
        lab = fleet.hosts["mail001"]
        with lab.lock:
            domain = next(iter(lab.state.domains.values()))
            domain.add(
                Mailbox("evil\x1b[2J\x1b]0;owned\x07", {"ReplyOnce": 0, "EnableAutoReply": 1})
            )
        cli = Cli(tmp_path / "runs")
        done = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "-v")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "\x07" not in done.stdout + done.stderr
    assert "evil\\x1b[2J" in done.stdout
