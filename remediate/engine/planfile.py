"""Saved plans: a versioned JSON file (after Terraform's resource_changes) that holds no secret."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from remediate.engine.journal import canonical
from remediate.errors import InputError
from remediate.model import ACTIONS, Change, Finding, HostPlan, Plan, TaskRef
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
                "views": {str(index): view for index, view in hp.views.items()},
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


def seal(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its `plan_digest`: a hash of everything else in it, so an edit made
    after review is noticed when the plan is loaded, before any host is contacted."""
    # Hashed as it will be read back: JSON turns every key into a string.
    body = json.loads(json.dumps({k: v for k, v in document.items() if k != "plan_digest"}))
    return {**body, "plan_digest": _digest(body)}


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def write_plan(path: str | os.PathLike[str], document: Mapping[str, Any]) -> None:
    text = json.dumps(seal(document), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
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
    stored = doc.pop("plan_digest", None)
    if stored != _digest(doc):
        raise InputError(
            "the plan was changed after it was made (its plan_digest does not "
            "match); make the plan again",
            name,
        )
    plays = tuple(_read_play(r, p, i) for i, p in enumerate(r.get(doc, "plays", list, "")))
    changes_by_host = _read_changes(r, r.get(doc, "resource_changes", list, ""))
    indexes = {int(p["index"]) for p in plays}
    hosts = tuple(
        _read_host(r, body, i, changes_by_host, indexes)
        for i, body in enumerate(r.get(doc, "hosts", list, ""))
    )
    if changes_by_host:
        host, play = next(iter(changes_by_host))
        raise r.fail(
            "resource_changes",
            f"changes for host {host} (play {play}) that the plan's hosts do not list",
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
        plays=plays,
    )
    return plan


def _read_changes(r: _Reader, items: list[Any]) -> dict[tuple[str, int], list[Change]]:
    out: dict[tuple[str, int], list[Change]] = {}
    seen: set[tuple[str, int, str]] = set()
    for i, body in enumerate(items):
        where = f"resource_changes[{i}]"
        host = r.get(body, "host", str, where)
        play = r.get(body, "play", int, where)
        address = r.get(body, "address", str, where)
        action = r.get(body, "action", str, where)
        if action not in ACTIONS:
            raise r.fail(f"{where}.action", f"must be one of {', '.join(ACTIONS)}, not {action!r}")
        if (host, play, address) in seen:
            raise r.fail(where, f"{address} appears twice for host {host}")
        seen.add((host, play, address))
        change = Change(
            address=address,
            action=action,
            before=body.get("before"),
            after=body.get("after"),
            reason=r.get(body, "reason", str, where),
            reversible=r.get(body, "reversible", bool, where),
            fingerprint=r.get(body, "fingerprint", str, where),
            task=r.get(body, "task", str, where),
            data=r.get(body, "data", dict, where),
            task_index=r.get(body, "task_index", int, where),
        )
        out.setdefault((host, play), []).append(change)
    return out


HOST_STATUSES = ("planned", "unreachable", "failed")


def _read_host(
    r: _Reader, body: Any, i: int, changes: dict[tuple[str, int], list[Change]], plays: set[int]
) -> HostPlan:
    where = f"hosts[{i}]"
    host = r.get(body, "host", str, where)
    play = r.get(body, "play", int, where)
    if play not in plays:
        raise r.fail(f"{where}.play", f"play {play} is not among the plan's plays")
    status = r.get(body, "status", str, where)
    if status not in HOST_STATUSES:
        raise r.fail(f"{where}.status", f"must be one of {', '.join(HOST_STATUSES)}")
    tasks = tuple(
        _read_task(r, t, play, f"{where}.tasks[{j}]")
        for j, t in enumerate(r.get(body, "tasks", list, where))
    )
    own = changes.pop((host, play), [])
    known = {t.index for t in tasks}
    for change in own:
        if change.task_index not in known:
            raise r.fail(
                where,
                f"change {change.address} names task #{change.task_index}, "
                "which this host does not run",
            )
    if own and status != "planned":
        raise r.fail(f"{where}.status", f"is {status!r} but the host has changes")
    error = body.get("error")
    if error is not None and not isinstance(error, str):
        raise r.fail(f"{where}.error", "expected a string or null")
    return HostPlan(
        host=host,
        play=play,
        status=status,
        error=error,
        changes=tuple(own),
        findings=tuple(
            _read_finding(r, f, f"{where}.findings[{j}]")
            for j, f in enumerate(r.get(body, "findings", list, where))
        ),
        tasks=tasks,
        round_trips=r.get(body, "round_trips", int, where),
        views=_read_views(r, body.get("views") or {}, f"{where}.views"),
    )


def _read_views(r: _Reader, body: Any, where: str) -> dict[int, Any]:
    """Each task's facts view (optional: only used to say what moved)."""
    if not isinstance(body, dict) or not all(k.isdigit() for k in body):
        raise r.fail(where, "expected an object keyed by task index")
    return {int(k): v for k, v in body.items()}


def _read_task(r: _Reader, body: Any, play: int, where: str) -> TaskRef:
    return TaskRef(
        play=play,
        index=r.get(body, "index", int, where),
        type_name=r.get(body, "type", str, where),
        name=r.get(body, "name", str, where),
        args=r.get(body, "args", dict, where),
    )


def _read_finding(r: _Reader, body: Any, where: str) -> Finding:
    evidence = r.get(body, "evidence", list, where)
    if not all(isinstance(line, str) for line in evidence):
        raise r.fail(f"{where}.evidence", "expected a list of strings")
    return Finding(
        address=r.get(body, "address", str, where),
        message=r.get(body, "message", str, where),
        severity=r.get(body, "severity", str, where),
        task=r.get(body, "task", str, where),
        evidence=tuple(evidence),
    )


def _read_play(r: _Reader, body: Any, i: int) -> dict[str, Any]:
    where = f"plays[{i}]"
    index = r.get(body, "index", int, where)
    serial = r.get(body, "serial", list, where)
    for j, size in enumerate(serial):
        if not _valid_batch(size):
            raise r.fail(f"{where}.serial[{j}]", 'expected a whole number >= 1 or "N%"')
    fail = body.get("max_fail_percentage")
    if fail is not None and (
        isinstance(fail, bool) or not isinstance(fail, (int, float)) or not 0 <= fail <= 100
    ):
        raise r.fail(f"{where}.max_fail_percentage", "expected a number from 0 to 100, or null")
    return {
        "index": index,
        "name": r.get(body, "name", str, where),
        "serial": serial,
        "max_fail_percentage": fail,
        "any_errors_fatal": r.get(body, "any_errors_fatal", bool, where),
    }


def _valid_batch(size: Any) -> bool:
    if isinstance(size, bool):
        return False
    if isinstance(size, int):
        return size >= 1
    if isinstance(size, str) and size.endswith("%"):
        try:
            return 0 < float(size[:-1]) <= 100
        except ValueError:
            return False
    return False
