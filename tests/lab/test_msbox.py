"""msbox on a lab host, per the MAILSITE.md dialect table: output, exit codes, stored state."""

from __future__ import annotations

import pytest

from remediate.lab.host import ExecResult, LabHost, install_windows
from remediate.lab.msbox import MSBOX_PATH, PASSWORD_POLICY_ERROR
from remediate.lab.state import HostState, Mailbox, Value

MSBOX = f'"{MSBOX_PATH}"'


@pytest.fixture
def host() -> LabHost:
    state = HostState("mail001", "mailsite", "10.0.1.1")
    install_windows(state)
    com = state.add_domain("example.com")
    com.template.properties.update(ReplyOnce=1, MinPasswordLength=8)
    com.add(Mailbox("sales", {"Password": "hunter2hunter2", "NoReplyTo": ("a@x", "b@y")}))
    com.add(Mailbox("info", {"LastLogin": "2026-01-02T03:04:05Z"}))
    org = state.add_domain("example.org")
    org.add(Mailbox("MailboxTemplate", {}))
    org.add(Mailbox("john smith", {}))
    return LabHost(state)


def msbox(host: LabHost, args: str) -> ExecResult:
    # The outer pair of quotes is what `cmd /c` strips from a line starting with a quote.
    return host.execute(f'"{MSBOX} {args}"')


def props(host: LabHost, address: str) -> dict[str, Value]:
    name, _, domain = address.rpartition("@")
    mailbox = host.state.domain(domain).find(name)  # type: ignore[union-attr]
    assert mailbox is not None
    return mailbox.properties


def test_domains(host: LabHost) -> None:
    result = msbox(host, "-domains")
    assert (result.rc, result.stdout) == (0, b"example.com\r\nexample.org\r\n")


def test_list_includes_template(host: LabHost) -> None:
    result = msbox(host, "-list example.com")
    assert (result.rc, result.stdout) == (0, b"MailboxTemplate\r\nsales\r\ninfo\r\n")


def test_list_unknown_domain(host: LabHost) -> None:
    result = msbox(host, "-list nowhere.example")
    assert result.rc == 1 and result.stdout == b"Domain not found: nowhere.example\r\n"


def test_get_prints_explicit_properties_multi_sz_joined(host: LabHost) -> None:
    result = msbox(host, "-get sales@example.com")
    assert result.rc == 0
    assert result.stdout == b"NoReplyTo=a@x;b@y\r\nPassword=hunter2hunter2\r\n"


def test_get_template_and_read_only_last_login(host: LabHost) -> None:
    assert msbox(host, "-get MailboxTemplate@example.com").stdout == (
        b"MinPasswordLength=8\r\nReplyOnce=1\r\n"
    )
    assert msbox(host, "-get INFO@Example.COM").stdout == b"LastLogin=2026-01-02T03:04:05Z\r\n"


def test_get_unknown_mailbox(host: LabHost) -> None:
    for address in ("nobody@example.com", "sales@nowhere.example", "no-at-sign"):
        result = msbox(host, f"-get {address}")
        assert (result.rc, result.stdout) == (1, b"Mailbox not found\r\n")


def test_set_is_case_insensitive_and_stores_canonical_case(host: LabHost) -> None:
    result = msbox(host, "-set sales@example.com replyonce 0")
    assert (result.rc, result.stdout, result.stderr) == (0, b"", b"")
    assert props(host, "sales@example.com")["ReplyOnce"] == 0
    assert b"ReplyOnce=0\r\n" in msbox(host, "-get sales@example.com").stdout


def test_set_dword_rejects_non_numbers(host: LabHost) -> None:
    result = msbox(host, "-set sales@example.com ReplyOnce yes")
    assert result.rc == 1
    assert result.stdout == b"Invalid value for ReplyOnce (REG_DWORD): a number is required\r\n"
    assert "ReplyOnce" not in props(host, "sales@example.com")


def test_set_multi_sz_splits_on_semicolons(host: LabHost) -> None:
    assert msbox(host, '-set sales@example.com NoReplyTo "x@a;y@b;z@c"').rc == 0
    assert props(host, "sales@example.com")["NoReplyTo"] == ("x@a", "y@b", "z@c")


def test_password_under_policy_is_1325(host: LabHost) -> None:
    result = msbox(host, "-set sales@example.com Password short")
    assert result.rc == 1325
    assert result.stdout.decode() == PASSWORD_POLICY_ERROR + "\r\n"
    assert PASSWORD_POLICY_ERROR.startswith("Unable to update the password. The value provided")
    assert props(host, "sales@example.com")["Password"] == "hunter2hunter2"


def test_password_meeting_policy_is_stored(host: LabHost) -> None:
    assert msbox(host, "-set sales@example.com Password Long-Enough-1").rc == 0
    assert props(host, "sales@example.com")["Password"] == "Long-Enough-1"


def test_policy_comes_from_the_template_of_the_domain(host: LabHost) -> None:
    # example.org has no MinPasswordLength: even an empty password is accepted.
    assert msbox(host, '-set "john smith@example.org" Password ""').rc == 0
    assert props(host, "john smith@example.org")["Password"] == ""
    assert msbox(host, "-set MailboxTemplate@example.org MinPasswordLength 8").rc == 0
    assert msbox(host, '-set "john smith@example.org" Password abc').rc == 1325


def test_read_only_and_unknown_properties(host: LabHost) -> None:
    for prop in ("LastLogin", "MailboxName", "MailboxDomain"):
        result = msbox(host, f"-set info@example.com {prop} x")
        assert result.rc == 1 and b"read-only" in result.stdout
    unknown = msbox(host, "-set info@example.com Colour blue")
    assert unknown.rc == 1 and unknown.stdout == b"Unknown property: Colour\r\n"
    assert props(host, "info@example.com") == {"LastLogin": "2026-01-02T03:04:05Z"}


def test_set_unknown_mailbox(host: LabHost) -> None:
    result = msbox(host, "-set ghost@example.com ReplyOnce 1")
    assert (result.rc, result.stdout) == (1, b"Mailbox not found\r\n")


def test_clear_reverts_to_inheritance(host: LabHost) -> None:
    msbox(host, "-set sales@example.com ReplyOnce 0")
    assert msbox(host, "-clear sales@example.com REPLYONCE").rc == 0
    assert "ReplyOnce" not in props(host, "sales@example.com")
    # Clearing what is not set is fine too.
    assert msbox(host, "-clear sales@example.com ReplyOnce").rc == 0
    assert msbox(host, "-clear ghost@example.com ReplyOnce").rc == 1


def test_usage_errors(host: LabHost) -> None:
    for args in ("", "-frob", "-get", "-set sales@example.com ReplyOnce", "-list a b"):
        result = msbox(host, args)
        assert result.rc == 1 and result.stdout.startswith(b"Usage: msbox")


def test_hostile_name_round_trip_through_quoting(host: LabHost) -> None:
    result = msbox(host, '-set "john smith@example.org" FullName "J ^& S"')
    assert result.rc == 0
    assert props(host, "john smith@example.org")["FullName"] == "J ^& S"


def test_bare_msbox_resolves_on_path_only_on_mailsite_hosts(host: LabHost) -> None:
    assert host.execute("msbox -domains").rc == 0
    ws_state = HostState("ws001", "workstation", "10.0.100.1")
    install_windows(ws_state)
    workstation = LabHost(ws_state)
    assert workstation.execute("msbox -domains").rc == 9009
    assert workstation.execute(f"{MSBOX} -domains").rc == 9009
