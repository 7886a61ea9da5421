"""msbox.exe as the lab speaks it: the ASSUMED dialect of MAILSITE.md over a HostState."""

from __future__ import annotations

from remediate.lab.state import (
    REG_DWORD,
    REG_MULTI_SZ,
    Domain,
    HostState,
    Mailbox,
    ProgramResult,
    Value,
    format_value,
    lines,
    property_type,
)

MSBOX_DIR = "C:\\Program Files\\Rockliffe\\MailSite"
MSBOX_PATH = MSBOX_DIR + "\\msbox.exe"

PASSWORD_POLICY_ERROR = (
    "Unable to update the password. The value provided for the new password does not "
    "meet the length, complexity, or history requirements of the domain."
)
USAGE = lines(
    "Usage: msbox -domains",
    "       msbox -list DOMAIN",
    "       msbox -get MAILBOX@DOMAIN",
    "       msbox -set MAILBOX@DOMAIN PROPERTY VALUE",
    "       msbox -clear MAILBOX@DOMAIN PROPERTY",
)


def run(state: HostState, argv: list[str]) -> ProgramResult:
    """Run `msbox ARGS`; messages go to stdout like the rest of the tool's output."""
    args = argv[1:]
    if not args:
        return ProgramResult(1, USAGE)
    verb = args[0].lower().lstrip("-/")
    handler = _VERBS.get(verb)
    if handler is None or len(args) - 1 not in _ARITY[verb]:
        return ProgramResult(1, USAGE)
    return handler(state, args[1:])


def _domains(state: HostState, args: list[str]) -> ProgramResult:
    names = [d.name for d in state.domains.values()]
    return ProgramResult(0, lines(*names))


def _list(state: HostState, args: list[str]) -> ProgramResult:
    domain = state.domain(args[0])
    if domain is None:
        return ProgramResult(1, lines(f"Domain not found: {args[0]}"))
    return ProgramResult(0, lines(*(m.name for m in domain.mailboxes.values())))


def _find(state: HostState, address: str) -> tuple[Domain, Mailbox] | None:
    name, at, domain_name = address.rpartition("@")
    if not at:
        return None
    domain = state.domain(domain_name)
    mailbox = domain.find(name) if domain else None
    if domain is None or mailbox is None:
        return None
    return domain, mailbox


def _not_found() -> ProgramResult:
    return ProgramResult(1, lines("Mailbox not found"))


def _get(state: HostState, args: list[str]) -> ProgramResult:
    found = _find(state, args[0])
    if found is None:
        return _not_found()
    props = found[1].properties
    ordered = sorted(props, key=str.lower)
    return ProgramResult(0, lines(*(f"{k}={format_value(props[k])}" for k in ordered)))


def _set(state: HostState, args: list[str]) -> ProgramResult:
    found = _find(state, args[0])
    if found is None:
        return _not_found()
    domain, mailbox = found
    ptype = property_type(args[1])
    if ptype is None:
        return ProgramResult(1, lines(f"Unknown property: {args[1]}"))
    if ptype.read_only:
        return ProgramResult(1, lines(f"Property {ptype.name} is read-only"))
    value = _convert(ptype.reg_type, args[2])
    if value is None:
        return ProgramResult(
            1, lines(f"Invalid value for {ptype.name} ({ptype.reg_type}): a number is required")
        )
    if ptype.name == "Password" and not _meets_policy(domain, args[2]):
        return ProgramResult(1325, lines(PASSWORD_POLICY_ERROR))
    mailbox.properties[ptype.name] = value
    return ProgramResult(0)


def _convert(reg_type: str, text: str) -> Value | None:
    if reg_type == REG_MULTI_SZ:
        return tuple(part for part in text.split(";") if part)
    if reg_type != REG_DWORD:
        return text
    try:
        number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        return None
    return number if 0 <= number <= 0xFFFFFFFF else None


def _meets_policy(domain: Domain, password: str) -> bool:
    minimum = domain.template.properties.get("MinPasswordLength", 0)
    return not isinstance(minimum, int) or len(password) >= minimum


def _clear(state: HostState, args: list[str]) -> ProgramResult:
    found = _find(state, args[0])
    if found is None:
        return _not_found()
    ptype = property_type(args[1])
    if ptype is None:
        return ProgramResult(1, lines(f"Unknown property: {args[1]}"))
    if ptype.read_only:
        return ProgramResult(1, lines(f"Property {ptype.name} is read-only"))
    found[1].properties.pop(ptype.name, None)
    return ProgramResult(0)


_VERBS = {"domains": _domains, "list": _list, "get": _get, "set": _set, "clear": _clear}
_ARITY = {"domains": (0,), "list": (1,), "get": (1,), "set": (3,), "clear": (2,)}
