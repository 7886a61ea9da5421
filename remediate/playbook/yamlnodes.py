"""YAML loading that remembers where every key and value starts (1-based line and column)."""

from __future__ import annotations

import re
from typing import Any

import attrs
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from remediate.errors import InputError

MAX_DEPTH = 100
MAX_EXPANDED = 1_000_000  # values after alias expansion: stops "billion laughs" documents
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def one_line(text: str) -> str:
    """Collapse whitespace so a message always prints as one line."""
    return " ".join(text.split())


def show(value: object, limit: int = 60) -> str:
    """Quote a user's value for a message: single quotes, escapes, bounded length."""
    if isinstance(value, str) and value.isprintable() and "'" not in value:
        text = f"'{value}'"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


@attrs.frozen
class Location:
    """Where something is in an input file; line and col count from 1."""

    path: str
    line: int
    col: int

    @classmethod
    def of(cls, path: str, mark: yaml.Mark) -> Location:
        return cls(path, mark.line + 1, mark.column + 1)

    def error(self, message: str) -> InputError:
        return InputError(one_line(message), self.path, self.line, self.col)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class MarkedMap(dict[Any, Any]):
    """A mapping that knows where it, each key and each value start."""

    location: Location
    key_locations: dict[Any, Location]
    value_locations: dict[Any, Location]

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.key_locations = {}
        self.value_locations = {}


class MarkedList(list[Any]):
    """A sequence that knows where it and each item start."""

    location: Location
    item_locations: list[Location]

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.item_locations = []


def location_in_text(path: str, text: str, index: int) -> Location:
    """The line and column of character `index` in `text`."""
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return Location(path, line, col)


def decode(data: bytes, path: str) -> str:
    """Bytes to text (UTF-8, or UTF-16 with a byte order mark); bad bytes are an InputError."""
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        col = exc.start - (prefix.rfind(b"\n") + 1) + 1
        raise InputError(f"not valid {encoding} text: {exc.reason}", path, line, col) from None


def load_yaml(text: str, path: str) -> Any:
    """Parse one YAML document into plain values, MarkedMap and MarkedList (None if empty)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _with_quote_hint(_yaml_error(exc, path), text) from None
    except yaml.reader.ReaderError as exc:
        where = location_in_text(path, text, exc.position)
        raise where.error(f"invalid YAML: {_reader_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise InputError(one_line(f"invalid YAML: {exc}"), path, 1, 1) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", path, 1, 1) from None
    if node is None:
        return None
    try:
        return _Builder(path).build(node, 0)
    except InputError as exc:
        raise _with_quote_hint(exc, text) from None


_UNQUOTED_TEMPLATE = re.compile(r"(^|[:\-\[,]\s*)\{\{")


def _with_quote_hint(error: InputError, text: str) -> InputError:
    """Ansible users' classic: `key: {{ var }}` is a YAML mapping, not a template."""
    if error.line is None:
        return error
    lines = text.splitlines()
    line = lines[error.line - 1] if error.line <= len(lines) else ""
    if not _UNQUOTED_TEMPLATE.search(line):
        return error
    hint = ' (a value that starts with {{ must be quoted: "{{ var }}")'
    return InputError(error.message + hint, error.path, error.line, error.col)


def _yaml_error(exc: yaml.MarkedYAMLError, path: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "cannot parse"
    if exc.context and exc.problem:
        problem = f"{exc.context}, {exc.problem}"
    if mark is None:
        return InputError(one_line(f"invalid YAML: {problem}"), path, 1, 1)
    return Location.of(path, mark).error(f"invalid YAML: {problem}")


def _reader_problem(exc: yaml.reader.ReaderError) -> str:
    code = ord(exc.character) if isinstance(exc.character, str) else exc.character
    if isinstance(code, int):
        return f"{exc.reason} (character {code:#06x})"
    return str(exc.reason)


class _Builder:
    """Turns composed nodes into values; shares aliased values and refuses recursion."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._scalars = yaml.SafeLoader("")
        self._built: dict[int, Any] = {}
        self._sizes: dict[int, int] = {}
        self._active: set[int] = set()

    def where(self, node: Node) -> Location:
        return Location.of(self.path, node.start_mark)

    def build(self, node: Node, depth: int) -> Any:
        key = id(node)
        if key in self._built:
            return self._built[key]
        if key in self._active:
            raise self.where(node).error("invalid YAML: an alias refers to itself")
        if depth > MAX_DEPTH:
            raise self.where(node).error(f"invalid YAML: nested more than {MAX_DEPTH} levels")
        self._active.add(key)
        value = self._build_new(node, depth)
        self._active.discard(key)
        self._built[key] = value
        return value

    def _build_new(self, node: Node, depth: int) -> Any:
        if isinstance(node, ScalarNode):
            self._sizes[id(node)] = 1
            return self._scalar(node)
        if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            return self._sequence(node, depth)
        if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, depth)
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise self.where(node).error(f"invalid YAML: unsupported tag {show(tag)}")

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(exc, self.path) from None
        except Exception as exc:  # PyYAML's constructors raise ValueError, IndexError, ...
            reason = str(exc) or type(exc).__name__
            message = f"invalid YAML value {show(node.value)}: {reason}"
            raise self.where(node).error(message) from None

    def _count(self, node: Node, children: list[Node]) -> None:
        size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
        if size > MAX_EXPANDED:
            raise self.where(node).error("invalid YAML: too large once aliases are expanded")
        self._sizes[id(node)] = size

    def _sequence(self, node: SequenceNode, depth: int) -> MarkedList:
        result = MarkedList(self.where(node))
        for item in node.value:
            result.append(self.build(item, depth + 1))
            result.item_locations.append(self.where(item))
        self._count(node, list(node.value))
        return result

    def _mapping(self, node: MappingNode, depth: int) -> MarkedMap:
        result = MarkedMap(self.where(node))
        merged: list[tuple[Any, Any, Location, Location]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_entries(value_node, depth))
                continue
            key = self._key(key_node, result)
            result[key] = self.build(value_node, depth + 1)
            result.key_locations[key] = self.where(key_node)
            result.value_locations[key] = self.where(value_node)
        for key, value, key_location, value_location in merged:
            if key not in result:
                result[key] = value
                result.key_locations[key] = key_location
                result.value_locations[key] = value_location
        self._count(node, [child for pair in node.value for child in pair])
        return result

    def _key(self, key_node: Node, mapping: MarkedMap) -> Any:
        where = self.where(key_node)
        if not isinstance(key_node, ScalarNode):
            raise where.error("invalid YAML: a mapping key must be a plain value")
        key = self._scalar(key_node)
        if isinstance(key, (list, dict, set)):
            raise where.error("invalid YAML: a mapping key must be a plain value")
        if key in mapping:
            first = mapping.key_locations[key]
            raise where.error(f"duplicate key {show(key)} (first at line {first.line})")
        return key

    def _merge_entries(
        self, value_node: Node, depth: int
    ) -> list[tuple[Any, Any, Location, Location]]:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        entries: list[tuple[Any, Any, Location, Location]] = []
        for source in sources:
            built = self.build(source, depth + 1)
            if not isinstance(built, MarkedMap):
                raise self.where(source).error(
                    "invalid YAML: a merge key '<<' takes a mapping or a list of mappings"
                )
            for key, value in built.items():
                entries.append((key, value, built.key_locations[key], built.value_locations[key]))
        return entries


def plain(value: Any) -> Any:
    """A copy without location bookkeeping: dicts and lists all the way down."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
