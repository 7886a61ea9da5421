"""What `ansible-inventory --list`, `--graph` and `--host` print, with secrets masked."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from remediate.inventory.data import GroupNode, InventoryGraph
from remediate.inventory.yaml_format import Unsafe
from remediate.secrets import MASK, Secret, is_secret_key


def render_value(
    value: Any, show_secrets: bool, secret: bool = False, wrap_unsafe: bool = False
) -> Any:
    """A JSON value as ansible-inventory prints it; secret-named keys masked unless asked.

    `--list` shows `!unsafe` strings as {"__ansible_unsafe": ...}; `--host` shows them plain.
    """
    if secret and value is not None and not show_secrets:
        return MASK
    if isinstance(value, Secret):
        return value.reveal() if show_secrets else MASK
    if isinstance(value, Unsafe):
        return {"__ansible_unsafe": str(value)} if wrap_unsafe else str(value)
    if isinstance(value, Mapping):
        return {
            _json_key(k): render_value(
                v, show_secrets, isinstance(k, str) and is_secret_key(k), wrap_unsafe
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [render_value(v, show_secrets, False, wrap_unsafe) for v in value]
    return value


def _json_key(key: Any) -> str:
    """JSON object keys are strings; convert now so mixed key types can still be sorted."""
    return key if isinstance(key, str) else json.dumps(key)


def list_json(
    graph: InventoryGraph,
    hostvars: Mapping[str, Mapping[str, Any]],
    available: Collection[str],
    show_secrets: bool,
) -> dict[str, Any]:
    """`ansible-inventory --list`: groups with hosts/children, then `_meta.hostvars`."""
    allowed = frozenset(available)
    results: dict[str, Any] = {}
    seen: set[str] = set()
    _format_group(graph.groups["all"], allowed, seen, results)
    meta_hostvars = {
        name: render_value(hostvars[name], show_secrets, wrap_unsafe=True)
        for name in available
        if hostvars.get(name)
    }
    results["_meta"] = {"hostvars": meta_hostvars, "profile": "inventory_legacy"}
    return results


def _format_group(
    group: GroupNode, allowed: frozenset[str], seen: set[str], results: dict[str, Any]
) -> None:
    entry: dict[str, Any] = {}
    results[group.name] = entry
    if group.name != "all":
        entry["hosts"] = [h for h in group.hosts if h in allowed]
    entry["children"] = []
    for child in group.children:
        entry["children"].append(child.name)
        if child.name not in seen:
            _format_group(child, allowed, seen, results)
            seen.add(child.name)
    for key in ("hosts", "children"):
        if key in entry and not entry[key]:
            del entry[key]
    if not entry:
        del results[group.name]


def graph_text(graph: InventoryGraph, start: str, allowed: Collection[str] | None) -> str:
    """`ansible-inventory --graph [group]` (no trailing newline, as ansible returns it)."""
    return "\n".join(_graph_group(graph.groups[start], 0, allowed))


def _graph_group(group: GroupNode, depth: int, allowed: Collection[str] | None) -> list[str]:
    lines = [_graph_name(f"@{group.name}:", depth)]
    for child in group.children:
        lines.extend(_graph_group(child, depth + 1, allowed))
    if group.name != "all":
        lines.extend(
            _graph_name(host, depth + 1)
            for host in group.hosts
            if allowed is None or host in allowed
        )
    return lines


def _graph_name(name: str, depth: int) -> str:
    return "  |" * depth + f"--{name}" if depth else name
