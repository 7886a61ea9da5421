"""Checks and converters for each playbook key's value; errors point at the value."""

from __future__ import annotations

import contextlib
import difflib
import keyword
import re
from collections.abc import Sequence
from typing import Any

from remediate.playbook.yamlnodes import Location, MarkedList, MarkedMap, plain, show

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


def did_you_mean(suggestion: str | None) -> str:
    return f"; did you mean {show(suggestion)}?" if suggestion else ""


def one_of(what: str, names: Sequence[str]) -> str:
    return f"; {what} are: {', '.join(names)}" if names else ""


def kind(value: Any) -> str:
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


def expect_mapping(value: Any, where: Location, what: str) -> MarkedMap:
    if not isinstance(value, MarkedMap):
        raise where.error(f"{what} is a mapping, got {kind(value)}")
    return value


def check_keys(mapping: MarkedMap, allowed: Sequence[str], what: str) -> None:
    for key in mapping:
        if key in allowed:
            continue
        where = mapping.key_locations[key]
        if not isinstance(key, str):
            raise where.error(f"a {what} is a name, got {show(key)}")
        if key in ANSIBLE_ONLY_KEYS:
            raise where.error(ansible_only(key, "play"))
        hint = did_you_mean(closest_key(key, allowed)) or one_of(f"{what}s", allowed)
        raise where.error(f"unknown {what} {show(key)}{hint}")


def closest_key(key: str, allowed: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(key, allowed, n=1, cutoff=KEY_SUGGESTION_CUTOFF)
    return matches[0] if matches else None


def ansible_only(key: str, where: str) -> str:
    keys = PLAY_KEYS if where == "play" else TASK_KEYS
    return (
        f"{show(key)} is an Ansible {where} keyword that remediate does not support; "
        f"{where} keys are: {', '.join(keys)}"
    )


def name(mapping: MarkedMap, default: str) -> str:
    value = mapping.get("name")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise mapping.value_locations["name"].error(f"'name' must be text, got {kind(value)}")
    return str(value)


def hosts(value: Any, where: Location) -> str:
    """A host pattern; a list of patterns is joined with ',' as Ansible does."""
    items = list(value) if isinstance(value, MarkedList) else [value]
    patterns = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise where.error(f"'hosts' must be a pattern or a list of them, got {kind(item)}")
        patterns.append(str(item).strip())
    pattern = ",".join(p for p in patterns if p)
    if not pattern:
        raise where.error("'hosts' must not be empty")
    return pattern


def variables(mapping: MarkedMap) -> dict[str, Any]:
    value = mapping.get("vars")
    if value is None:
        return {}
    if not isinstance(value, MarkedMap):
        raise mapping.value_locations["vars"].error(f"'vars' must be a mapping, got {kind(value)}")
    for key in value:
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise value.key_locations[key].error(f"{show(key)} is not a valid variable name")
    return {key: plain(item) for key, item in value.items()}


def serial(mapping: MarkedMap) -> tuple[int | str, ...]:
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
    raise where.error(f"{expected}, got {kind(item)}")


def percentage(mapping: MarkedMap) -> float | None:
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
        raise where.error(f"{expected}, got {kind(value)}")
    return float(value)


def flag(mapping: MarkedMap, key: str) -> bool:
    value = mapping.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        where = mapping.value_locations[key]
        raise where.error(f"{show(key)} must be true or false, got {kind(value)}")
    return value


def tags(mapping: MarkedMap) -> tuple[str, ...]:
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
        raise where.error(f"'tags' must be a name or a list of names, got {kind(value)}")
    tags: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise where.error(f"a tag must be a name, got {kind(item)}")
        tag = str(item).strip()
        if not tag:
            raise where.error("a tag must not be empty")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)
