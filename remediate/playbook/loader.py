"""Playbook files -> validated Play and TaskCall values whose errors carry file:line:col."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from remediate.errors import InputError
from remediate.playbook import fields
from remediate.playbook.fields import PLAY_KEYS, TASK_KEYS
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
        except (OSError, ValueError) as exc:  # ValueError: NUL in the path
            raise InputError(
                f"cannot read playbook: {getattr(exc, 'strerror', None) or exc}", path_text
            ) from None
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
            raise where.error(f"a playbook is a list of plays, got {fields.kind(document)}{hint}")
        return tuple(
            self.play(item, where)
            for item, where in zip(document, document.item_locations, strict=True)
        )

    def play(self, item: Any, where: Location) -> Play:
        mapping = fields.expect_mapping(item, where, "a play")
        fields.check_keys(mapping, PLAY_KEYS, "play key")
        if "hosts" not in mapping:
            raise mapping.location.error("play has no 'hosts'")
        hosts = fields.hosts(mapping["hosts"], mapping.value_locations["hosts"])
        return Play(
            name=fields.name(mapping, default=hosts),
            hosts=hosts,
            vars=fields.variables(mapping),
            serial=fields.serial(mapping),
            max_fail_percentage=fields.percentage(mapping),
            any_errors_fatal=fields.flag(mapping, "any_errors_fatal"),
            tags=fields.tags(mapping),
            tasks=self.tasks(mapping),
            location=mapping.location,
        )

    def tasks(self, play: MarkedMap) -> tuple[TaskCall, ...]:
        value = play.get("tasks")
        if value is None:
            return ()
        if not isinstance(value, MarkedList):
            where = play.value_locations["tasks"]
            raise where.error(f"'tasks' must be a list of tasks, got {fields.kind(value)}")
        pairs = zip(value, value.item_locations, strict=True)
        return tuple(self.task(item, where) for item, where in pairs)

    def task(self, item: Any, where: Location) -> TaskCall:
        mapping = fields.expect_mapping(item, where, "a task")
        type_name = self._type_name(mapping)
        args, arg_locations = self._arguments(mapping, type_name)
        return TaskCall(
            name=fields.name(mapping, default=type_name),
            type_name=type_name,
            args=args,
            tags=fields.tags(mapping),
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
        if key in fields.ANSIBLE_ONLY_KEYS:
            return where.error(fields.ansible_only(key, "task"))
        suggestion = closest_word(key, [*self.registry.names(), *TASK_KEYS])
        if typed and suggestion not in TASK_KEYS:
            hint = fields.did_you_mean(suggestion) or fields.one_of(
                "task types", self.registry.names()
            )
            return where.error(f"unknown task type {show(key)}{hint}")
        hint = fields.did_you_mean(suggestion) or fields.one_of("task keys", TASK_KEYS)
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
                f"the arguments of {show(type_name)} must be a mapping, got {fields.kind(value)}"
            )
        allowed = sorted(task_type.argument_names)
        for key in value:
            if key not in allowed:
                hint = fields.did_you_mean(closest_word(str(key), allowed)) or fields.one_of(
                    "its arguments", allowed
                )
                raise value.key_locations[key].error(
                    f"unknown argument {show(key)} for {show(type_name)}{hint}"
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
