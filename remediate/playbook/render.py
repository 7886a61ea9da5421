"""Per-host rendering of task arguments (Ansible's variable precedence) and `-e` parsing."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remediate.errors import InputError
from remediate.model import Host
from remediate.playbook.loader import Play, TaskCall
from remediate.playbook.yamlnodes import Location, MarkedMap, decode, load_yaml, plain, show
from remediate.secrets import Secret, is_secret_key, mask_assignments
from remediate.tasks.base import ArgumentError, Task, TaskRegistry
from remediate.templating import TemplateProblem, Variables, render


def host_variables(
    host: Host,
    play: Play,
    extra_vars: Mapping[str, Any] = {},  # noqa: B006 - read only
    groups: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Inventory vars < play vars < extra vars, then the magic variables Ansible reserves."""
    play_vars = {key: _maybe_secret(key, value) for key, value in play.vars.items()}
    merged: dict[str, Any] = {**host.vars, **play_vars, **extra_vars}
    merged["inventory_hostname"] = host.name
    merged["inventory_hostname_short"] = host.name.split(".", 1)[0]
    merged["group_names"] = sorted(group for group in host.groups if group != "all")
    merged["playbook_dir"] = _directory_of(play.location.path)
    merged["ansible_play_name"] = play.name
    if groups is not None:
        merged["groups"] = {name: list(members) for name, members in groups.items()}
    return merged


@functools.lru_cache(maxsize=64)
def _directory_of(path: str) -> str:
    return str(Path(path).resolve().parent)


def render_args(
    call: TaskCall,
    play: Play,
    host: Host,
    extra_vars: Mapping[str, Any] = {},  # noqa: B006 - read only
    groups: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The task's arguments rendered for one host; a template error names the arg's location."""
    variables = Variables(host_variables(host, play, extra_vars, groups))
    rendered: dict[str, Any] = {}
    for key, value in call.args.items():
        try:
            rendered[key] = render(value, variables)
        except TemplateProblem as exc:
            where = _location(call, key + exc.path)
            raise where.error(f"{host.name}: argument {show(key)}: {exc.message}") from None
        except RecursionError:
            raise _location(call, key).error(f"argument {show(key)} is nested too deeply") from None
    return rendered


def render_task(
    call: TaskCall,
    play: Play,
    host: Host,
    registry: TaskRegistry,
    extra_vars: Mapping[str, Any] = {},  # noqa: B006 - read only
    groups: Mapping[str, list[str]] | None = None,
) -> Task:
    """The task configured for one host; template or argument errors name the arg's location."""
    if registry.get(call.type_name) is None:
        raise call.location.error(f"unknown task type {show(call.type_name)}")
    return bind_task(call, host, registry, render_args(call, play, host, extra_vars, groups))


def bind_task(
    call: TaskCall, host: Host, registry: TaskRegistry, rendered: Mapping[str, Any]
) -> Task:
    """The task from arguments already rendered for `host`; errors name the arg's location."""
    task_type = registry.get(call.type_name)
    if task_type is None:
        raise call.location.error(f"unknown task type {show(call.type_name)}")
    try:
        return task_type.from_args(rendered)
    except ArgumentError as exc:
        where = _location(call, exc.key or "")
        raise where.error(f"{host.name}: {call.type_name}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise call.location.error(f"{host.name}: {call.type_name}: bad arguments: {exc}") from None


def render_hosts(play: Play, extra_vars: Mapping[str, Any] = {}) -> str:  # noqa: B006
    """The play's host pattern with templates rendered from play vars and extra vars."""
    variables = Variables({**play.vars, **extra_vars})
    try:
        pattern = render(play.hosts, variables)
    except TemplateProblem as exc:
        raise play.location.error(f"'hosts': {exc.message}") from None
    if isinstance(pattern, list):
        pattern = ",".join(str(item) for item in pattern)
    if isinstance(pattern, Secret) or not str(pattern).strip():
        raise play.location.error("'hosts' renders to an empty pattern")
    return str(pattern).strip()


def _location(call: TaskCall, path: str) -> Location:
    """The most precise recorded location for `path` ("key", "key.sub[2]"), else the task."""
    while path:
        if path in call.arg_locations:
            return call.arg_locations[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return call.location


def groups_from_inventory_json(listing: Mapping[str, Any]) -> dict[str, list[str]]:
    """The `groups` magic variable from `ansible-inventory --list` JSON: descendants' hosts too."""
    names = [name for name in listing if name != "_meta"]
    for name in list(names):
        # An empty group (often 'ungrouped') appears only as someone's child.
        names.extend(c for c in (listing.get(name) or {}).get("children", []) if c not in names)
    return {name: _group_hosts(listing, name) for name in names}


def _group_hosts(listing: Mapping[str, Any], name: str) -> list[str]:
    hosts: list[str] = []
    seen_groups = {name}
    queue = [name]
    while queue:
        entry = listing.get(queue.pop(0)) or {}
        for host in entry.get("hosts", []):
            if host not in hosts:
                hosts.append(host)
        for child in entry.get("children", []):
            if child not in seen_groups:
                seen_groups.add(child)
                queue.append(child)
    return hosts


def parse_extra_vars(items: Sequence[str]) -> dict[str, Any]:
    """`-e` values: KEY=VALUE pairs (several per item), a YAML/JSON mapping, or @file.yml."""
    result: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            values = _vars_file(item[1:])
        elif item.lstrip().startswith("{"):
            values = _vars_mapping(item)
        else:
            values = _key_values(item)
        result.update(values)
    return {key: _maybe_secret(key, value) for key, value in result.items()}


def _maybe_secret(key: str, value: Any) -> Any:
    """Secret-named variables (`*_password`, ...) given as text become Secret, as in
    inventory, at any depth (`creds: {password: ...}`)."""
    if isinstance(value, dict):
        return {k: _maybe_secret(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_maybe_secret(key, v) for v in value]
    if is_secret_key(key) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return Secret(str(value))
    return value


def _key_values(item: str) -> dict[str, str]:
    try:
        words = shlex.split(item)
    except ValueError as exc:
        raise InputError(f"{mask_assignments(show(item))}: {exc}", "-e") from None
    if not words:
        raise InputError("expected KEY=VALUE, a YAML mapping or @FILE, got nothing", "-e")
    values: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key.isidentifier():
            raise InputError(
                mask_assignments(f"expected KEY=VALUE with KEY a variable name, got {show(word)}"),
                "-e",
            )
        values[key] = value
    return values


def _vars_mapping(text: str) -> dict[str, Any]:
    return _checked_vars(load_yaml(text, "-e"), "-e")


def _vars_file(path: str) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: NUL in the path
        reason = getattr(exc, "strerror", None) or exc
        raise InputError(f"cannot read extra vars file: {reason}", path) from None
    return _checked_vars(load_yaml(decode(data, path), path), path)


def _checked_vars(document: Any, path: str) -> dict[str, Any]:
    if document is None:
        return {}
    if not isinstance(document, MarkedMap):
        where = getattr(document, "location", Location(path, 1, 1))
        raise where.error("extra vars must be a mapping of variable names to values")
    for key in document:
        if not isinstance(key, str) or not key.isidentifier():
            raise document.key_locations[key].error(f"{show(key)} is not a valid variable name")
    return {key: plain(value) for key, value in document.items()}
