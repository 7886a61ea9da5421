"""The MailboxFacts fact: every domain, mailbox and explicit property of a host in one batch.

The fact value (JSON-like; passwords wrapped in Secret) is::

    {"msbox": PATH,
     "domains": {DOMAIN: {"error": None | MESSAGE,
                          "mailboxes": {NAME: {PROPERTY: VALUE}},
                          "pending": [NAME],          # to refetch in refine()
                          "unread": {NAME: REASON},   # msbox could not read them
                          "skipped": {NAME: REASON}}},  # names we refuse to quote
     "skipped_domains": {DOMAIN: REASON}}
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import attrs

from remediate.errors import HostFailed
from remediate.mailsite.msbox import (
    Dialect,
    first_line,
    is_plain_domain,
    loop_safe_mailbox,
    output_lines,
    unsafe_name_reason,
)
from remediate.model import Host
from remediate.transport.base import CommandResult


@attrs.define
class Section:
    """What the gather loop printed for one mailbox's `-get`."""

    name: str
    lines: list[str] = attrs.field(factory=list)
    failed: bool = False
    closed: bool = False


@attrs.define
class DomainOutput:
    """What the gather loop printed for one domain."""

    name: str
    listed: list[str] = attrs.field(factory=list)
    list_failed: bool = False
    sections: list[Section] = attrs.field(factory=list)


def parse_gather(text: str, marker: str) -> dict[str, DomainOutput]:
    """Split the gather loop's output into domains and per-mailbox sections by marker lines.

    Lines outside a marked region (a missing `M` marker, noise) belong to nothing.
    """
    domains: dict[str, DomainOutput] = {}
    domain: DomainOutput | None = None
    section: Section | None = None
    in_list = False
    prefix = marker + " "
    for line in output_lines(text):
        if not line.startswith(prefix):
            if section is not None:
                section.lines.append(line)
            elif domain is not None and in_list:
                domain.listed.append(line)
            continue
        kind, _, arg = line[len(prefix) :].partition(" ")
        if kind == "D":
            domain, section, in_list = DomainOutput(arg), None, True
            domains.setdefault(arg, domain)
        elif domain is None:
            continue
        elif kind == "LF":
            domain.list_failed = True
        elif kind == "L":
            in_list = False
        elif kind == "M":
            section, in_list = Section(arg), False
            domain.sections.append(section)
        elif kind == "GF" and section is not None:
            section.failed = True
        elif kind == "E" and section is not None:
            section.closed = True
            section = None
    return domains


def fact_key(dialect: Dialect) -> str:
    """The key tasks share this fact by: one read per msbox path."""
    return f"mailsite.mailboxes:{dialect.msbox}"


def new_marker() -> str:
    """A marker no mailbox name can forge: it is random per gather."""
    return f"#rm{secrets.token_hex(8)}#"


@attrs.define
class MailboxFacts:
    """Domains, mailboxes and their explicit properties, read with msbox."""

    dialect: Dialect
    marker: str = attrs.field(factory=new_marker)
    key: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.key = fact_key(self.dialect)

    def commands(self, host: Host) -> Sequence[str]:
        return [self.dialect.domains_command(), self.dialect.gather_loop(self.marker)]

    def process(self, host: Host, results: Sequence[CommandResult]) -> Any:
        listed, loop = results
        if listed.rc != 0:
            raise HostFailed(
                f"{host.name}: msbox -domains failed (exit {listed.rc}): {first_line(listed)}"
            )
        output = parse_gather(loop.stdout, self.marker)
        value: dict[str, Any] = {"msbox": self.dialect.msbox, "domains": {}, "skipped_domains": {}}
        for name in _unique(output_lines(listed.stdout)):
            if not name.strip():
                continue
            if not is_plain_domain(name):
                value["skipped_domains"][name] = "not a DNS domain name; not managed"
                continue
            value["domains"][name] = self._domain_value(output.get(name))
        return value

    def refine(self, host: Host, value: Any) -> Sequence[str]:
        return [self.dialect.get_command(name, domain) for domain, name in _pending(value)]

    def process_refined(self, host: Host, value: Any, results: Sequence[CommandResult]) -> Any:
        pending = _pending(value)
        value = _copy(value)
        for (domain, name), result in zip(pending, results, strict=True):
            entry = value["domains"][domain]
            properties = self.dialect.parse_properties(output_lines(result.stdout))
            if result.rc != 0:
                entry["unread"][name] = (
                    f"msbox -get failed (exit {result.rc}): {first_line(result)}"
                )
            elif properties is None:
                entry["unread"][name] = "msbox -get printed a line that is not Name=Value"
            else:
                entry["mailboxes"][name] = properties
            entry["pending"].remove(name)
        return value

    def _domain_value(self, output: DomainOutput | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "error": None, "mailboxes": {}, "pending": [], "unread": {}, "skipped": {}
        }  # fmt: skip
        if output is None:
            entry["error"] = "the gather loop printed nothing for this domain"
        elif output.list_failed:
            message = " ".join(line.strip() for line in output.listed).strip()[:200]
            entry["error"] = f"msbox -list failed: {message or 'no message'}"
        else:
            self._fill_mailboxes(entry, output)
        return entry

    def _fill_mailboxes(self, entry: dict[str, Any], output: DomainOutput) -> None:
        sections: dict[str, list[Section]] = {}
        for section in output.sections:
            sections.setdefault(section.name, []).append(section)
        for name in _unique(output.listed):
            reason = unsafe_name_reason(name)
            if reason:
                entry["skipped"][name] = reason
                continue
            properties = self._trusted(name, sections.get(name, []))
            if properties is None:
                entry["pending"].append(name)
            else:
                entry["mailboxes"][name] = properties

    def _trusted(self, name: str, found: list[Section]) -> dict[str, Any] | None:
        """The properties the loop read for `name`, unless the loop may have misread them."""
        if len(found) != 1 or not loop_safe_mailbox(name):
            return None
        section = found[0]
        if section.failed or not section.closed:
            return None
        return self.dialect.parse_properties(section.lines)


def _unique(lines: Sequence[str]) -> list[str]:
    return [line for line in dict.fromkeys(lines) if line]


def _copy(value: Any) -> Any:
    """A copy deep enough to edit the per-domain parts (Secret refuses deepcopy)."""
    domains = {
        name: {
            key: (part.copy() if isinstance(part, (dict, list)) else part)
            for key, part in entry.items()
        }
        for name, entry in value["domains"].items()
    }
    return {**value, "domains": domains}


def _pending(value: Any) -> list[tuple[str, str]]:
    return [
        (domain, name)
        for domain, entry in value["domains"].items()
        for name in list(entry["pending"])
    ]
