"""Saved plans: a versioned JSON file (after Terraform's resource_changes) that holds no secret."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from remediate.errors import InputError
from remediate.model import Change, Finding, HostPlan, Plan, TaskRef
from remediate.secrets import Secret, mask_value

FORMAT_VERSION = 1
FORMAT_NAME = "remediate-plan"


def _has_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_secret(v) for v in value)
    return False


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON document."""
    hosts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for hp in plan.hosts:
        hosts.append(
            {
                "host": hp.host,
                "play": hp.play,
                "status": hp.status,
                "error": hp.error,
                "round_trips": hp.round_trips,
                "tasks": [
                    {
                        "index": t.index,
                        "type": t.type_name,
                        "name": t.name,
                        "args": mask_value(dict(t.args)),
                    }
                    for t in hp.tasks
                ],
                "findings": [attrs.asdict(f) for f in hp.findings],
            }
        )
        changes.extend({"host": hp.host, "play": hp.play, **_change_json(c)} for c in hp.changes)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": plan.created,
        "playbook": plan.playbook,
        "playbook_digest": plan.playbook_digest,
        "inventory": list(plan.inventory),
        "inventory_digest": plan.inventory_digest,
        "limit": plan.limit,
        "tags": list(plan.tags),
        "skip_tags": list(plan.skip_tags),
        "extra_vars": mask_value(dict(plan.extra_vars)),
        "plays": [dict(p) for p in plan.plays],
        "hosts": hosts,
        "resource_changes": changes,
    }


def _change_json(change: Change) -> dict[str, Any]:
    body = attrs.asdict(change)
    return {"address": body.pop("address"), "action": body.pop("action"), **body}


def secret_arguments(plan: Plan) -> list[str]:
    return [
        f"{hp.host}: task {t.name!r}" for hp in plan.hosts for t in hp.tasks if _has_secret(t.args)
    ]


def write_plan(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    text = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


class _Reader:
    """Walks a loaded plan document, raising one precise InputError for the first problem."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{where}: {message}" if where else message, self.path)

    def get(self, body: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(body, dict):
            raise self.fail(where, "expected an object")
        if key not in body:
            raise self.fail(where, f"missing key {key!r}")
        value = body[key]
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{key}" if where else key, f"expected {_kind_name(kind)}")
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "a number",
        list: "a list",
        dict: "an object",
        bool: "true or false",
        type(None): "null",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a saved plan; every problem is an InputError naming the file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read plan: {exc}", name) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a JSON plan: {exc.msg}", name, exc.lineno, exc.colno) from exc
    r = _Reader(name)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise InputError('not a remediate plan (no "format": "remediate-plan")', name)
    version = r.get(doc, "format_version", int, "")
    if version != FORMAT_VERSION:
        raise InputError(
            f"plan format version {version} is not supported (this remediate "
            f"reads version {FORMAT_VERSION}); make the plan again",
            name,
        )
    plays = r.get(doc, "plays", list, "")
    changes_by_host = _read_changes(r, r.get(doc, "resource_changes", list, ""))
    hosts = tuple(
        _read_host(r, body, i, changes_by_host)
        for i, body in enumerate(r.get(doc, "hosts", list, ""))
    )
    plan = Plan(
        hosts=hosts,
        playbook=r.get(doc, "playbook", str, ""),
        inventory=tuple(r.get(doc, "inventory", list, "")),
        playbook_digest=r.get(doc, "playbook_digest", str, ""),
        inventory_digest=r.get(doc, "inventory_digest", str, ""),
        created=r.get(doc, "created", str, ""),
        limit=doc.get("limit"),
        tags=tuple(doc.get("tags") or ()),
        skip_tags=tuple(doc.get("skip_tags") or ()),
        extra_vars=doc.get("extra_vars") or {},
        plays=tuple(_read_play(r, p, i) for i, p in enumerate(plays)),
    )
    return plan


def _read_changes(r: _Reader, items: list[Any]) -> dict[tuple[str, int], list[Change]]:
    out: dict[tuple[str, int], list[Change]] = {}
    for i, body in enumerate(items):
        where = f"resource_changes[{i}]"
        host = r.get(body, "host", str, where)
        play = r.get(body, "play", int, where)
        try:
            change = Change(
                address=r.get(body, "address", str, where),
                action=r.get(body, "action", str, where),
                before=body.get("before"),
                after=body.get("after"),
                reason=r.get(body, "reason", str, where),
                reversible=r.get(body, "reversible", bool, where),
                fingerprint=r.get(body, "fingerprint", str, where),
                task=r.get(body, "task", str, where),
                data=r.get(body, "data", dict, where),
                task_index=r.get(body, "task_index", int, where),
            )
        except ValueError as exc:
            raise r.fail(where, str(exc)) from exc
        out.setdefault((host, play), []).append(change)
    return out


def _read_host(
    r: _Reader, body: Any, i: int, changes: dict[tuple[str, int], list[Change]]
) -> HostPlan:
    where = f"hosts[{i}]"
    host = r.get(body, "host", str, where)
    play = r.get(body, "play", int, where)
    tasks = tuple(
        TaskRef(
            play=play,
            index=r.get(t, "index", int, f"{where}.tasks[{j}]"),
            type_name=r.get(t, "type", str, f"{where}.tasks[{j}]"),
            name=r.get(t, "name", str, f"{where}.tasks[{j}]"),
            args=r.get(t, "args", dict, f"{where}.tasks[{j}]"),
        )
        for j, t in enumerate(r.get(body, "tasks", list, where))
    )
    findings = tuple(
        Finding(
            address=str(f.get("address", "")),
            message=str(f.get("message", "")),
            severity=str(f.get("severity", "warning")),
            task=str(f.get("task", "")),
            evidence=tuple(f.get("evidence") or ()),
        )
        for f in r.get(body, "findings", list, where)
        if isinstance(f, dict)
    )
    return HostPlan(
        host=host,
        play=play,
        status=r.get(body, "status", str, where),
        error=body.get("error"),
        changes=tuple(changes.get((host, play), [])),
        findings=findings,
        tasks=tasks,
        round_trips=int(body.get("round_trips") or 0),
    )


def _read_play(r: _Reader, body: Any, i: int) -> dict[str, Any]:
    where = f"plays[{i}]"
    index = r.get(body, "index", int, where)
    serial = r.get(body, "serial", list, where)
    fail = body.get("max_fail_percentage")
    if fail is not None and not isinstance(fail, (int, float)):
        raise r.fail(f"{where}.max_fail_percentage", "expected a number or null")
    return {
        "index": index,
        "name": str(body.get("name", "")),
        "serial": serial,
        "max_fail_percentage": fail,
        "any_errors_fatal": bool(body.get("any_errors_fatal")),
    }
