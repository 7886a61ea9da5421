"""Playbook files -> validated Play and TaskCall values whose errors carry file:line:col."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import keyword
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from remediate.errors import InputError
from remediate.playbook.yamlnodes import (
    Location,
    MarkedList,
    MarkedMap,
    decode,
    load_yaml,
    plain,
    show,
)
from remediate.tasks.base import TaskRegistry, closest_word

PLAY_KEYS = (
    "name",
    "hosts",
    "vars",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "tags",
    "tasks",
)
TASK_KEYS = ("name", "tags")
# Ansible keywords people will bring along; named as such instead of "did you mean".
ANSIBLE_ONLY_KEYS = frozenset(
    {
        "become",
        "become_user",
        "check_mode",
        "collections",
        "connection",
        "environment",
        "gather_facts",
        "handlers",
        "ignore_errors",
        "ignore_unreachable",
        "import_playbook",
        "loop",
        "no_log",
        "notify",
        "order",
        "post_tasks",
        "pre_tasks",
        "register",
        "remote_user",
        "roles",
        "run_once",
        "strategy",
        "vars_files",
        "when",
        "with_items",
    }
)
KEY_SUGGESTION_CUTOFF = 0.7
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@attrs.frozen
class TaskCall:
    """One task as written in the playbook: its type, raw (unrendered) arguments, tags."""

    name: str
    type_name: str
    args: Mapping[str, Any]
    tags: tuple[str, ...]
    location: Location
    arg_locations: Mapping[str, Location]


@attrs.frozen
class Play:
    """One play: which hosts, in which batches, with which variables, running which tasks."""

    name: str
    hosts: str
    vars: Mapping[str, Any]
    serial: tuple[int | str, ...]
    max_fail_percentage: float | None
    any_errors_fatal: bool
    tags: tuple[str, ...]
    tasks: tuple[TaskCall, ...]
    location: Location


@attrs.frozen
class Playbook:
    """A loaded, validated playbook file."""

    path: str
    plays: tuple[Play, ...]
    sha256: str = attrs.field(repr=False)

    @classmethod
    def load(cls, path: str | Path, registry: TaskRegistry | None = None) -> Playbook:
        """Read and validate a playbook; any problem raises InputError at its file:line:col."""
        if registry is None:
            from remediate.tasks import default_registry

            registry = default_registry()
        path_text = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read playbook: {exc.strerror or exc}", path_text) from None
        return cls.from_bytes(data, path_text, registry)

    @classmethod
    def from_bytes(cls, data: bytes, path: str, registry: TaskRegistry) -> Playbook:
        """Validate playbook text already read from `path` (which is only used in messages)."""
        document = load_yaml(decode(data, path), path)
        plays = _Reader(path, registry).plays(document)
        return cls(path=path, plays=plays, sha256=hashlib.sha256(data).hexdigest())

    def digest(self) -> str:
        """The sha256 hex digest of the file's bytes, recorded in plans."""
        return self.sha256


@attrs.frozen
class _Reader:
    """Validates the loaded YAML structure play by play, task by task."""

    path: str
    registry: TaskRegistry

    def plays(self, document: Any) -> tuple[Play, ...]:
        if document is None:
            raise InputError("playbook is empty: expected a list of plays", self.path, 1, 1)
        if not isinstance(document, MarkedList):
            hint = ""
            if isinstance(document, MarkedMap) and "hosts" in document:
                hint = " (start the play with '- ')"
            where = getattr(document, "location", Location(self.path, 1, 1))
            raise where.error(f"a playbook is a list of plays, got {_kind(document)}{hint}")
        return tuple(
            self.play(item, where)
            for item, where in zip(document, document.item_locations, strict=True)
        )

    def play(self, item: Any, where: Location) -> Play:
        mapping = _expect_mapping(item, where, "a play")
        _check_keys(mapping, PLAY_KEYS, "play key")
        if "hosts" not in mapping:
            raise mapping.location.error("play has no 'hosts'")
        hosts = _hosts(mapping["hosts"], mapping.value_locations["hosts"])
        return Play(
            name=_name(mapping, default=hosts),
            hosts=hosts,
            vars=_variables(mapping),
            serial=_serial(mapping),
            max_fail_percentage=_percentage(mapping),
            any_errors_fatal=_flag(mapping, "any_errors_fatal"),
            tags=_tags(mapping),
            tasks=self.tasks(mapping),
            location=mapping.location,
        )

    def tasks(self, play: MarkedMap) -> tuple[TaskCall, ...]:
        value = play.get("tasks")
        if value is None:
            return ()
        if not isinstance(value, MarkedList):
            where = play.value_locations["tasks"]
            raise where.error(f"'tasks' must be a list of tasks, got {_kind(value)}")
        pairs = zip(value, value.item_locations, strict=True)
        return tuple(self.task(item, where) for item, where in pairs)

    def task(self, item: Any, where: Location) -> TaskCall:
        mapping = _expect_mapping(item, where, "a task")
        type_name = self._type_name(mapping)
        args, arg_locations = self._arguments(mapping, type_name)
        return TaskCall(
            name=_name(mapping, default=type_name),
            type_name=type_name,
            args=args,
            tags=_tags(mapping),
            location=mapping.location,
            arg_locations=arg_locations,
        )

    def _type_name(self, task: MarkedMap) -> str:
        """The one key that is neither `name` nor `tags`, which must be a known task type."""
        others = [key for key in task if key not in TASK_KEYS]
        for key in others:
            if not isinstance(key, str):
                raise task.key_locations[key].error(f"a task key is a name, got {show(key)}")
        known = [key for key in others if self.registry.get(key) is not None]
        unknown = [key for key in others if key not in known]
        if len(known) > 1:
            where = task.key_locations[known[1]]
            raise where.error(
                f"a task has exactly one task type, got {show(known[0])} and {show(known[1])}"
            )
        if unknown:
            raise self._unknown_key(task, unknown[0], typed=not known)
        if not known:
            choices = ", ".join(self.registry.names()) or "(none registered)"
            raise task.location.error(f"task has no task type; one of: {choices}")
        return str(known[0])

    def _unknown_key(self, task: MarkedMap, key: str, typed: bool) -> InputError:
        where = task.key_locations[key]
        if key in ANSIBLE_ONLY_KEYS:
            return where.error(_ansible_only(key, "task"))
        suggestion = closest_word(key, [*self.registry.names(), *TASK_KEYS])
        if typed and suggestion not in TASK_KEYS:
            hint = _did_you_mean(suggestion) or _one_of("task types", self.registry.names())
            return where.error(f"unknown task type {show(key)}{hint}")
        hint = _did_you_mean(suggestion) or _one_of("task keys", TASK_KEYS)
        return where.error(f"unknown task key {show(key)}{hint}")

    def _arguments(
        self, task: MarkedMap, type_name: str
    ) -> tuple[dict[str, Any], dict[str, Location]]:
        task_type = self.registry.get(type_name)
        assert task_type is not None
        value = task[type_name]
        if value is None:
            return {}, {}
        if not isinstance(value, MarkedMap):
            where = task.value_locations[type_name]
            raise where.error(
                f"the arguments of {show(type_name)} must be a mapping, got {_kind(value)}"
            )
        allowed = sorted(task_type.argument_names)
        for key in value:
            if key not in allowed:
                raise value.key_locations[key].error(
                    f"unknown argument {show(key)} for {show(type_name)}"
                    f"{_did_you_mean(closest_word(str(key), allowed))}"
                )
        locations: dict[str, Location] = {}
        for key in value:
            _collect_locations(key, value[key], value.value_locations[key], locations)
        return {key: plain(item) for key, item in value.items()}, locations


def _collect_locations(path: str, value: Any, where: Location, into: dict[str, Location]) -> None:
    """Record where each argument and each item inside it starts: `key`, `key.sub`, `key[0]`."""
    into[path] = where
    if isinstance(value, MarkedMap):
        for key in value:
            _collect_locations(f"{path}.{key}", value[key], value.value_locations[key], into)
    elif isinstance(value, MarkedList):
        for index, (item, item_where) in enumerate(zip(value, value.item_locations, strict=True)):
            _collect_locations(f"{path}[{index}]", item, item_where, into)


def _did_you_mean(suggestion: str | None) -> str:
    return f"; did you mean {show(suggestion)}?" if suggestion else ""


def _one_of(what: str, names: Sequence[str]) -> str:
    return f"; {what} are: {', '.join(names)}" if names else ""


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, str):
        return f"the text {show(value)}"
    return f"{type(value).__name__} {show(value)}"


def _expect_mapping(value: Any, where: Location, what: str) -> MarkedMap:
    if not isinstance(value, MarkedMap):
        raise where.error(f"{what} is a mapping, got {_kind(value)}")
    return value


def _check_keys(mapping: MarkedMap, allowed: Sequence[str], what: str) -> None:
    for key in mapping:
        if key in allowed:
            continue
        where = mapping.key_locations[key]
        if not isinstance(key, str):
            raise where.error(f"a {what} is a name, got {show(key)}")
        if key in ANSIBLE_ONLY_KEYS:
            raise where.error(_ansible_only(key, "play"))
        hint = _did_you_mean(_closest_key(key, allowed)) or _one_of(f"{what}s", allowed)
        raise where.error(f"unknown {what} {show(key)}{hint}")


def _closest_key(key: str, allowed: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(key, allowed, n=1, cutoff=KEY_SUGGESTION_CUTOFF)
    return matches[0] if matches else None


def _ansible_only(key: str, where: str) -> str:
    keys = PLAY_KEYS if where == "play" else TASK_KEYS
    return (
        f"{show(key)} is an Ansible {where} keyword that remediate does not support; "
        f"{where} keys are: {', '.join(keys)}"
    )


def _name(mapping: MarkedMap, default: str) -> str:
    value = mapping.get("name")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise mapping.value_locations["name"].error(f"'name' must be text, got {_kind(value)}")
    return str(value)


def _hosts(value: Any, where: Location) -> str:
    """A host pattern; a list of patterns is joined with ',' as Ansible does."""
    items = list(value) if isinstance(value, MarkedList) else [value]
    patterns = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise where.error(f"'hosts' must be a pattern or a list of them, got {_kind(item)}")
        patterns.append(str(item).strip())
    pattern = ",".join(p for p in patterns if p)
    if not pattern:
        raise where.error("'hosts' must not be empty")
    return pattern


def _variables(mapping: MarkedMap) -> dict[str, Any]:
    value = mapping.get("vars")
    if value is None:
        return {}
    if not isinstance(value, MarkedMap):
        raise mapping.value_locations["vars"].error(f"'vars' must be a mapping, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise value.key_locations[key].error(f"{show(key)} is not a valid variable name")
    return {key: plain(item) for key, item in value.items()}


def _serial(mapping: MarkedMap) -> tuple[int | str, ...]:
    """`serial`: a batch size, a percentage like '30%', or a list of them (Ansible's forms)."""
    value = mapping.get("serial")
    if value is None:
        return ()
    where = mapping.value_locations["serial"]
    items = list(value) if isinstance(value, MarkedList) else [value]
    if isinstance(value, MarkedList) and not items:
        raise where.error("'serial' must not be an empty list")
    return tuple(_batch_size(item, where) for item in items)


def _batch_size(item: Any, where: Location) -> int | str:
    expected = "'serial' takes a positive integer, a percentage like '30%' or a list of them"
    if isinstance(item, str) and item.strip().isdigit():
        item = int(item.strip())
    if isinstance(item, int) and not isinstance(item, bool):
        if item < 1:
            raise where.error(f"{expected}, got {show(item)}")
        return item
    if isinstance(item, str):
        match = _PERCENT.match(item)
        if match and 0 < float(match.group(1)) <= 100:
            return f"{match.group(1)}%"
    raise where.error(f"{expected}, got {_kind(item)}")


def _percentage(mapping: MarkedMap) -> float | None:
    value = mapping.get("max_fail_percentage")
    if value is None:
        return None
    where = mapping.value_locations["max_fail_percentage"]
    if isinstance(value, str):
        text = value.strip().removesuffix("%")
        with contextlib.suppress(ValueError):
            value = float(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        expected = "'max_fail_percentage' must be a number from 0 to 100"
        raise where.error(f"{expected}, got {_kind(value)}")
    return float(value)


def _flag(mapping: MarkedMap, key: str) -> bool:
    value = mapping.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        where = mapping.value_locations[key]
        raise where.error(f"{show(key)} must be true or false, got {_kind(value)}")
    return value


def _tags(mapping: MarkedMap) -> tuple[str, ...]:
    """Tags as Ansible reads them: a list, or a comma-separated string."""
    value = mapping.get("tags")
    if value is None:
        return ()
    where = mapping.value_locations["tags"]
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, MarkedList):
        items = list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise where.error(f"'tags' must be a name or a list of names, got {_kind(value)}")
    tags: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise where.error(f"a tag must be a name, got {_kind(item)}")
        tag = str(item).strip()
        if not tag:
            raise where.error("a tag must not be empty")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)
