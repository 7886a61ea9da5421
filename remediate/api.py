"""The Python API: the same engine the CLI drives, with typed results and an event callback."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remediate.engine import core
from remediate.engine.core import Options
from remediate.engine.events import EventSink
from remediate.engine.hostwork import Connector
from remediate.engine.planfile import load_plan
from remediate.errors import InputError
from remediate.model import ChangeResult, HostPlan, HostResult, Plan, RunResult
from remediate.secrets import mask_dict
from remediate.tasks import TaskRegistry

PathLike = str | os.PathLike[str]


def _inventory(inventory: Any) -> Any:
    from remediate.inventory import Inventory

    if isinstance(inventory, Inventory):
        return inventory
    if isinstance(inventory, (str, os.PathLike)):
        return Inventory.load([str(inventory)])
    return Inventory.load([str(p) for p in inventory])


def _playbook(playbook: Any, registry: TaskRegistry | None) -> Any:
    from remediate.playbook import Playbook

    return playbook if isinstance(playbook, Playbook) else Playbook.load(playbook, registry)


def _options(**kwargs: Any) -> Options:
    """Options from API arguments, checked as the CLI checks its flags (InputError if bad)."""
    kwargs["extra_vars"] = dict(kwargs.get("extra_vars") or {})
    for key in ("tags", "skip_tags"):
        kwargs[key] = _words(key, kwargs.get(key))
    limit = kwargs.get("limit")
    if limit is not None and not isinstance(limit, str):
        raise InputError(f"limit must be a host pattern string, not {type(limit).__name__}")
    forks = kwargs.get("forks", 20)
    if isinstance(forks, bool) or not isinstance(forks, int) or forks < 1:
        raise InputError(f"forks must be a whole number of at least 1, not {forks!r}")
    deadline = kwargs.get("host_deadline")
    if deadline is not None and (not isinstance(deadline, (int, float)) or deadline <= 0):
        raise InputError(f"host_deadline must be a positive number of seconds, not {deadline!r}")
    return Options(**kwargs)


def _words(name: str, value: Any) -> tuple[str, ...]:
    """Tags as the CLI takes them: "a,b" or a list of such strings."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise InputError(f"{name} must be strings")
    return tuple(t.strip() for item in items for t in item.split(",") if t.strip())


def plan(
    playbook: Any,
    inventory: Any,
    *,
    limit: str | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    extra_vars: Mapping[str, Any] | None = None,
    forks: int = 20,
    on_event: EventSink | None = None,
    registry: TaskRegistry | None = None,
    connector: Connector | None = None,
    host_deadline: float | None = None,
) -> Plan:
    """Gather facts on every selected host and say what would change. Never writes."""
    options = _options(
        limit=limit,
        tags=tags,
        skip_tags=skip_tags,
        extra_vars=extra_vars,
        forks=forks,
        on_event=on_event,
        registry=registry,
        connector=connector,
        host_deadline=host_deadline,
    )
    return core.make_plan(_playbook(playbook, registry), _inventory(inventory), options)


def save_plan(the_plan: Plan, path: PathLike) -> None:
    """Write a plan for review (JSON, versioned, no secret)."""
    core.save_plan(the_plan, Path(path))


def apply(
    the_plan: Plan | PathLike,
    *,
    inventory: Any = None,
    forks: int = 20,
    runs_dir: PathLike | None = None,
    on_event: EventSink | None = None,
    registry: TaskRegistry | None = None,
    connector: Connector | None = None,
    host_deadline: float | None = None,
    arguments: Sequence[str] = (),
    extra_vars: Mapping[str, Any] | None = None,
) -> RunResult:
    """Apply exactly the reviewed changes; hosts that drifted since the plan are left alone.

    `extra_vars` supply connection variables again (a plan never stores secrets).
    """
    loaded = the_plan if isinstance(the_plan, Plan) else load_plan(the_plan)
    source = None if isinstance(the_plan, Plan) else str(the_plan)
    extra_vars = core.reuse_extra_vars(loaded.extra_vars, extra_vars or {}, source, "apply PLAN")
    inv = _inventory(inventory if inventory is not None else list(loaded.inventory))
    options = _options(
        forks=forks,
        runs_dir=_str(runs_dir),
        on_event=on_event,
        registry=registry,
        connector=connector,
        host_deadline=host_deadline,
        extra_vars=extra_vars,
    )
    meta = {
        "command": "apply",
        "arguments": list(arguments),
        "inventory": _absolute(inv.sources),
        "extra_vars": mask_dict(extra_vars),
    }
    try:
        run_id, results, aborted, reason = core.apply_saved(loaded, inv, options, meta)
    except InputError as exc:
        if source is None or exc.path is not None:
            raise
        raise InputError(exc.message, source) from None
    return RunResult(run_id, tuple(results), aborted, "apply", abort_reason=reason, plan=loaded)


def run(
    playbook: Any,
    inventory: Any,
    *,
    check: bool = False,
    limit: str | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    extra_vars: Mapping[str, Any] | None = None,
    forks: int = 20,
    runs_dir: PathLike | None = None,
    on_event: EventSink | None = None,
    registry: TaskRegistry | None = None,
    connector: Connector | None = None,
    host_deadline: float | None = None,
    arguments: Sequence[str] = (),
) -> RunResult:
    """Plan and apply in one go (`check=True`: only plan, report what would change)."""
    options = _options(
        limit=limit,
        tags=tags,
        skip_tags=skip_tags,
        extra_vars=extra_vars,
        forks=forks,
        runs_dir=_str(runs_dir),
        on_event=on_event,
        registry=registry,
        connector=connector,
        host_deadline=host_deadline,
    )
    book, inv = _playbook(playbook, registry), _inventory(inventory)
    if check:
        made = core.make_plan(book, inv, options)
        return RunResult(None, tuple(_as_check(hp) for hp in made.hosts), False, "check", plan=made)
    meta = {
        "command": "run",
        "arguments": list(arguments),
        "playbook": os.path.abspath(book.path),
        "inventory": _absolute(inv.sources),
        "extra_vars": mask_dict(options.extra_vars),
    }
    run_id, results, aborted, reason = core.run_playbook(book, inv, options, meta)
    return RunResult(run_id, tuple(results), aborted, "apply", abort_reason=reason)


def _as_check(hp: HostPlan) -> HostResult:
    """A planned host as a check run reports it: its changes pending."""
    status = hp.status if hp.failed else ("changed" if hp.changes else "ok")
    return HostResult(
        hp.host,
        status,
        tuple(ChangeResult(c, "pending") for c in hp.changes),
        hp.findings,
        hp.error,
        hp.round_trips,
    )


def rollback(
    run_id: str,
    *,
    limit: str | None = None,
    check: bool = False,
    runs_dir: PathLike | None = None,
    forks: int = 20,
    on_event: EventSink | None = None,
    registry: TaskRegistry | None = None,
    connector: Connector | None = None,
    arguments: Sequence[str] = (),
    inventory: str | Sequence[str] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
) -> RunResult:
    """Undo a run: reversible changes newest first, irreversible ones listed.

    `inventory` overrides the inventory the run used; `extra_vars` supply connection
    variables (secrets are never stored with a run, so give them again).
    """
    from remediate.engine.rollback import rollback_run

    options = _options(
        limit=limit,
        runs_dir=_str(runs_dir),
        forks=forks,
        on_event=on_event,
        registry=registry,
        connector=connector,
        extra_vars=extra_vars,
    )
    meta = {"command": "rollback", "arguments": list(arguments)}
    sources = (
        None
        if inventory is None
        else _absolute([inventory] if isinstance(inventory, str) else list(inventory))
    )
    new_id, results, irreversible = rollback_run(
        run_id, options, meta, check=check, inventory_sources=sources
    )
    return RunResult(
        new_id,
        tuple(results),
        False,
        "check" if check else "rollback",
        irreversible=tuple(irreversible),
    )


def _absolute(paths: Sequence[str]) -> list[str]:
    """Paths as recorded in plans and runs: absolute, so apply and rollback work from anywhere."""
    return [os.path.abspath(p) for p in paths]


def _str(value: PathLike | None) -> str | None:
    return None if value is None else str(value)


__all__ = ["apply", "plan", "rollback", "run", "save_plan"]
