"""The MailSite driver against lab servers over WinRM and SSH: facts, round trips, apply, revert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.engine.facts import gather_facts
from remediate.lab.fleet import Fleet
from remediate.lab.host import LabHost
from remediate.lab.state import Mailbox, format_value
from remediate.mailsite.facts import fact_key
from remediate.mailsite.msbox import Dialect
from remediate.model import Change, Finding, Host
from remediate.secrets import Secret
from remediate.tasks.reply_once import ReplyOnce
from remediate.transport import connect

pytestmark = pytest.mark.lab
TRANSPORTS = ("winrm", "ssh")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet.start(tmp_path / "lab", hosts=2, workstations=0, mailboxes=30, seed=1) as lab:
        yield lab


def host_via(fleet: Fleet, name: str, transport: str) -> Host:
    """The inventory host, pointed at the lab's WinRM or SSH server (both listen)."""
    inventory = yaml.safe_load(fleet.inventory_path.read_text(encoding="utf-8"))
    variables = dict(inventory["all"]["children"]["mailsite"]["hosts"][name])
    variables["ansible_connection"] = transport
    variables["ansible_port"] = variables[f"lab_{transport}_port"]
    if transport == "winrm":
        variables.update(ansible_winrm_scheme="https", ansible_winrm_transport="basic")
    return Host(name, variables)


def gather(host: Host) -> tuple[dict[str, Any], int]:
    with connect(host.connection) as conn:
        values = gather_facts(conn, host, ReplyOnce().facts(host))
        return values[fact_key(Dialect.for_host(host))], conn.round_trips


def lab_round_trips(lab: LabHost) -> int:
    with lab.lock:
        return lab.counters.get("round_trips", 0)


def plan(host: Host, task: ReplyOnce) -> tuple[list[Change], list[Finding], Any]:
    value, _ = gather(host)
    facts = {fact_key(Dialect.for_host(host)): value}
    results = list(task.plan(host, facts))
    changes = [r for r in results if isinstance(r, Change)]
    findings = [r for r in results if isinstance(r, Finding)]
    return changes, findings, task.relevant(host, facts)


def quoted_names(lab: LabHost) -> list[str]:
    return [
        m.name for d in lab.state.domains.values() for m in d.mailboxes.values() if '"' in m.name
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_facts_hold_every_mailbox_as_the_host_has_it(fleet: Fleet, transport: str) -> None:
    lab = fleet.hosts["mail001"]
    assert quoted_names(lab), "mail001 should hold every hostile name, quotes included"
    with lab.lock:
        first = next(iter(lab.state.domains.values()))
        for name in (" lead", "trail ", ";semi", "tab\there"):
            first.add(Mailbox(name, {"ReplyOnce": 0, "Message": " spaced  out "}))
    start = lab_round_trips(lab)
    value, round_trips = gather(host_via(fleet, "mail001", transport))
    # A quote in a name costs exactly one more round trip, never one per mailbox.
    assert round_trips == 2 and lab_round_trips(lab) - start == 2
    with lab.lock:
        expected = {
            d.name: {m.name: dict(m.properties) for m in d.mailboxes.values()}
            for d in lab.state.domains.values()
        }
    assert set(value["domains"]) == set(expected)
    for domain, mailboxes in expected.items():
        entry = value["domains"][domain]
        refused = {n: "control character in name" for n in mailboxes if "\t" in n}
        assert (entry["pending"], entry["unread"], entry["skipped"]) == ([], {}, refused)
        for name in refused:
            del mailboxes[name]
        assert set(entry["mailboxes"]) == set(mailboxes)
        for name, properties in mailboxes.items():
            read = entry["mailboxes"][name]
            assert set(read) == set(properties), name
            for prop, raw in properties.items():
                want = format_value(raw)
                shown = read[prop]
                assert (shown.reveal() if isinstance(shown, Secret) else shown) == want
                assert isinstance(shown, Secret) == (prop == "Password")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_one_round_trip_when_no_name_needs_quoting(fleet: Fleet, transport: str) -> None:
    lab = fleet.hosts["mail001"]
    with lab.lock:
        for domain in lab.state.domains.values():
            for key in [k for k, m in domain.mailboxes.items() if '"' in m.name]:
                del domain.mailboxes[key]
    start = lab_round_trips(lab)
    value, round_trips = gather(host_via(fleet, "mail001", transport))
    assert round_trips == 1 and lab_round_trips(lab) - start == 1
    assert "a&b^c%d!e\"f'g(h)" not in json.dumps(sorted(value["domains"]))
    names = {n for entry in value["domains"].values() for n in entry["mailboxes"]}
    assert {"sales & marketing", "x%PATH%y", "100%", "bang!name!", "日本語"} <= names


def plant_quoted_overrides(lab: LabHost) -> set[str]:
    """Give every mailbox with a quote in its name ReplyOnce=0 and auto reply on."""
    planted = set()
    with lab.lock:
        for domain in lab.state.domains.values():
            for mailbox in domain.mailboxes.values():
                if '"' in mailbox.name:
                    mailbox.properties.update(ReplyOnce=0, EnableAutoReply=1)
                    planted.add(f"{mailbox.name}@{domain.name}")
    assert planted
    return planted


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_apply_fixes_what_the_lab_planted_and_revert_restores_it(
    fleet: Fleet, transport: str
) -> None:
    lab = fleet.hosts["mail001"]
    host = host_via(fleet, "mail001", transport)
    task = ReplyOnce(fix_overrides=True)
    truth: dict[str, Any] = lab.state.truth
    overridden = set(truth["reply_once_off"]) | plant_quoted_overrides(lab)
    before = lab.to_json()["domains"]

    changes, findings, relevant = plan(host, task)
    templates = [c for c in changes if "/mailbox:MailboxTemplate@" in c.address]
    overrides = [c for c in changes if c not in templates]
    assert sorted(c.data["mailbox"].rpartition("@")[2] for c in templates) == sorted(
        truth["templates_without_reply_once"]
    )
    assert {c.data["mailbox"] for c in overrides} == overridden
    assert {f.address for f in findings} == {f"mail001/mailbox:{a}" for a in overridden}

    with connect(host.connection) as conn:
        for change in changes:
            task.apply(conn, host, change)
    with lab.lock:
        for domain in lab.state.domains.values():
            assert domain.template.properties["ReplyOnce"] == 1
            for address in overridden:
                name, _, domain_name = address.rpartition("@")
                if domain_name == domain.name:
                    assert domain.mailboxes[name.lower()].properties["ReplyOnce"] == 1
    again, again_findings, again_relevant = plan(host, task)
    assert again == [] and again_findings == []
    assert again_relevant != relevant

    with connect(host.connection) as conn:
        for change in reversed(changes):
            task.revert(conn, host, change)
            task.revert(conn, host, change)
    assert lab.to_json()["domains"] == before


def test_nothing_secret_leaves_the_task(fleet: Fleet) -> None:
    lab = fleet.hosts["mail001"]
    host = host_via(fleet, "mail001", "winrm")
    changes, findings, relevant = plan(host, ReplyOnce(fix_overrides=True))
    shown = json.dumps(relevant) + repr(changes) + repr(findings)
    with lab.lock:
        mailboxes = [m for d in lab.state.domains.values() for m in d.mailboxes.values()]
    names = " ".join(m.name for m in mailboxes)
    # A password planted as (part of) a mailbox name shows as that name, which is no leak.
    passwords = {str(m.properties.get("Password", "")) for m in mailboxes} - {""}
    passwords = {p for p in passwords if len(p) >= 6 and p not in names}
    assert len(passwords) > 20
    assert not [p for p in passwords if p in shown]
