"""Ansible host patterns: names, globs, `~regex`, `a:b`, `a,b`, `a:&b`, `a:!b`, `[0:2]`, `@file`."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence

from remediate.errors import InputError
from remediate.inventory.data import LOCALHOST_NAMES, InventoryGraph
from remediate.inventory.ranges import parse_address

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_COLON_PARTS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")

Subscript = tuple[int, int | None]


def split_host_pattern(pattern: str | Sequence[str]) -> list[str]:
    """`a,b` or `a:b` into parts; a lone `host:port`, IPv6 address or `web[1:3]` stays whole."""
    if not isinstance(pattern, str):
        return [part for item in pattern for part in split_host_pattern(item)]
    if "," in pattern:
        parts = pattern.split(",")
    elif parse_address(pattern) is not None:
        parts = [pattern]
    else:
        parts = _COLON_PARTS.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def order_patterns(patterns: list[str]) -> list[str]:
    """Plain patterns first, then `&` intersections, then `!` exclusions (Ansible's order)."""
    plain = [p for p in patterns if p and p[0] not in "!&"]
    intersections = [p for p in patterns if p and p[0] == "&"]
    exclusions = [p for p in patterns if p and p[0] == "!"]
    return (plain or ["all"]) + intersections + exclusions


def read_limit(limit: str) -> list[str]:
    """A --limit value as a list of patterns, `@file` replaced by the file's lines."""
    patterns: list[str] = []
    for part in split_host_pattern(limit):
        if not part.startswith("@"):
            patterns.append(part)
            continue
        path = part[1:]
        if not os.path.exists(path):
            raise InputError(f"limit file {path!r} not found", path)
        if not os.path.isfile(path):
            raise InputError("a limit starting with '@' must be a file, not a directory", path)
        try:
            with open(path, encoding="utf-8") as handle:
                patterns.extend(line.strip() for line in handle.read().split("\n"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read limit file: {exc}", path) from None
    return patterns


class PatternMatcher:
    """Evaluates patterns against one inventory graph; returns host names in Ansible's order."""

    def __init__(self, graph: InventoryGraph) -> None:
        self.graph = graph
        self._group_hosts = {name: g.all_hosts() for name, g in graph.groups.items()}

    def evaluate(self, patterns: list[str]) -> list[str]:
        hosts: list[str] = []
        for pattern in order_patterns(patterns):
            if pattern in self.graph.hosts:
                hosts.append(pattern)
                continue
            matched = self.match_one(pattern)
            if pattern[0] == "!":
                excluded = set(matched)
                hosts = [h for h in hosts if h not in excluded]
            elif pattern[0] == "&":
                kept = set(matched)
                hosts = [h for h in hosts if h in kept]
            else:
                present = set(hosts)
                hosts.extend(h for h in matched if h not in present)
        return list(dict.fromkeys(hosts))

    def match_one(self, pattern: str) -> list[str]:
        bare = pattern[1:] if pattern[0] in "&!" else pattern
        if not bare:
            raise InputError(f"empty host pattern in {pattern!r}")
        expression, subscript = _split_subscript(bare)
        hosts = self._enumerate(expression)
        if not hosts or subscript is None:
            return hosts
        try:
            return _apply_subscript(hosts, subscript)
        except IndexError:
            raise InputError(f"no hosts matched the subscripted pattern {bare!r}") from None

    def _enumerate(self, pattern: str) -> list[str]:
        results: list[str] = []
        groups = _match_list(self.graph.groups, pattern)
        for name in groups:
            results.extend(self._group_hosts[name])
        if not groups or pattern[0] == "~" or any(c in pattern for c in ".?*["):
            results.extend(_match_list(self.graph.hosts, pattern))
        if not results and pattern in LOCALHOST_NAMES:
            results.append(pattern)  # Ansible's implicit localhost
        return results


def _match_list(items: Iterable[str], pattern: str) -> list[str]:
    try:
        if pattern[0] == "~":
            regex = re.compile(pattern[1:])
        else:
            regex = re.compile(fnmatch.translate(pattern))
    except (re.error, RecursionError, OverflowError) as exc:
        raise InputError(f"invalid host pattern {pattern!r}: {exc}") from None
    return [item for item in items if regex.match(item)]


def _split_subscript(pattern: str) -> tuple[str, Subscript | None]:
    if pattern[0] == "~":
        return pattern, None
    match = _SUBSCRIPT.match(pattern)
    if not match:
        return pattern, None
    expression, index, start, _sep, end = match.groups()
    if index:
        return expression, (int(index), None)
    return expression, (int(start), int(end) if end else -1)


def _apply_subscript(hosts: list[str], subscript: Subscript) -> list[str]:
    start, end = subscript
    if not end:
        return [hosts[start]]
    if end == -1:
        end = len(hosts) - 1
    return hosts[start : end + 1]
