"""Seeded fleets: deterministic, and every problem of MAILSITE.md visible through the host's cmd."""

from __future__ import annotations

import datetime
import json
import re
import time
from collections import Counter

import pytest

from remediate.lab.host import LabHost
from remediate.lab.msbox import MSBOX_DIR
from remediate.lab.scenarios import (
    EGRESS_RULE,
    ROLE_NAMES,
    build_fleet,
    complement,
    lab_password,
)


def dump(fleet: list[LabHost]) -> str:
    return json.dumps([h.to_json() for h in fleet], sort_keys=True, ensure_ascii=False)


@pytest.fixture(scope="module")
def fleet() -> list[LabHost]:
    return build_fleet(3, 3, 20, seed=7)


def session(host: LabHost, *commands: str) -> str:
    script = "\r\n".join(["@echo off", *commands, "exit"]) + "\r\n"
    return host.execute("cmd /q", script.encode()).stdout.decode()


def get(host: LabHost, address: str) -> dict[str, str]:
    out = host.console(f'""{MSBOX_DIR}\\msbox.exe" -get "{address}""').stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines())


def test_names_kinds_and_password() -> None:
    fleet = build_fleet(2, 2, 5, seed=1)
    assert [(h.name, h.kind) for h in fleet] == [
        ("mail001", "mailsite"),
        ("mail002", "mailsite"),
        ("ws001", "workstation"),
        ("ws002", "workstation"),
    ]
    assert lab_password(1) == lab_password(1) != lab_password(2)
    password = lab_password(1)
    assert len(password) >= 16 and re.search(r"[A-Z]", password) and re.search(r"\d", password)


def test_same_seed_same_json_different_seed_differs() -> None:
    assert dump(build_fleet(3, 2, 30, seed=5)) == dump(build_fleet(3, 2, 30, seed=5))
    assert dump(build_fleet(3, 2, 30, seed=5)) != dump(build_fleet(3, 2, 30, seed=6))


def test_domains_templates_and_mailbox_count(fleet: list[LabHost]) -> None:
    for host in fleet[:3]:
        domains = host.console("msbox -domains").stdout.decode().split("\r\n")[:-1]
        assert 2 <= len(domains) <= 3
        total = 0
        for domain in domains:
            names = host.console(f"msbox -list {domain}").stdout.decode().split("\r\n")[:-1]
            assert names[0] == "MailboxTemplate"
            total += len(names) - 1
        assert total == 20
    assert [d.name for d in fleet[0].state.domains.values()] == [
        "example.com",
        "example.org",
        "shop.example.net",
    ]


def test_every_problem_is_present(fleet: list[LabHost]) -> None:
    mail = fleet[0]
    truth = mail.state.truth
    weak = truth["weak_passwords"]
    assert isinstance(weak, dict)
    assert {"empty", "common", "name", "short"} <= set(weak.values())
    for address, reason in weak.items():
        password = get(mail, address)["Password"]
        if reason == "empty":
            assert password == ""
        if reason == "name":
            assert password == address.rpartition("@")[0]
        if reason == "short":
            assert len(password) < 8
    # Templates mixed: some with ReplyOnce, some without.
    with_reply_once = [
        d
        for d in mail.state.domains.values()
        if "ReplyOnce" in get(mail, f"MailboxTemplate@{d.name}")
    ]
    assert 0 < len(with_reply_once) < len(mail.state.domains)
    for address in truth["reply_once_off"]:  # type: ignore[attr-defined]
        got = get(mail, address)
        assert (got["ReplyOnce"], got["EnableAutoReply"]) == ("0", "1")
    assert truth["reply_once_explicit_on"]
    for address in truth["reply_once_explicit_on"]:  # type: ignore[attr-defined]
        assert get(mail, address)["ReplyOnce"] == "1"


def test_dormant_role_accounts_include_abuse_and_postmaster(fleet: list[LabHost]) -> None:
    mail = fleet[0]
    dormant = mail.state.truth["dormant_role_accounts"]
    assert isinstance(dormant, list)
    assert any(a.startswith("abuse@") for a in dormant)
    assert any(a.startswith("postmaster@") for a in dormant)
    now = datetime.datetime.strptime(str(mail.state.truth["now"]), "%Y-%m-%dT%H:%M:%SZ")
    cutoff = now - datetime.timedelta(days=90)
    for address in dormant:
        assert address.split("@")[0] in ROLE_NAMES
        last = get(mail, address).get("LastLogin")
        assert last is None or last < cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
    # A role account still in use is not dormant.
    roles = [
        f"{m.name}@{d.name}"
        for d in mail.state.domains.values()
        for m in d.mailboxes.values()
        if m.name in ROLE_NAMES
    ]
    assert set(roles) - set(dormant)


def test_hostile_names_survive_listing(fleet: list[LabHost]) -> None:
    mail = fleet[0]
    hostile = mail.state.truth["hostile_mailboxes"]
    assert isinstance(hostile, list)
    chars = set("".join(hostile))
    assert set(" &^%!\"'()") <= chars and any(ord(c) > 127 for c in chars)
    listed = set()
    for domain in mail.state.domains.values():
        out = mail.console(f"msbox -list {domain.name}").stdout.decode("utf-8")
        listed |= {f"{n}@{domain.name}" for n in out.split("\r\n") if n}
    assert set(hostile) <= listed


def test_logs_show_the_hijack(fleet: list[LabHost]) -> None:
    mail = fleet[0]
    incident = mail.state.truth["incident"]
    assert isinstance(incident, dict) and incident["hijacked"]
    now = datetime.datetime.strptime(str(mail.state.truth["now"]), "%Y-%m-%dT%H:%M:%SZ")
    day = f"{now - datetime.timedelta(days=1):%Y%m%d}"
    logs = session(mail, f'dir /b "{MSBOX_DIR}\\Logs"')
    for service in ("SMTP", "POP3", "IMAP"):
        assert f"{service}-{day}.log" in logs
    smtp = mail.console(f'type "{MSBOX_DIR}\\Logs\\SMTP-{day}.log"').stdout.decode()
    line = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d SMTP \d+ [\d.]+ [A-Z-]+( .*)?$")
    assert all(line.match(row) for row in smtp.split("\r\n") if row)
    account = incident["hijacked"]
    ips = {row.split()[4] for row in smtp.split("\r\n") if row.endswith(f"AUTH-OK {account}")}
    assert len(ips) >= 10
    queued = Counter(r.split()[3] for r in smtp.split("\r\n") if " QUEUED " in r)
    assert sum(queued.values()) > incident["spam_messages"] // 2
    fails = [r for r in smtp.split("\r\n") if f"AUTH-FAIL {incident['storm_target']}" in r]
    assert len(fails) >= 100
    spool = mail.console(f'dir /b "{MSBOX_DIR}\\Spool\\*.msg"').stdout.decode().split("\r\n")
    assert len(spool) > 500


def test_workstations_have_no_msbox_and_some_lack_the_egress_rule(fleet: list[LabHost]) -> None:
    workstations = [h for h in fleet if h.kind == "workstation"]
    assert all(h.console("msbox -domains").rc == 9009 for h in workstations)
    has_rule = {
        h.name: h.console(f'netsh advfirewall firewall show rule name="{EGRESS_RULE}"').rc == 0
        for h in workstations
    }
    assert has_rule == {h.name: h.state.truth["egress_block_rule"] for h in workstations}
    assert not all(has_rule.values()) and any(has_rule.values())


def test_complement_leaves_out_the_mail_servers() -> None:
    assert complement(["10.0.0.25"]) == (
        "0.0.0.0-10.0.0.24,10.0.0.26-255.255.255.255,::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    )


def test_build_is_fast_and_large_hosts_are_cheap() -> None:
    start = time.perf_counter()
    fleet = build_fleet(200, 50, 20, seed=3)
    assert time.perf_counter() - start < 2.0  # ~0.15 s measured
    assert len(fleet) == 250
    start = time.perf_counter()
    big = build_fleet(1, 0, 2000, seed=3)[0]
    assert time.perf_counter() - start < 1.0
    count = sum(len(d.mailboxes) - 1 for d in big.state.domains.values())
    assert count == 2000
    weak = big.state.truth["weak_passwords"]
    assert isinstance(weak, dict) and len(weak) > 30


def test_trace_message_id_leads_to_the_hijacked_account(fleet: list[LabHost]) -> None:
    mail = fleet[0]
    incident = mail.state.truth["incident"]
    assert isinstance(incident, dict)
    message_id, ip = incident["trace_message_id"], incident["trace_ip"]
    found = mail.console(
        f'for /f "delims=" %F in (\'dir /b "{MSBOX_DIR}\\Logs\\SMTP-*.log"\') do '
        f'@type "{MSBOX_DIR}\\Logs\\%F"'
    ).stdout.decode()
    queued = [r for r in found.split("\r\n") if r.endswith(f"QUEUED <{message_id}>")]
    assert len(queued) == 1
    session_id = queued[0].split()[3]
    same_session = [r for r in found.split("\r\n") if r.split()[3:4] == [session_id]]
    assert f"{ip} AUTH-OK {incident['hijacked']}" in "\r\n".join(same_session)
    spool = mail.state.fs.listdir(f"{MSBOX_DIR}\\Spool")
    assert (
        sum(
            f"From: <{incident['hijacked']}>".encode()
            in (mail.state.fs.read(f"{MSBOX_DIR}\\Spool\\{n}") or b"")
            for n in spool
        )
        > 400
    )


def test_fixed_now_pins_every_date() -> None:
    now = datetime.datetime(2026, 1, 15, tzinfo=datetime.timezone.utc)
    one = dump(build_fleet(2, 1, 25, seed=9, now=now))
    assert one == dump(build_fleet(2, 1, 25, seed=9, now=now))
    assert '"now": "2026-01-15T00:00:00Z"' in one
    assert "SMTP-20260114.log" in one and "SMTP-20260112.log" in one


def test_larger_fleets_mix_problems_across_hosts() -> None:
    fleet = build_fleet(12, 6, 40, seed=11)
    mail = [h for h in fleet if h.kind == "mailsite"]
    truths = [h.state.truth for h in mail]
    assert any(t["already_login_disabled"] for t in truths)
    assert any(not t["templates_without_reply_once"] for t in truths)
    assert any(t["templates_without_reply_once"] for t in truths)
    incidents = [t["incident"] for t in truths]
    assert any(i["hijacked"] for i in incidents) and any(not i["hijacked"] for i in incidents)  # type: ignore[index]
    for host in mail:
        rules = host.console("netsh advfirewall firewall show rule name=all").stdout.decode()
        assert "MailSite SMTP (TCP-In)" in rules
        for address in host.state.truth["already_login_disabled"]:  # type: ignore[attr-defined]
            assert get(host, address)["LoginDisabled"] == "1"


def test_reading_logs_does_not_change_the_state_dump() -> None:
    host = build_fleet(1, 0, 10, seed=4)[0]
    before = dump([host])
    logs = host.console(f'dir /b "{MSBOX_DIR}\\Logs"').stdout.decode().split()
    assert len(logs) == 9
    assert host.console(f'type "{MSBOX_DIR}\\Logs\\{logs[0]}"').stdout
    assert dump([host]) == before
    host.execute(f'echo x>"{MSBOX_DIR}\\Logs\\{logs[0]}"')
    assert dump([host]) != before
