"""Ansible's INI inventory format: sections, `:children`, `:vars`, inline host vars, ranges."""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any, NoReturn

from remediate.errors import InputError
from remediate.inventory.data import GraphError, InventoryGraph
from remediate.inventory.ranges import RangeError, expand_hostpattern
from remediate.inventory.yaml_format import Unsafe
from remediate.secrets import mask_assignments

_COMMENT_MARKERS = ("#", ";")
_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:\#.*)?$")


class IniError(ValueError):
    """An INI parse error on a known line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def decode_lines(data: bytes, path: str) -> list[str]:
    """Split like Ansible (str.splitlines); invalid UTF-8 outside comment lines is an error."""
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        pass
    lines = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if raw[:1] in (b"#", b";"):
            lines.append("")
            continue
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError("inventory is not valid UTF-8", path, number, exc.start + 1) from None
    return lines


def parse_ini(data: bytes, path: str, graph: InventoryGraph) -> None:
    """Add the hosts, groups and variables of one INI inventory to `graph`."""
    if data.startswith(b"\xef\xbb\xbf"):
        # Ansible would read the BOM as part of the first name; nobody means that.
        raise InputError("file starts with a UTF-8 byte order mark; save it without", path, 1, 1)
    lines = decode_lines(data, path)
    parser = _IniParser(graph, path)
    try:
        parser.parse(lines)
    except IniError as exc:
        raise InputError(exc.message, path, exc.line, 1) from None


class _IniParser:
    """A single pass over the lines, as Ansible's ini plugin makes it."""

    def __init__(self, graph: InventoryGraph, path: str) -> None:
        self.graph = graph
        self.path = path
        self.pending: dict[str, dict[str, Any]] = {}
        self.group = "ungrouped"
        self.state = "hosts"
        self.line_number = 0

    def parse(self, lines: list[str]) -> None:
        for self.line_number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line[0] in _COMMENT_MARKERS:
                continue
            self.graph.location = (self.path, self.line_number, 1)
            try:
                self._parse_line(line)
            except (GraphError, RangeError) as exc:
                raise IniError(str(exc), self.line_number) from None
        self._check_pending()

    def _parse_line(self, line: str) -> None:
        match = _SECTION.match(line)
        if match:
            self._enter_section(match.group(1), match.group(2))
        elif line.startswith("[") and line.endswith("]"):
            self._fail(
                f"invalid section entry: {mask_assignments(line)!r}; make sure there are no spaces "
                "or other invalid characters in the section name"
            )
        elif self.state == "hosts":
            self._host_line(line)
        elif self.state == "vars":
            key, value = self._variable_definition(line)
            self.graph.set_variable(self.group, key, value)
        else:
            self._child_line(line)

    def _fail(self, message: str) -> NoReturn:
        raise IniError(message, self.line_number)

    def _enter_section(self, name: str, kind: str | None) -> None:
        # Ansible (TRANSFORM_INVALID_GROUP_CHARS=never) keeps names like web-servers as written.
        state = kind or "hosts"
        if state not in ("hosts", "children", "vars"):
            self._fail(f"section [{name}:{kind}] has unknown type: {kind}")
        self.group, self.state = name, state
        if name not in self.graph.groups:
            # [g:vars] alone does not declare g; remember it and check at the end.
            if state == "vars" and name not in self.pending:
                self.pending[name] = {"line": self.line_number, "state": state, "parents": []}
            self.graph.add_group(name)
        declared = self.pending.get(name)
        if declared is not None and state != "vars":
            if declared["state"] == "children":
                self._add_pending_children(name)
            else:
                del self.pending[name]

    def _add_pending_children(self, group: str) -> None:
        for parent in self.pending[group]["parents"]:
            self.graph.add_child(parent, group)
            upper = self.pending.get(parent)
            if upper is not None and upper["state"] == "children":
                self._add_pending_children(parent)
        del self.pending[group]

    def _child_line(self, line: str) -> None:
        match = _GROUP_NAME.match(line)
        if not match:
            self._fail(f"expected group name, got: {mask_assignments(line)}")
        child = match.group(1)
        if child in self.graph.groups:
            self.graph.add_child(self.group, child)
            return
        declared = self.pending.setdefault(
            child, {"line": self.line_number, "state": "children", "parents": []}
        )
        declared["parents"].append(self.group)

    def _check_pending(self) -> None:
        for name, declared in self.pending.items():
            if declared["state"] == "vars":
                raise IniError(
                    f"section [{name}:vars] not valid for undefined group {name!r}",
                    declared["line"],
                )
            parent = declared["parents"][-1]
            raise IniError(
                f"section [{parent}:children] includes undefined group {name!r}", declared["line"]
            )

    def _variable_definition(self, line: str) -> tuple[str, Any]:
        if "=" not in line:
            self._fail(f"expected key=value, got: {mask_assignments(line)}")
        key, value = line.split("=", 1)
        return key.strip(), self._parse_value(value.strip())

    def _host_line(self, line: str) -> None:
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            self._fail(f"error parsing host definition {mask_assignments(line)!r}: {exc}")
        if not tokens:
            self._fail(f"expected a host name, got: {mask_assignments(line)}")
        names, port = self._expand(tokens[0])
        variables: dict[str, Any] = {}
        for token in tokens[1:]:
            if "=" not in token:
                self._fail(
                    f"expected key=value host variable assignment, got: {mask_assignments(token)}"
                )
            key, value = token.split("=", 1)
            variables[key] = self._parse_value(value)
        for name in names:
            self.graph.add_host(name, self.group, port)
            for key, value in variables.items():
                self.graph.set_variable(name, key, value)

    def _expand(self, pattern: str) -> tuple[list[str], int | None]:
        names, port = expand_hostpattern(pattern)
        if pattern.strip().endswith(":") and port is None:
            self._fail(f"invalid host pattern {pattern!r}: a trailing ':' needs a port")
        if any(name.strip() == "---" for name in names):
            self._fail(f"invalid host pattern {pattern!r}: '---' is a sign this is a YAML file")
        return names, port

    def _parse_value(self, text: str) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        except Exception as exc:  # Ansible fails the whole file on these (e.g. {[]: 1})
            self._fail(f"cannot evaluate a value ({type(exc).__name__}; value not shown)")
        return _coerce(value)


def _coerce(value: Any) -> Any:
    """Turn what literal_eval can produce into JSON-friendly values, as Ansible does."""
    if isinstance(value, bytes):
        # Ansible does not mark text from a bytes literal as trusted: --list shows it as unsafe.
        return Unsafe(value.decode("utf-8", "surrogateescape"))
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_coerce(v) for v in value]
    if isinstance(value, dict):
        return {_coerce_key(k): _coerce(v) for k, v in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    return value


def _coerce_key(key: Any) -> Any:
    if isinstance(key, bytes):
        return key.decode("utf-8", "surrogateescape")
    if key is None or isinstance(key, (str, int, float)):
        return key
    raise GraphError(f"dictionary key {key!r} cannot be a variable key")
