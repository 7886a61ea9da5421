"""The msbox dialect: inventory overrides, output parsing, the gather loop's markers, the fact."""

from __future__ import annotations

import pytest

from remediate.errors import HostFailed, InputError
from remediate.mailsite.facts import MailboxFacts, parse_gather
from remediate.mailsite.mailboxes import Domain, Mailbox, domains_from_value
from remediate.mailsite.msbox import DEFAULT_MSBOX, Dialect, dword
from remediate.model import Host
from remediate.secrets import Secret
from remediate.transport.base import CommandResult

MK = "#rmtest#"


def test_defaults_follow_mailsite_md() -> None:
    dialect = Dialect.for_host(Host("mail01"))
    assert dialect.msbox == DEFAULT_MSBOX
    assert dialect.prop("password") == "Password"
    assert dialect.prop("last_login") == "LastLogin"
    assert dialect.prop("login_disabled") == "LoginDisabled"


def test_inventory_overrides_path_and_property_names() -> None:
    host = Host(
        "mail01",
        {
            "mailsite_msbox": r"D:\MailSite (x86)\bin\msbox.exe",
            "mailsite_prop_last_login": "LastLogon",
            "mailsite_prop_login_disabled": "DisableLogin",
            "mailsite_prop_password": "Secret",
        },
    )
    dialect = Dialect.for_host(host)
    assert dialect.msbox == r"D:\MailSite (x86)\bin\msbox.exe"
    assert (dialect.prop("last_login"), dialect.prop("login_disabled")) == (
        "LastLogon",
        "DisableLogin",
    )
    assert dialect.is_secret("secret") and not dialect.is_secret("Password")


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"mailsite_msbox": 'C:\\x"\\msbox.exe'}, "mailsite_msbox"),
        ({"mailsite_msbox": "C:\\%TEMP%\\msbox.exe"}, "mailsite_msbox"),
        ({"mailsite_msbox": "C:\\bin\\"}, "mailsite_msbox"),
        ({"mailsite_msbox": ""}, "mailsite_msbox"),
        ({"mailsite_prop_password": "Pass word"}, "mailsite_prop_password"),
        ({"mailsite_prop_last_login": 7}, "mailsite_prop_last_login"),
    ],
)
def test_bad_overrides_are_input_errors_naming_the_variable(
    variables: dict[str, object], named: str
) -> None:
    with pytest.raises(InputError) as caught:
        Dialect.for_host(Host("mail01", variables))
    assert named in str(caught.value) and "mail01" in str(caught.value)
    assert caught.value.exit_code == 5


def test_properties_are_canonical_and_passwords_secret() -> None:
    dialect = Dialect()
    parsed = dialect.parse_properties(["replyonce=1", "PASSWORD=pa=ss", "Custom=x;y"])
    assert parsed is not None
    assert parsed["ReplyOnce"] == "1" and parsed["Custom"] == "x;y"
    assert isinstance(parsed["Password"], Secret) and parsed["Password"].reveal() == "pa=ss"
    assert "pa=ss" not in repr(parsed)


def test_a_line_that_is_not_name_value_means_unparsed() -> None:
    assert Dialect().parse_properties(["Mailbox not found"]) is None
    assert Dialect().parse_properties([]) == {}


@pytest.mark.parametrize(
    ("text", "number"), [("1", 1), ("0", 0), ("0x10", 16), (" 7 ", 7), ("yes", None), ("", None)]
)
def test_dword(text: str, number: int | None) -> None:
    assert dword(text) == number


def loop_output(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def test_parse_gather_splits_domains_lists_and_sections() -> None:
    text = loop_output(
        "C:\\Users\\labadmin>noise before",
        f"{MK} D example.com",
        "MailboxTemplate",
        "sales",
        f"{MK} L",
        f"{MK} M MailboxTemplate",
        "ReplyOnce=1",
        f"{MK} E",
        f"{MK} M sales",
        "Mailbox not found",
        f"{MK} GF",
        f"{MK} E",
        f"{MK} D gone.example",
        "Domain not found: gone.example",
        f"{MK} LF",
        f"{MK} L",
    )
    out = parse_gather(text, MK)
    assert list(out) == ["example.com", "gone.example"]
    assert out["example.com"].listed == ["MailboxTemplate", "sales"]
    template, sales = out["example.com"].sections
    assert (template.lines, template.closed, template.failed) == (["ReplyOnce=1"], True, False)
    assert sales.failed and sales.closed
    assert out["gone.example"].list_failed


def test_lines_without_an_opening_marker_belong_to_no_mailbox() -> None:
    """If echo of a name printed something else, its -get output is orphaned, not misfiled."""
    text = loop_output(
        f"{MK} D example.com",
        "a",
        "b/?",
        f"{MK} L",
        f"{MK} M a",
        "ReplyOnce=1",
        f"{MK} E",
        "Displays messages, or turns command-echoing on or off.",
        "ReplyOnce=0",
        f"{MK} E",
    )
    out = parse_gather(text, MK)
    assert [s.name for s in out["example.com"].sections] == ["a"]
    assert out["example.com"].sections[0].lines == ["ReplyOnce=1"]


def facts_from(domains: str, loop: str, rc: int = 0) -> tuple[MailboxFacts, dict[str, object]]:
    fact = MailboxFacts(Dialect(), marker=MK)
    value = fact.process(Host("mail01"), [CommandResult(rc, domains), CommandResult(0, loop)])
    return fact, value


def test_process_keeps_what_the_loop_read_and_queues_the_rest() -> None:
    loop = loop_output(
        f"{MK} D example.com",
        "MailboxTemplate",
        'q"uote',
        ";semi",
        "ctl\x07",
        "ok",
        f"{MK} L",
        f"{MK} M MailboxTemplate",
        "EnableAutoReply=1",
        "Password=Tmpl-pw",
        f"{MK} E",
        f'{MK} M q"uote',
        "ReplyOnce=1",
        f"{MK} E",
        f"{MK} M ok",
        f"{MK} E",
    )
    fact, value = facts_from("example.com\r\nbad&domain\r\n", loop)
    entry = value["domains"]["example.com"]  # type: ignore[index]
    assert list(entry["mailboxes"]) == ["MailboxTemplate", "ok"]
    assert entry["mailboxes"]["ok"] == {}
    assert isinstance(entry["mailboxes"]["MailboxTemplate"]["Password"], Secret)
    # the quote misleads msbox's argv in the loop; `;` lines are skipped by for /f
    assert entry["pending"] == ['q"uote', ";semi"]
    assert entry["skipped"] == {"ctl\x07": "control character in name"}
    assert value["skipped_domains"] == {"bad&domain": "not a DNS domain name; not managed"}
    assert "Tmpl-pw" not in repr(value)


def test_no_refine_when_the_loop_read_everything() -> None:
    loop = loop_output(f"{MK} D example.com", "sales", f"{MK} L", f"{MK} M sales", f"{MK} E")
    fact, value = facts_from("example.com\r\n", loop)
    assert fact.refine(Host("mail01"), value) == []


def test_refine_fetches_exactly_the_pending_mailboxes_quoted() -> None:
    loop = loop_output(f"{MK} D example.com", 'q"uote', "x&y", f"{MK} L", f"{MK} M x&y", f"{MK} E")
    fact, value = facts_from("example.com\r\n", loop)
    commands = fact.refine(Host("mail01"), value)
    assert commands == [Dialect().get_command('q"uote', "example.com")]
    refined = fact.process_refined(
        Host("mail01"), value, [CommandResult(0, "ReplyOnce=0\r\nEnableAutoReply=1\r\n")]
    )
    entry = refined["domains"]["example.com"]
    assert entry["mailboxes"]['q"uote'] == {"ReplyOnce": "0", "EnableAutoReply": "1"}
    assert entry["pending"] == []
    assert value["domains"]["example.com"]["pending"] == ['q"uote']  # type: ignore[index]


def test_a_refetch_that_fails_is_recorded_as_unread() -> None:
    loop = loop_output(f"{MK} D example.com", 'q"uote', f"{MK} L")
    fact, value = facts_from("example.com\r\n", loop)
    refined = fact.process_refined(Host("mail01"), value, [CommandResult(1, "Mailbox not found")])
    entry = refined["domains"]["example.com"]
    assert entry["unread"] == {'q"uote': "msbox -get failed (exit 1): Mailbox not found"}


def test_list_failure_is_a_domain_error() -> None:
    loop = loop_output(
        f"{MK} D example.com", "Domain not found: example.com", f"{MK} LF", f"{MK} L"
    )
    _, value = facts_from("example.com\r\n", loop)
    entry = value["domains"]["example.com"]  # type: ignore[index]
    assert entry["error"] == "msbox -list failed: Domain not found: example.com"
    assert entry["mailboxes"] == {}


def test_msbox_missing_fails_the_host() -> None:
    with pytest.raises(HostFailed, match="exit 9009"):
        facts_from("'msbox' is not recognized as an internal or external command,", "", rc=9009)


def test_effective_values_come_from_the_mailbox_then_the_template() -> None:
    template = Mailbox("MailboxTemplate", "example.com", {"EnableAutoReply": "1"})
    own = Mailbox("sales", "example.com", {"enableautoreply": "0"})
    plain = Mailbox("info", "example.com", {})
    domain = Domain("example.com", template, (own, plain))
    assert (domain.effective(own, "EnableAutoReply").value, domain.effective(own, "x").origin) == (
        "0",
        "default",
    )
    assert domain.effective(plain, "EnableAutoReply").origin == "template"
    assert domain.effective(plain, "EnableAutoReply").value == "1"
    assert Domain("d", None).effective(plain, "EnableAutoReply").value is None


def test_fact_value_becomes_domains_with_their_template() -> None:
    value = {
        "domains": {
            "b.example": {"mailboxes": {"mailboxtemplate": {}, "x": {"ReplyOnce": 0}}},
            "a.example": {"mailboxes": {"y": {}}, "pending": ["z"]},
        }
    }
    a, b = domains_from_value(value, Dialect())
    assert (a.name, a.template, a.unread) == ("a.example", None, {"z": "not read yet"})
    assert b.template is not None and b.template.name == "mailboxtemplate"
    assert [m.address for m in b.mailboxes] == ["x@b.example"]
    assert b.mailboxes[0].explicit("replyonce") == "0"
