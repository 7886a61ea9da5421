"""Ansible's YAML inventory format (and the YAML/JSON loader shared with group_vars/host_vars)."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from remediate.errors import InputError
from remediate.inventory.data import GraphError, InventoryGraph
from remediate.inventory.ranges import RangeError, expand_hostpattern

Mark = tuple[int, int]

log = logging.getLogger(__name__)


class NotYamlInventory(InputError):
    """The file is not a YAML mapping at all (so Ansible would try it as INI)."""


class Unsafe(str):
    """A string tagged `!unsafe` (never templated); --list shows it as {"__ansible_unsafe": ...}."""

    __slots__ = ()


class LocatedDict(dict[Any, Any]):
    """A mapping that remembers where it and each of its keys were written (line, column)."""

    mark: Mark = (1, 1)
    key_marks: dict[Any, Mark]

    def where(self, key: Any) -> Mark:
        marks = getattr(self, "key_marks", {})
        try:
            return marks.get(key, self.mark)  # type: ignore[no-any-return]
        except TypeError:
            return self.mark


def _mark(node: yaml.Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Loader(yaml.SafeLoader):
    """SafeLoader plus Ansible's tags, with positions kept on mappings."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LocatedDict]:
    data = LocatedDict()
    data.mark = _mark(node)
    data.key_marks = {}
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        with contextlib.suppress(TypeError):
            data.key_marks[loader.construct_object(key_node)] = _mark(key_node)


def _construct_unsafe(loader: _Loader, node: yaml.Node) -> Any:
    """`!unsafe X` is X as if untagged, with every string inside it marked Unsafe (as Ansible)."""
    plain: yaml.Node
    if isinstance(node, yaml.ScalarNode):
        tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        plain = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
    elif isinstance(node, yaml.SequenceNode):
        plain = yaml.SequenceNode(
            "tag:yaml.org,2002:seq", node.value, node.start_mark, node.end_mark, node.flow_style
        )
    elif isinstance(node, yaml.MappingNode):
        plain = yaml.MappingNode(
            "tag:yaml.org,2002:map", node.value, node.start_mark, node.end_mark, node.flow_style
        )
    else:
        raise yaml.constructor.ConstructorError(None, None, "bad !unsafe value", node.start_mark)
    return _mark_unsafe(loader.construct_object(plain, deep=True))


def _mark_unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, list):
        return [_mark_unsafe(v) for v in value]
    if isinstance(value, LocatedDict):
        for key in value:
            value[key] = _mark_unsafe(value[key])
    return value


def _refuse(what: str) -> Any:
    def construct(loader: _Loader, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(None, None, what, node.start_mark)

    return construct


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    value = loader.construct_yaml_timestamp(node)
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


def _construct_set(loader: _Loader, node: yaml.MappingNode) -> Iterator[list[Any]]:
    items: list[Any] = []
    yield items
    items.extend(loader.construct_mapping(node))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:set", _construct_set)
_Loader.add_constructor("tag:yaml.org,2002:binary", _refuse("binary values are not supported"))
_Loader.add_constructor("!unsafe", _construct_unsafe)
_Loader.add_constructor("!vault", _refuse("vault-encrypted values are not supported yet"))
_Loader.add_constructor("!vault-encrypted", _refuse("vault-encrypted values are not supported yet"))


def load_yaml(data: bytes, path: str) -> Any:
    """Parse JSON or YAML the way Ansible's DataLoader does; errors carry the position."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("file is not valid UTF-8", path, 1, exc.start + 1) from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_EXPANDED:
            raise InputError(
                "YAML too large once aliases are expanded (an alias bomb?)",
                path,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InputError(f"YAML: {exc.problem or exc.context}", path, line, col) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML: {exc}", path, 1, 1) from None
    except RecursionError:
        raise InputError("YAML nesting too deep", path, 1, 1) from None
    finally:
        loader.dispose()


MAX_EXPANDED = 20_000_000  # nodes after alias expansion: stops "billion laughs" documents


def _expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """How many nodes the document holds once every alias is expanded (memoized, so a bomb
    is measured without being expanded)."""
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = MAX_EXPANDED + 1  # a node inside itself: refused as too large
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    else:
        size = 1
    seen[id(node)] = min(size, MAX_EXPANDED + 1)
    return seen[id(node)]


def _reader_error(exc: yaml.reader.ReaderError, text: str, path: str) -> InputError:
    line = text.count("\n", 0, exc.position) + 1
    col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    return InputError(f"YAML: unacceptable character #x{exc.character:04x}", path, line, col)


def parse_yaml(data: bytes, path: str, graph: InventoryGraph) -> None:
    """Add the groups, hosts and variables of one YAML inventory to `graph`."""
    try:
        document = load_yaml(data, path)
    except InputError as exc:
        raise NotYamlInventory(exc.message, exc.path, exc.line, exc.col) from None
    if not document:
        raise NotYamlInventory("empty YAML inventory", path, 1, 1)
    if not isinstance(document, Mapping):
        raise NotYamlInventory(
            f"YAML inventory must be a mapping of groups, got {type(document).__name__}", path, 1, 1
        )
    if document.get("plugin"):
        raise InputError("inventory plugin configuration files are not supported", path, 1, 1)
    _YamlGroups(graph, path).parse(document)


class _YamlGroups:
    """Walks group mappings the way Ansible's yaml plugin does (unknown keys skipped)."""

    def __init__(self, graph: InventoryGraph, path: str) -> None:
        self.graph = graph
        self.path = path

    def parse(self, document: Mapping[Any, Any]) -> None:
        for name, body in list(document.items()):
            self._group(name, body, _where(document, name))

    def _fail(self, message: str, mark: Mark) -> InputError:
        return InputError(message, self.path, mark[0], mark[1])

    def _group(self, name: Any, body: Any, mark: Mark) -> Any:
        if body is not None and not isinstance(body, Mapping):
            return name  # Ansible warns and skips a group that is not a mapping
        try:
            self.graph.add_group(name)
        except GraphError as exc:
            raise self._fail(f"unable to add group: {exc}", mark) from None
        if body is None:
            return name
        body = self._normalise_sections(name, body, mark)
        for key, value in body.items():
            if key not in ("vars", "children", "hosts"):
                line, col = _where(body, key)
                log.warning(
                    "%s:%s:%s: skipping unexpected key %r in group %r (only vars, "
                    "children and hosts are valid)",
                    self.path,
                    line,
                    col,
                    key,
                    name,
                )
                continue
            if not isinstance(value, Mapping):
                continue  # Ansible skips empty and non-mapping keys (with a warning)
            if key == "vars":
                self._vars(name, value)
            elif key == "children":
                self._children(name, value)
            elif key == "hosts":
                self._hosts(name, value)
        return name

    def _normalise_sections(self, name: str, body: Mapping[Any, Any], mark: Mark) -> LocatedDict:
        result = LocatedDict(body)
        result.mark = _where_self(body, mark)
        result.key_marks = dict(getattr(body, "key_marks", {}))
        for section in ("vars", "children", "hosts"):
            value = result.get(section)
            if isinstance(value, str):
                result[section] = {value: None}
            elif value is not None and section in result and not isinstance(value, Mapping):
                raise self._fail(
                    f'invalid "{section}" entry for "{name}" group: requires a mapping, '
                    f"found {type(value).__name__}",
                    result.where(section),
                )
        return result

    def _vars(self, group: str, values: Mapping[Any, Any]) -> None:
        for key, value in values.items():
            try:
                self.graph.set_variable(group, key, value)
            except GraphError as exc:
                raise self._fail(str(exc), _where(values, key)) from None

    def _children(self, group: str, children: Mapping[Any, Any]) -> None:
        for child, body in children.items():
            mark = _where(children, child)
            name = self._group(child, body, mark)
            try:
                self.graph.add_child(group, name)
            except GraphError as exc:
                raise self._fail(str(exc), mark) from None

    def _hosts(self, group: str, hosts: Mapping[Any, Any]) -> None:
        for pattern, variables in hosts.items():
            mark = _where(hosts, pattern)
            if not isinstance(pattern, str):
                raise self._fail(f"host pattern {pattern!r} must be a string; quote numbers", mark)
            try:
                names, port = expand_hostpattern(pattern)
            except RangeError as exc:
                raise self._fail(str(exc), mark) from None
            self._populate(names, port, group, variables or {}, mark)

    def _populate(
        self, names: list[str], port: int | None, group: str, variables: Any, mark: Mark
    ) -> None:
        if not isinstance(variables, Mapping):
            raise self._fail(
                f"host variables must be a mapping, got {type(variables).__name__}", mark
            )
        self.graph.location = (self.path, mark[0], mark[1])
        for name in names:
            try:
                self.graph.add_host(name, group, port)
                for key, value in variables.items():
                    self.graph.set_variable(name, key, value)
            except GraphError as exc:
                raise self._fail(str(exc), mark) from None


def _where(mapping: Mapping[Any, Any], key: Any) -> Mark:
    return mapping.where(key) if isinstance(mapping, LocatedDict) else (1, 1)


def _where_self(mapping: Mapping[Any, Any], default: Mark) -> Mark:
    return mapping.mark if isinstance(mapping, LocatedDict) else default
