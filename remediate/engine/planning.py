"""Planning: tasks turn gathered facts into fingerprinted Changes and Findings, without I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from remediate.engine.journal import canonical
from remediate.errors import HostFailed
from remediate.model import Change, Finding, Host, TaskRef
from remediate.secrets import mask_value
from remediate.tasks.base import Task


@attrs.frozen
class BoundTask:
    """A task configured for one host, with where it came from in the playbook."""

    ref: TaskRef
    task: Task


def fingerprint(bound: BoundTask, host: Host, facts: Mapping[str, Any]) -> str:
    """Hash of the task, its arguments and the facts view its plan depends on."""
    view = bound.task.relevant(host, facts)
    body = {"task": bound.ref.type_name, "args": mask_value(dict(bound.ref.args)), "view": view}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def plan_tasks(
    host: Host, tasks: Sequence[BoundTask], facts: Mapping[str, Any]
) -> tuple[list[Change], list[Finding]]:
    """Every task's Changes (fingerprinted, addresses unique) and Findings for one host."""
    changes: list[Change] = []
    findings: list[Finding] = []
    owners: dict[str, str] = {}
    for bound in tasks:
        print_ = fingerprint(bound, host, facts)
        for item in bound.task.plan(host, facts):
            if isinstance(item, Finding):
                findings.append(attrs.evolve(item, task=item.task or bound.ref.type_name))
                continue
            if item.address in owners:
                raise HostFailed(
                    f"{item.address} is changed by two tasks ({owners[item.address]} and "
                    f"{bound.ref.name}); a run may change a thing only once"
                )
            owners[item.address] = bound.ref.name
            changes.append(
                attrs.evolve(
                    item, fingerprint=print_, task=bound.ref.type_name, task_index=bound.ref.index
                )
            )
    return changes, findings


def views(host: Host, tasks: Sequence[BoundTask], facts: Mapping[str, Any]) -> dict[int, Any]:
    """Each task's view of the facts (what its fingerprint hashes), kept in the plan so that
    a stale host can be told what moved. Views hold no secret by the Task contract."""
    return {bound.ref.index: bound.task.relevant(host, facts) for bound in tasks}


def view_diff(old: Any, new: Any, path: str = "", limit: int = 5) -> list[str]:
    """Where two views differ, as `path: old -> new` lines (at most `limit`)."""
    out: list[str] = []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{here}: appeared ({show(new[key])})")
            elif key not in new:
                out.append(f"{here}: gone (was {show(old[key])})")
            else:
                out.extend(view_diff(old[key], new[key], here, limit - len(out)))
            if len(out) >= limit:
                break
    elif canonical(old) != canonical(new):
        out.append(f"{path or 'view'}: {show(old)} -> {show(new)}")
    return out[:limit]


def fingerprints(
    host: Host, tasks: Sequence[BoundTask], facts: Mapping[str, Any]
) -> dict[int, str]:
    return {bound.ref.index: fingerprint(bound, host, facts) for bound in tasks}


def describe_drift(reviewed: Sequence[Change], current: Sequence[Change]) -> list[str]:
    """Say, change by change, how the host moved since the plan was made."""
    now = {c.address: c for c in current}
    lines = []
    for change in reviewed:
        fresh = now.pop(change.address, None)
        if fresh is None:
            lines.append(
                f"{change.address}: no longer needs changing (planned {show(change.before)}"
                f" -> {show(change.after)})"
            )
        elif canonical(fresh.before) != canonical(change.before):
            lines.append(
                f"{change.address}: was {show(change.before)} when planned, "
                f"now {show(fresh.before)}"
            )
    lines.extend(
        f"{c.address}: new change not in the reviewed plan ({show(c.before)} -> {show(c.after)})"
        for c in now.values()
    )
    return lines or [NOTHING_VISIBLE]


NOTHING_VISIBLE = "facts this plan was computed from have changed"


def show(value: Any) -> str:
    """A before/after value as a reviewer reads it."""
    if value is None:
        return "(not set)"
    return canonical(mask_value(value))
