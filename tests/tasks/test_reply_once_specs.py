"""mailsite.reply_once specs: each tests/tasks/reply_once/*.yml gives facts in, changes out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.mailsite.facts import fact_key
from remediate.mailsite.msbox import Dialect
from remediate.model import Change, Finding, Host
from remediate.secrets import Secret
from remediate.tasks import default_registry
from remediate.tasks.reply_once import ReplyOnce

SPECS = sorted((Path(__file__).parent / "reply_once").glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(spec, dict) and "facts" in spec, path
    return spec


def with_secrets(value: Any) -> Any:
    """Passwords as MailboxFacts.process gives them: wrapped in Secret."""
    if isinstance(value, dict):
        return {
            k: Secret(str(v)) if str(k).lower() == "password" else with_secrets(v)
            for k, v in value.items()
        }
    return value


def passwords(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [str(v) for k, v in value.items() if str(k).lower() == "password"]
        return found + [p for v in value.values() for p in passwords(v)]
    return []


def run_spec(spec: dict[str, Any]) -> tuple[Host, ReplyOnce, list[Change], list[Finding], Any]:
    host = Host("mail01", spec.get("host_vars", {}))
    task = ReplyOnce.from_args(spec.get("args", {}))
    facts = {fact_key(Dialect.for_host(host)): with_secrets(spec["facts"])}
    results = list(task.plan(host, facts))
    changes = [r for r in results if isinstance(r, Change)]
    findings = [r for r in results if isinstance(r, Finding)]
    return host, task, changes, findings, task.relevant(host, facts)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec(path: Path) -> None:
    spec = load(path)
    _, _, changes, findings, relevant = run_spec(spec)

    expected_changes = spec.get("changes", [])
    assert [c.address for c in changes] == [e["address"] for e in expected_changes]
    for change, expected in zip(changes, expected_changes, strict=True):
        assert change.action == expected["action"], change.address
        assert change.before == expected["before"], change.address
        assert change.after == expected["after"], change.address
        assert change.task == "mailsite.reply_once" and change.reversible
        assert change.reason.strip()
        if "data" in expected:
            assert dict(change.data) == expected["data"]

    expected_findings = spec.get("findings", [])
    assert [f.address for f in findings] == [e["address"] for e in expected_findings]
    for finding, expected in zip(findings, expected_findings, strict=True):
        assert finding.task == "mailsite.reply_once"
        assert finding.severity == expected.get("severity", finding.severity)
        assert expected.get("message_contains", "") in finding.message
        if "evidence" in expected:
            assert list(finding.evidence) == expected["evidence"]

    if "relevant" in spec:
        assert relevant == spec["relevant"]


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_output_is_json_and_holds_no_password(path: Path) -> None:
    spec = load(path)
    _, _, changes, findings, relevant = run_spec(spec)
    shown = json.dumps(relevant) + repr(changes) + repr(findings)
    shown += json.dumps([[c.before, c.after, dict(c.data)] for c in changes])
    for password in passwords(spec["facts"]):
        assert password not in shown


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_relevant_view_moves_with_the_plan(path: Path) -> None:
    """Facts that change the plan change the relevant view (else a stale plan would pass)."""
    spec = load(path)
    _, _, changes, _, relevant = run_spec(spec)
    if not changes:
        return
    target = changes[0].data["mailbox"]
    name, _, domain = target.rpartition("@")
    moved = json.loads(json.dumps(spec["facts"]))
    moved["domains"][domain]["mailboxes"][name][changes[0].data["property"]] = "1"
    moved_spec = {**spec, "facts": moved}
    _, _, moved_changes, _, moved_relevant = run_spec(moved_spec)
    assert moved_relevant != relevant
    assert changes[0].address not in [c.address for c in moved_changes]


def test_registered_under_its_name() -> None:
    assert default_registry().get("mailsite.reply_once") is ReplyOnce


@pytest.mark.parametrize(
    ("args", "expected"),
    [({}, False), ({"fix_overrides": True}, True), ({"fix_overrides": "false"}, False)],
)
def test_arguments(args: dict[str, Any], expected: bool) -> None:
    assert ReplyOnce.from_args(args).fix_overrides is expected


@pytest.mark.parametrize(
    ("args", "key"),
    [({"fix_overrides": "maybe"}, "fix_overrides"), ({"fix_overide": True}, "fix_overide")],
)
def test_bad_arguments_name_the_key(args: dict[str, Any], key: str) -> None:
    from remediate.tasks.base import ArgumentError

    with pytest.raises(ArgumentError) as caught:
        ReplyOnce.from_args(args)
    assert caught.value.key == key
