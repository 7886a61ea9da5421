"""netsh advfirewall firewall add|show|delete rule over a HostState's rule list."""

from __future__ import annotations

import ipaddress

from remediate.lab.state import FirewallRule, HostState, ProgramResult, lines

NO_MATCH = "\r\nNo rules match the specified criteria.\r\n"
LABEL_WIDTH = 38
DASHES = "-" * 70
_DIRS = {"in": "In", "out": "Out"}
_ACTIONS = {"allow": "Allow", "block": "Block", "bypass": "Bypass"}
_PROFILES = {"domain": "Domain", "private": "Private", "public": "Public"}
_IP_KEYWORDS = {
    "any": "Any",
    "localsubnet": "LocalSubnet",
    "dns": "DNS",
    "dhcp": "DHCP",
    "wins": "WINS",
    "defaultgateway": "DefaultGateway",
}


class NetshError(Exception):
    """A value netsh rejects; the message is what it prints."""


def run(state: HostState, argv: list[str]) -> ProgramResult:
    """`netsh advfirewall firewall VERB rule key=value ...`."""
    words = [a.lower() for a in argv[1:5]]
    if words[:2] != ["advfirewall", "firewall"] or len(words) < 4 or words[3] != "rule":
        return ProgramResult(
            1, lines("The following command was not found: " + " ".join(argv[1:]) + ".")
        )
    verb = words[2]
    try:
        params, flags = _params(argv[5:])
        _check_keys(verb, params, flags)
        if verb == "add":
            return _add(state, params)
        if verb == "show":
            return _show(state, params, "verbose" in flags)
        if verb == "delete":
            return _delete(state, params)
    except NetshError as exc:
        return ProgramResult(1, lines(str(exc), ""))
    return ProgramResult(
        1, lines(f"The following command was not found: advfirewall firewall {argv[3]} rule.")
    )


def _params(args: list[str]) -> tuple[dict[str, str], set[str]]:
    params: dict[str, str] = {}
    flags: set[str] = set()
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq:
            params[key.lower()] = value
        else:
            flags.add(arg.lower())
    return params, flags


_KEYS = {
    "add": {
        "name",
        "dir",
        "action",
        "protocol",
        "localport",
        "remoteport",
        "localip",
        "remoteip",
        "profile",
        "enable",
        "description",
        "program",
        "service",
        "interfacetype",
        "edge",
        "security",
    },
    "show": {"name", "dir", "profile", "type"},
    "delete": {
        "name",
        "dir",
        "profile",
        "program",
        "service",
        "localip",
        "remoteip",
        "localport",
        "remoteport",
        "protocol",
    },
}
_FLAGS = {"add": set(), "show": {"verbose"}, "delete": set()}


def _check_keys(verb: str, params: dict[str, str], flags: set[str]) -> None:
    """netsh refuses a parameter its command does not know."""
    if verb not in _KEYS:
        return
    unknown = sorted((set(params) - _KEYS[verb]) | (flags - _FLAGS[verb]))
    if unknown:
        raise NetshError(f"A specified value is not valid: {unknown[0]}")


def _add(state: HostState, p: dict[str, str]) -> ProgramResult:
    for required in ("name", "dir", "action"):
        if required not in p:
            raise NetshError(f"A required parameter is missing: {required}")
    protocol = _protocol(p.get("protocol", "any"))
    if protocol not in ("TCP", "UDP") and ("remoteport" in p or "localport" in p):
        raise NetshError("The port is valid only for TCP or UDP protocols.")
    rule = FirewallRule(
        name=p["name"],
        direction=_choice(p["dir"], _DIRS, "dir"),
        action=_choice(p["action"], _ACTIONS, "action"),
        protocol=protocol,
        localport=_port(p.get("localport", "any")),
        remoteport=_port(p.get("remoteport", "any")),
        localip=_addresses(p.get("localip", "any")),
        remoteip=_addresses(p.get("remoteip", "any")),
        profiles=_profiles(p.get("profile", "any")),
        enabled=_yes_no(p.get("enable", "yes")),
        grouping=p.get("group", ""),
    )
    state.firewall.append(rule)
    return ProgramResult(0, "Ok.\r\n\r\n")


def _choice(value: str, options: dict[str, str], key: str) -> str:
    try:
        return options[value.lower()]
    except KeyError:
        raise NetshError(f"A specified value is not valid: {key}={value}") from None


def _protocol(value: str) -> str:
    low = value.lower()
    if low == "any":
        return "Any"
    if low in ("tcp", "udp", "icmpv4", "icmpv6"):
        return low.upper().replace("V", "v")
    if low.isdigit() and int(low) <= 255:
        return low
    raise NetshError(f"A specified value is not valid: protocol={value}")


def _port(value: str) -> str:
    if value.lower() == "any":
        return "Any"
    for part in value.split(","):
        low, _, high = part.partition("-")
        if not all(x.isdigit() and 0 < int(x) < 65536 for x in (low, high or low)):
            raise NetshError(f"A specified port value is not valid: {value}")
    return value


def _addresses(value: str) -> str:
    """Addresses as netsh shows them: single ones with /32 (/128), ranges and subnets kept."""
    shown = []
    for part in value.split(","):
        key = part.strip().lower()
        if key in _IP_KEYWORDS:
            if key == "any":
                return "Any"
            shown.append(_IP_KEYWORDS[key])
            continue
        shown.append(_address(part.strip(), value))
    return ",".join(shown)


def _address(part: str, whole: str) -> str:
    try:
        if "-" in part:
            low, high = (ipaddress.ip_address(x) for x in part.split("-", 1))
            if low.version != high.version or low > high:  # type: ignore[operator]
                raise ValueError(part)
            return f"{low}-{high}"
        network = ipaddress.ip_network(part, strict=False)
        return f"{network.network_address}/{network.prefixlen}"
    except ValueError:
        raise NetshError(f"A specified IP address value is not valid: {whole}") from None


def _profiles(value: str) -> str:
    if value.lower() == "any":
        return "Domain,Private,Public"
    names = {_choice(v.strip(), _PROFILES, "profile") for v in value.split(",")}
    return ",".join(n for n in _PROFILES.values() if n in names)


def _yes_no(value: str) -> bool:
    if value.lower() not in ("yes", "no"):
        raise NetshError(f"A specified value is not valid: enable={value}")
    return value.lower() == "yes"


def _matching(state: HostState, p: dict[str, str]) -> list[FirewallRule]:
    if "name" not in p:
        raise NetshError("A required parameter is missing: name")
    name = p["name"]
    found = [r for r in state.firewall if name.lower() == "all" or r.name.lower() == name.lower()]
    if "dir" in p:
        direction = _choice(p["dir"], _DIRS, "dir")
        found = [r for r in found if r.direction == direction]
    filters = {
        "protocol": _protocol,
        "localport": _port,
        "remoteport": _port,
        "localip": _addresses,
        "remoteip": _addresses,
    }
    for key, normalise in filters.items():
        if key in p:
            wanted = normalise(p[key])
            found = [r for r in found if getattr(r, key) == wanted]
    return found


def _show(state: HostState, p: dict[str, str], verbose: bool) -> ProgramResult:
    found = _matching(state, p)
    if not found:
        return ProgramResult(1, NO_MATCH)
    blocks = "".join("\r\n" + show_block(rule, verbose) for rule in found)
    return ProgramResult(0, blocks + "\r\nOk.\r\n\r\n")


def show_block(rule: FirewallRule, verbose: bool = True) -> str:
    """One rule as `show rule ... verbose` prints it: `Label:` padded, CRLF ends."""
    rows = [
        ("Enabled", "Yes" if rule.enabled else "No"),
        ("Direction", rule.direction),
        ("Profiles", rule.profiles),
        ("Grouping", rule.grouping),
        ("LocalIP", rule.localip),
        ("RemoteIP", rule.remoteip),
        ("Protocol", rule.protocol),
        ("LocalPort", rule.localport),
        ("RemotePort", rule.remoteport),
        ("Edge traversal", "No"),
    ]
    if verbose:
        rows += [
            ("InterfaceTypes", "Any"),
            ("Security", "NotRequired"),
            ("Rule source", "Local Setting"),
        ]
    rows.append(("Action", rule.action))
    text = _row("Rule Name", rule.name) + DASHES + "\r\n"
    return text + "".join(_row(label, value) for label, value in rows)


def _row(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}\r\n"


def _delete(state: HostState, p: dict[str, str]) -> ProgramResult:
    found = _matching(state, p)
    if not found:
        return ProgramResult(1, NO_MATCH)
    state.firewall[:] = [r for r in state.firewall if all(r is not f for f in found)]
    return ProgramResult(0, f"\r\nDeleted {len(found)} rule(s).\r\nOk.\r\n")
