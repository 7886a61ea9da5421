"""Host addresses and ranges as Ansible reads them: `host:port`, `[v6]:port`, `mail[01:20]`."""

from __future__ import annotations

import re
import string

# Ansible refuses nothing here; we cap expansion so a typo cannot exhaust memory.
MAX_RANGE_HOSTS = 100_000


class RangeError(ValueError):
    """A host range that cannot be expanded (message says why)."""


_NUMERIC_RANGE = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_HEX_RANGE = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]"
_ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_V6 = rf"(?:[0-9a-f]{{1,4}}|{_HEX_RANGE})"
_V4 = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{_NUMERIC_RANGE})"
_LABEL = rf"(?:[\w]|{_ALNUM_RANGE})(?:[\w_-]|{_ALNUM_RANGE})*(?<![_-])"

_BRACKETED_HOSTPORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOSTPORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
IPV4 = re.compile(rf"^(?:{_V4}\.){{3}}{_V4}$", re.I)
IPV6 = re.compile(
    "^("
    + "|".join(
        (
            rf"(?:{_V6}:){{7}}{_V6}",
            rf"(?:{_V6}:){{1,6}}:",
            rf"(?:{_V6}:)(?::{_V6}){{1,6}}",
            rf"(?:{_V6}:){{2}}(?::{_V6}){{1,5}}",
            rf"(?:{_V6}:){{3}}(?::{_V6}){{1,4}}",
            rf"(?:{_V6}:){{4}}(?::{_V6}){{1,3}}",
            rf"(?:{_V6}:){{5}}(?::{_V6}){{1,2}}",
            rf"(?:{_V6}:){{6}}(?::{_V6})",
            rf":(?::{_V6}){{1,6}}",
            rf"{_V6}?::",
            rf"(?:0:){{6}}(?:{_V6}\.){{3}}{_V6}",
            rf"::(?:ffff:)?(?:{_V6}\.){{3}}{_V6}",
            rf"(?:0:){{5}}ffff:(?:{_V6}\.){{3}}{_V6}",
        )
    )
    + ")$",
    re.I,
)
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I | re.UNICODE)


def parse_address(address: str) -> tuple[str, int | None] | None:
    """Split `host[:port]` (ranges allowed); None when it is not a host identifier."""
    port: int | None = None
    for pattern in (_BRACKETED_HOSTPORT, _HOSTPORT):
        match = pattern.match(address)
        if match:
            address, port = match.group(1), int(match.group(2))
    for pattern in (IPV4, IPV6, _HOSTNAME):
        if pattern.match(address):
            return address, port
    return None


def expand_hostpattern(pattern: str) -> tuple[list[str], int | None]:
    """Expand one inventory host entry into host names and the port it names, if any."""
    parsed = parse_address(pattern)
    name, port = parsed if parsed is not None else (pattern, None)
    if "[" in name:
        return expand_range(name), port
    return [name], port


def expand_range(line: str) -> list[str]:
    """Expand every `[begin:end[:step]]` in a host name, left to right, as Ansible does."""
    hosts: list[str] = []
    _expand_into(line, hosts)
    return hosts


def _expand_into(line: str, out: list[str]) -> None:
    parts = line.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise RangeError(f"malformed host range in {line!r}")
    head, nrange, tail = parts
    for item in _range_items(nrange):
        name = f"{head}{item}{tail}"
        if "[" in name:
            _expand_into(name, out)
        else:
            out.append(name)
        if len(out) > MAX_RANGE_HOSTS:
            raise RangeError(f"host range expands to more than {MAX_RANGE_HOSTS} hosts")


def _range_items(nrange: str) -> list[str]:
    bounds = nrange.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError("host range must be begin:end or begin:end:step")
    begin, end = bounds[0] or "0", bounds[1]
    step = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise RangeError("host range must specify end value")
    width = len(begin) if begin[0] == "0" and len(begin) > 1 else 0
    if width and width != len(end):
        raise RangeError("host range must specify equal-length begin and end formats")
    alpha = _alpha_range(begin, end, step)
    if alpha is not None:
        return [c.zfill(width) for c in alpha]
    return [str(n).zfill(width) for n in _numeric_range(begin, end, step)]


def _alpha_range(begin: str, end: str, step: str) -> str | None:
    # Ansible looks the bounds up with str.index, so any run of letters is a bound.
    letters = string.ascii_letters
    try:
        first, last = letters.index(begin), letters.index(end)
    except ValueError:
        return None
    if first > last:
        raise RangeError("host range must have begin <= end")
    try:
        return letters[first : last + 1 : int(step)]
    except ValueError:
        return None


def _numeric_range(begin: str, end: str, step: str) -> range:
    try:
        numbers = range(int(begin), int(end) + 1, int(step))
    except ValueError as exc:
        raise RangeError(f"invalid host range [{begin}:{end}:{step}]: {exc}") from None
    if len(numbers) > MAX_RANGE_HOSTS:
        raise RangeError(f"host range expands to more than {MAX_RANGE_HOSTS} hosts")
    return numbers
