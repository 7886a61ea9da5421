"""The gather loop and msbox writes run through the lab's cmd interpreter, in process.

A tiny session connection stands in for the transports: it feeds a batch to one
`cmd` reading stdin (one LabHost.execute), as every real Connection does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediate.engine.facts import gather_facts
from remediate.errors import HostFailed
from remediate.lab.host import LabHost, install_windows
from remediate.lab.state import HostState, Mailbox
from remediate.mailsite.facts import MailboxFacts, fact_key
from remediate.mailsite.msbox import Dialect, unsafe_name_reason
from remediate.model import Change, Host
from remediate.secrets import Secret
from remediate.tasks.reply_once import ReplyOnce
from remediate.transport.base import CommandResult
from remediate.transport.batch import SESSION_COMMAND, build_script, parse_output

HOSTILE = [
    'q"uote',
    " lead",
    "trail ",
    "日本語",
    "a&b",
    "%PATH%",
    ";semi",
    "x^y",
    "p(1)",
    "b/?",
    "t!x",
    "sp ace",
    "l<g>|",
]


class SessionConnection:
    """Runs a batch as one cmd session on a LabHost; each command between echo markers."""

    dialect = "cmd"

    def __init__(self, lab: LabHost) -> None:
        self.lab = lab
        self.host = lab.name
        self.round_trips = 0

    def run(self, command: str, *, safe_to_repeat: bool = False) -> CommandResult:
        return self.run_batch([command], safe_to_repeat=safe_to_repeat)[0]

    def run_batch(
        self, commands: Sequence[str], *, safe_to_repeat: bool = False
    ) -> list[CommandResult]:
        script = build_script("cmd", commands)  # the real batch protocol, in process
        self.round_trips += 1
        out = self.lab.execute(SESSION_COMMAND["cmd"], stdin=script.stdin)
        parsed = parse_output(script, out.stdout, out.stderr)
        assert parsed.complete, out
        return parsed.results

    def close(self) -> None:
        pass

    def __enter__(self) -> SessionConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def lab_host(names: Sequence[str] = ()) -> LabHost:
    state = HostState(hostname="mail001", kind="mailsite", ip="10.0.0.25")
    install_windows(state)
    domain = state.add_domain("example.com")
    domain.add(Mailbox("MailboxTemplate", {"EnableAutoReply": 1}))
    domain.add(Mailbox("sales", {"ReplyOnce": 0, "Password": "Sales-Secret-9"}))
    for name in names:
        domain.add(Mailbox(name, {"ReplyOnce": 0, "Password": f"Pw-{name}"}))
    state.add_domain("example.org").add(Mailbox("MailboxTemplate", {"ReplyOnce": 1}))
    return LabHost(state)


def gather(lab: LabHost, host: Host) -> tuple[dict[str, Any], SessionConnection]:
    conn = SessionConnection(lab)
    values = gather_facts(conn, host, ReplyOnce().facts(host))
    return values[fact_key(Dialect.for_host(host))], conn


def test_one_round_trip_reads_every_mailbox_with_effective_values() -> None:
    lab = lab_host()
    value, conn = gather(lab, Host("mail001"))
    assert conn.round_trips == 1
    example = value["domains"]["example.com"]
    assert example["mailboxes"]["MailboxTemplate"] == {"EnableAutoReply": "1"}
    assert example["mailboxes"]["sales"]["ReplyOnce"] == "0"
    assert example["mailboxes"]["sales"]["Password"] == Secret("Sales-Secret-9")
    assert value["domains"]["example.org"]["mailboxes"] == {"MailboxTemplate": {"ReplyOnce": "1"}}


def test_round_trips_do_not_grow_with_the_mailbox_count() -> None:
    lab = lab_host([f"user{i:03}" for i in range(60)])
    value, conn = gather(lab, Host("mail001"))
    assert conn.round_trips == 1
    assert len(value["domains"]["example.com"]["mailboxes"]) == 62


def test_hostile_names_are_read_as_themselves_in_two_round_trips() -> None:
    lab = lab_host(HOSTILE)
    value, conn = gather(lab, Host("mail001"))
    example = value["domains"]["example.com"]
    assert conn.round_trips == 2  # a quote in a name needs the refetch
    assert example["pending"] == [] and example["unread"] == {}
    for name in HOSTILE:
        assert example["mailboxes"][name]["Password"] == Secret(f"Pw-{name}"), name


def test_hostile_names_without_quote_or_semicolon_take_one_round_trip() -> None:
    lab = lab_host([n for n in HOSTILE if '"' not in n and not n.startswith(";")])
    _, conn = gather(lab, Host("mail001"))
    assert conn.round_trips == 1


def test_msbox_path_with_parentheses_from_inventory() -> None:
    lab = lab_host()
    path = "C:\\Program Files (x86)\\Rockliffe\\MailSite\\msbox.exe"
    lab.state.fs.write(path, b"MZ")
    value, _ = gather(lab, Host("mail001", {"mailsite_msbox": path}))
    assert value["msbox"] == path
    assert value["domains"]["example.com"]["mailboxes"]["sales"]["ReplyOnce"] == "0"


def test_wrong_msbox_path_fails_the_host_with_cmds_exit_code() -> None:
    lab = lab_host()
    with pytest.raises(HostFailed, match="msbox -domains failed .exit 9009"):
        gather(lab, Host("mail001", {"mailsite_msbox": "C:\\nowhere\\msbox.exe"}))


def plan_and_apply(lab: LabHost, task: ReplyOnce) -> list[Change]:
    host = Host("mail001")
    value, conn = gather(lab, host)
    changes = [c for c in task.plan(host, {fact_key(Dialect()): value}) if isinstance(c, Change)]
    for change in changes:
        task.apply(conn, host, change)
    return changes


@pytest.mark.parametrize("name", ["sales", *HOSTILE])
def test_apply_then_revert_restores_the_host_exactly(name: str) -> None:
    lab = lab_host(HOSTILE)
    before = lab.state.to_json()
    task = ReplyOnce(fix_overrides=True)
    changes = plan_and_apply(lab, task)
    domain = lab.state.domain("example.com")
    assert domain is not None
    assert domain.template.properties["ReplyOnce"] == 1
    mailbox = domain.find(name)
    assert mailbox is not None and mailbox.properties["ReplyOnce"] == 1
    assert plan_and_apply(lab, task) == []  # second run: nothing to do
    conn = SessionConnection(lab)
    for change in reversed(changes):
        task.revert(conn, Host("mail001"), change)
        task.revert(conn, Host("mail001"), change)  # ensure-before is idempotent
    assert lab.state.to_json() == before
    assert "ReplyOnce" not in domain.template.properties  # cleared, not set to 0


def test_revert_without_a_completed_apply_is_harmless() -> None:
    lab = lab_host()
    before = lab.state.to_json()
    host = Host("mail001")
    value, conn = gather(lab, host)
    task = ReplyOnce()
    changes = [c for c in task.plan(host, {fact_key(Dialect()): value}) if isinstance(c, Change)]
    task.revert(conn, host, changes[0])
    assert lab.state.to_json() == before


def test_a_failed_write_is_host_failed_with_msboxs_message() -> None:
    lab = lab_host()
    host = Host("mail001")
    change = Change(
        address="mail001/mailbox:ghost@example.com/ReplyOnce",
        action="create",
        before=None,
        after=1,
        reason="test",
        data={"mailbox": "ghost@example.com", "property": "ReplyOnce", "before": None, "after": 1},
    )
    with pytest.raises(HostFailed, match="Mailbox not found"):
        ReplyOnce().apply(SessionConnection(lab), host, change)


def test_a_password_refused_by_policy_never_shows_in_the_error() -> None:
    from remediate.mailsite.msbox import set_property

    lab = lab_host()
    lab.state.domains["example.com"].template.properties["MinPasswordLength"] = 20
    with pytest.raises(HostFailed) as caught:
        set_property(
            SessionConnection(lab),
            Host("mail001"),
            Dialect(),
            "sales@example.com",
            "Password",
            Secret("short-Pw1"),
        )
    assert "1325" in str(caught.value) and "short-Pw1" not in str(caught.value)


def test_fact_key_is_shared_per_msbox_path() -> None:
    host = Host("mail001")
    assert MailboxFacts(Dialect.for_host(host)).key == fact_key(Dialect())
    other = Host("mail002", {"mailsite_msbox": "D:\\MailSite\\msbox.exe"})
    assert MailboxFacts(Dialect.for_host(other)).key != fact_key(Dialect())


NAME_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(NAME_CHARS, min_size=1, max_size=12), max_size=6, unique_by=str.lower))
def test_any_name_is_read_as_itself_or_refused_never_misread(names: list[str]) -> None:
    names = [n for n in names if n.lower() not in ("sales", "mailboxtemplate") and "@" not in n]
    lab = lab_host(names)
    value, conn = gather(lab, Host("mail001"))
    entry = value["domains"]["example.com"]
    assert conn.round_trips <= 2
    for name in names:
        if unsafe_name_reason(name):
            assert name in entry["skipped"]
            continue
        assert entry["mailboxes"][name]["Password"] == Secret(f"Pw-{name}"), name
    assert entry["pending"] == [] and entry["unread"] == {}
