"""The canonical JSON of a lab host: the ground truth tests and benchmarks compare against."""

from __future__ import annotations

import json

from remediate.lab.host import LabHost, install_windows
from remediate.lab.state import REG_DWORD, REG_MULTI_SZ, HostState, Mailbox, property_type


def make_host() -> LabHost:
    state = HostState("mail001", "mailsite", "10.0.1.1")
    install_windows(state)
    domain = state.add_domain("example.com")
    domain.template.properties["ReplyOnce"] = 1
    domain.add(Mailbox("sales", {"NoReplyTo": ("a@x", "b@y"), "Password": "pw-123456789"}))
    return LabHost(state)


def test_json_reflects_commands_and_counters() -> None:
    host = make_host()
    host.execute("msbox -set sales@example.com enableautoreply 1")
    host.execute("netsh advfirewall firewall add rule name=R dir=out action=block")
    data = host.to_json()
    text = json.dumps(data, sort_keys=True)
    assert json.loads(text) == data
    sales = data["domains"]["example.com"]["sales"]  # type: ignore[index]
    assert sales == {"EnableAutoReply": 1, "NoReplyTo": ["a@x", "b@y"], "Password": "pw-123456789"}
    assert data["counters"] == {"commands": 2}
    firewall = data["firewall"]
    assert isinstance(firewall, list) and [r["name"] for r in firewall] == ["R"]
    assert data["name"] == "mail001" and data["kind"] == "mailsite"
    assert "C:\\Program Files\\Rockliffe\\MailSite\\msbox.exe" in data["files"]  # type: ignore[operator]


def test_json_is_stable_across_identical_histories() -> None:
    one, two = make_host(), make_host()
    for host in (one, two):
        host.execute("msbox -set sales@example.com ReplyOnce 0")
    assert json.dumps(one.to_json(), sort_keys=True) == json.dumps(two.to_json(), sort_keys=True)
    one.execute("msbox -clear sales@example.com ReplyOnce")
    assert json.dumps(one.to_json(), sort_keys=True) != json.dumps(two.to_json(), sort_keys=True)


def test_property_types_follow_kb_10012() -> None:
    for name, reg_type in [
        ("ReplyOnce", REG_DWORD),
        ("replyonce", REG_DWORD),
        ("NoReplyTo", REG_MULTI_SZ),
        ("ForwardTo", "REG_SZ"),
        ("Privilege", REG_DWORD),
        ("LoginDisabled", REG_DWORD),
    ]:
        found = property_type(name)
        assert found is not None and found.reg_type == reg_type
    assert property_type("LASTLOGIN").read_only  # type: ignore[union-attr]
    assert property_type("MailboxName").read_only  # type: ignore[union-attr]
    assert property_type("Colour") is None


def test_environment_is_per_process_and_case_insensitive() -> None:
    host = make_host()
    assert host.execute("echo %path%").stdout.startswith(b"C:\\Windows\\System32;")
    assert host.state.getenv("Path") == host.state.getenv("PATH")


def test_json_keys_are_sorted_all_the_way_down() -> None:
    data = make_host().to_json()
    assert list(data) == sorted(data)
    rule_host = make_host()
    rule_host.execute("netsh advfirewall firewall add rule name=R dir=out action=block")
    rule = rule_host.to_json()["firewall"][0]  # type: ignore[index]
    assert list(rule) == sorted(rule)
