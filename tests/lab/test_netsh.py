"""netsh advfirewall firewall add|show|delete rule on a lab workstation, byte for byte."""

from __future__ import annotations

import pytest

from remediate.lab.host import LabHost, install_windows
from remediate.lab.state import HostState

ADD = (
    'netsh advfirewall firewall add rule name="Block SMTP" dir=out action=block '
    "protocol=TCP remoteport=25 remoteip=0.0.0.0-10.0.0.24,10.0.0.26-255.255.255.255,"
    "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff profile=any enable=yes"
)
SHOW_VERBOSE = (
    "\r\n"
    "Rule Name:                            Block SMTP\r\n"
    "----------------------------------------------------------------------\r\n"
    "Enabled:                              Yes\r\n"
    "Direction:                            Out\r\n"
    "Profiles:                             Domain,Private,Public\r\n"
    "Grouping:                             \r\n"
    "LocalIP:                              Any\r\n"
    "RemoteIP:                             0.0.0.0-10.0.0.24,10.0.0.26-255.255.255.255,"
    "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\r\n"
    "Protocol:                             TCP\r\n"
    "LocalPort:                            Any\r\n"
    "RemotePort:                           25\r\n"
    "Edge traversal:                       No\r\n"
    "InterfaceTypes:                       Any\r\n"
    "Security:                             NotRequired\r\n"
    "Rule source:                          Local Setting\r\n"
    "Action:                               Block\r\n"
    "\r\n"
    "Ok.\r\n"
    "\r\n"
)


@pytest.fixture
def ws() -> LabHost:
    state = HostState("ws001", "workstation", "10.0.100.1")
    install_windows(state)
    return LabHost(state)


def test_add_show_delete_byte_exact(ws: LabHost) -> None:
    added = ws.execute(ADD)
    assert (added.rc, added.stdout) == (0, b"Ok.\r\n\r\n")
    shown = ws.execute('netsh advfirewall firewall show rule name="Block SMTP" verbose')
    assert shown.rc == 0
    assert shown.stdout.decode() == SHOW_VERBOSE
    deleted = ws.execute('netsh advfirewall firewall delete rule name="Block SMTP"')
    assert (deleted.rc, deleted.stdout) == (0, b"\r\nDeleted 1 rule(s).\r\nOk.\r\n")
    assert ws.state.firewall == []


def test_show_missing_rule(ws: LabHost) -> None:
    result = ws.execute('netsh advfirewall firewall show rule name="Nope" verbose')
    assert result.rc == 1
    assert result.stdout == b"\r\nNo rules match the specified criteria.\r\n"
    assert ws.execute("netsh advfirewall firewall delete rule name=Nope").rc == 1


def test_names_are_not_unique_and_delete_removes_all(ws: LabHost) -> None:
    ws.execute(ADD)
    ws.execute(ADD)
    shown = ws.execute('netsh advfirewall firewall show rule name="block smtp"').stdout.decode()
    assert shown.count("Rule Name:") == 2
    # Two blocks separated by a blank line, without the verbose-only rows.
    assert "Action:                               Block\r\n\r\nRule Name:" in shown
    assert "InterfaceTypes" not in shown
    deleted = ws.execute('netsh advfirewall firewall delete rule name="Block SMTP"')
    assert deleted.stdout == b"\r\nDeleted 2 rule(s).\r\nOk.\r\n"


def test_single_addresses_print_as_host_prefixes(ws: LabHost) -> None:
    ws.execute(
        "netsh advfirewall firewall add rule name=One dir=in action=allow "
        "remoteip=10.0.0.25,2001:db8::1,192.168.0.0/24 localip=10.0.100.1"
    )
    shown = ws.execute("netsh advfirewall firewall show rule name=One").stdout.decode()
    remote = "10.0.0.25/32,2001:db8::1/128,192.168.0.0/24"
    assert f"RemoteIP:                             {remote}\r\n" in shown
    assert "LocalIP:                              10.0.100.1/32\r\n" in shown
    assert "Direction:                            In\r\n" in shown


def test_invalid_values_are_refused(ws: LabHost) -> None:
    bad = [
        "name=X dir=sideways action=block",
        "name=X dir=out action=maybe",
        "name=X dir=out action=block remoteip=10.0.0.300",
        "name=X dir=out action=block protocol=any remoteport=25",
        "name=X dir=out action=block protocol=TCP remoteport=70000",
        "dir=out action=block",
    ]
    for args in bad:
        result = ws.execute(f"netsh advfirewall firewall add rule {args}")
        assert result.rc == 1, args
    assert ws.state.firewall == []


def test_show_all_and_dir_filter(ws: LabHost) -> None:
    ws.execute("netsh advfirewall firewall add rule name=A dir=in action=allow")
    ws.execute("netsh advfirewall firewall add rule name=B dir=out action=block")
    all_rules = ws.execute("netsh advfirewall firewall show rule name=all").stdout.decode()
    assert all_rules.count("Rule Name:") == 2
    outbound = ws.execute("netsh advfirewall firewall show rule name=all dir=out").stdout
    assert outbound.count(b"Rule Name:") == 1 and b"Rule Name:                            B" in (
        outbound
    )


def test_unknown_netsh_context(ws: LabHost) -> None:
    result = ws.execute("netsh interface show rule")
    assert result.rc == 1 and result.stdout.startswith(b"The following command was not found")


def test_unknown_parameters_are_refused(ws: LabHost) -> None:
    result = ws.execute("netsh advfirewall firewall add rule name=X dir=out action=block c=red")
    assert result.rc == 1 and result.stdout == b"A specified value is not valid: c\r\n\r\n"
    assert ws.execute("netsh advfirewall firewall show rule name=X loud").rc == 1
    assert ws.state.firewall == []


def test_delete_filters_by_remoteip(ws: LabHost) -> None:
    ws.execute("netsh advfirewall firewall add rule name=R dir=out action=block remoteip=10.0.0.1")
    ws.execute("netsh advfirewall firewall add rule name=R dir=out action=block remoteip=10.0.0.2")
    deleted = ws.execute("netsh advfirewall firewall delete rule name=R remoteip=10.0.0.2")
    assert deleted.stdout == b"\r\nDeleted 1 rule(s).\r\nOk.\r\n"
    assert [r.remoteip for r in ws.state.firewall] == ["10.0.0.1/32"]
