"""Rollback: a run's journal replayed in reverse as "ensure before", itself journaled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from remediate.engine import hostwork
from remediate.engine.core import (
    Options,
    _finish_run,
    _inventory_host,
    _locked,
    _Run,
    _start_run,
    check_limit,
    create_task,
    reuse_extra_vars,
)
from remediate.engine.hostwork import Target
from remediate.engine.journal import Record
from remediate.engine.planning import BoundTask, plan_tasks, show
from remediate.engine.runner import FleetPolicy, run_fleet
from remediate.engine.runs import RunInfo, Runs
from remediate.engine.writes import write_changes
from remediate.errors import InputError, JournalCorrupt
from remediate.model import Change, ChangeResult, HostResult, TaskRef
from remediate.tasks.base import ObservedChanges


@attrs.frozen
class Entry:
    """One change of the original run as its journal tells it."""

    change: Change
    task: Mapping[str, Any]
    intent_seq: int
    outcome: str | None  # "applied" | "failed" | "unknown" | None (crashed in flight)
    superseded_by: str | None = None  # a later run that changed the same thing


def journal_entries(records: Sequence[Record]) -> dict[str, list[Entry]]:
    """Per host, the changes that were attempted, in the order they were attempted."""
    intents: dict[tuple[str, str], Record] = {}
    outcomes: dict[tuple[str, str], str | None] = {}
    for record in records:
        key = (record.host, record.address)
        if record.phase == "intent":
            intents[key] = record
        else:
            outcomes[key] = record.status
    per_host: dict[str, list[Entry]] = {}
    for key, intent in sorted(intents.items(), key=lambda kv: kv[1].seq):
        change = Change(**{k: v for k, v in intent.change.items() if k in _CHANGE_FIELDS})
        per_host.setdefault(intent.host, []).append(
            Entry(change, intent.task, intent.seq, outcomes.get(key))
        )
    return per_host


_CHANGE_FIELDS = {f.name for f in attrs.fields(Change)}


def already_reverted(runs: Runs, run_id: str) -> set[tuple[str, str]]:
    """(host, address) pairs an earlier rollback of this run already settled."""
    done: set[tuple[str, str]] = set()
    for info in runs.list():
        if info.meta.get("rollback_of") != run_id:
            continue
        for record in info.journal():
            if record.phase == "outcome" and record.status in ("reverted", "not-applied"):
                done.add((record.host, record.address))
    return done


def plan_rollback(runs: Runs, info: RunInfo, hosts: set[str] | None) -> dict[str, list[Entry]]:
    if info.kind == "rollback":
        raise InputError(
            f"run {info.run_id} is itself a rollback; apply the playbook again to redo its changes"
        )
    done = already_reverted(runs, info.run_id)
    later = changed_later(runs, info.run_id)
    todo: dict[str, list[Entry]] = {}
    for host, entries in journal_entries(info.journal()).items():
        if hosts is not None and host not in hosts:
            continue
        left = [
            e
            for e in entries
            if (host, e.change.address) not in done and e.outcome not in ("not-applied",)
        ]
        if left:
            todo[host] = [
                attrs.evolve(e, superseded_by=later.get((host, e.change.address)))
                for e in reversed(left)
            ]
    return todo


def changed_later(runs: Runs, run_id: str) -> dict[tuple[str, str], str]:
    """(host, address) -> the newest later apply run that wrote there too."""
    found: dict[tuple[str, str], str] = {}
    for info in runs.list():
        if info.run_id <= run_id or info.kind != "apply" or "damaged" in info.meta:
            continue
        try:
            records = info.journal()
        except JournalCorrupt:
            continue
        for record in records:
            if record.phase == "intent":
                found[(record.host, record.address)] = info.run_id
    return found


def _targets(
    inventory: Any, host: str, entries: Sequence[Entry], options: Options
) -> list[tuple[Target, list[Entry]]]:
    """The host's entries in groups of one play each (newest first), with that play's tasks."""
    found = _inventory_host(
        inventory, host, "give -i an inventory that has it, or leave it out with -l '!" + host + "'"
    )
    settings = hostwork.resolve_settings(found, options.extra_vars)
    groups: list[tuple[int, list[Entry]]] = []
    for entry in entries:
        play = int(entry.task["play"])
        if not groups or groups[-1][0] != play:
            groups.append((play, []))
        groups[-1][1].append(entry)
    out = []
    for play, mine in groups:
        bound: dict[int, BoundTask] = {}
        for entry in mine:
            t = entry.task
            index = int(t["index"])
            if index not in bound:
                ref = TaskRef(play, index, str(t["type"]), str(t["name"]), dict(t["args"]))
                bound[index] = BoundTask(ref, create_task(options.tasks(), ref.type_name, ref.args))
        out.append((Target(found, play, tuple(bound.values()), settings), mine))
    return out


@attrs.frozen
class Where:
    """Where a change stands on the host now: at its `after`, back at `before`, or moved."""

    state: str  # "after" | "before" | "moved"
    now: Any = None


def assess(
    host_facts: Mapping[str, Any], target: Target, entries: Sequence[Entry]
) -> dict[str, Where]:
    """Read each change's address from fresh facts.

    A task that can observe its changes answers exactly; for another, a change the tasks
    would still make has not been applied (or was undone), anything else is at `after`.
    """
    pending: set[str] | None = None
    found: dict[str, Where] = {}
    for entry in entries:
        change = entry.change
        task = target.task(change.task_index).task
        if isinstance(task, ObservedChanges):
            now = task.observe(target.host, host_facts, change)
            if show(now) == show(change.after):
                found[change.address] = Where("after", now)
            elif show(now) == show(change.before):
                found[change.address] = Where("before", now)
            else:
                found[change.address] = Where("moved", now)
            continue
        if pending is None:
            current, _ = plan_tasks(target.host, target.tasks, host_facts)
            pending = {c.address for c in current}
        found[change.address] = Where("before" if change.address in pending else "after")
    return found


def _revert_host(run: _Run | None, target: Target, entries: Sequence[Entry]) -> HostResult:
    results: list[ChangeResult] = []
    try:
        with (run.connect if run else Options().connect())(target.settings) as conn:
            where = assess(hostwork.gather(conn, target), target, entries)
            to_revert = []
            for entry in entries:
                settled = _settle_without_writing(run, target, entry, where[entry.change.address])
                if settled is None:
                    to_revert.append(entry.change)
                else:
                    results.append(settled)
            if run is not None and to_revert:
                written, error = write_changes(
                    conn, target, to_revert, run.journal, run.emit, revert=True
                )
                results.extend(written)
                if error:
                    return hostwork.host_result(target, "failed", results, (), error, conn)
            error = None if run is None else _verify_reverted(conn, target, entries, results)
            if error is None:
                error = next((r.error for r in results if r.failed), None)
            if error is None:  # not a failure, but the one thing to read in the recap
                error = next(
                    (r.error for r in results if "may still land" in (r.error or "")), None
                )
                if error is not None:
                    status = hostwork.settle(results, None)
                    return hostwork.host_result(target, status, results, (), error, conn)
            return hostwork.host_result(
                target, hostwork.settle(results, error), results, (), error, conn
            )
    except Exception as exc:  # noqa: BLE001
        status = "unreachable" if isinstance(exc, hostwork.ConnectionFailed) else "failed"
        return hostwork.host_result(target, status, results, message=hostwork.describe(exc))


def _settle_without_writing(
    run: _Run | None, target: Target, entry: Entry, where: Where
) -> ChangeResult | None:
    """What becomes of a change that needs no write; None when it must be reverted."""
    change = entry.change
    if not change.reversible:
        return ChangeResult(change, "irreversible", "cannot be undone: " + change.reason)
    if entry.superseded_by:
        return ChangeResult(
            change,
            "conflict",
            f"{change.address} was changed again by the later run "
            f"{entry.superseded_by}; roll that one back first; left alone",
        )
    if where.state == "moved":
        return ChangeResult(
            change,
            "conflict",
            f"{change.address} changed since the run: it is now "
            f"{show(where.now)}, the run wrote {show(change.after)}; left alone",
        )
    if where.state == "before":
        if entry.outcome in (None, "unknown"):
            # In flight when the run stopped: the remote command may still be running and
            # land after this read, so this stays open for the next rollback to check again.
            return ChangeResult(
                change,
                "not-applied",
                "not applied as the host reads now, but it was in "
                "flight when the run stopped and may still land: run this rollback again "
                "later to check",
            )
        if run is not None:
            run.journal.record_outcome(
                target.host.name,
                hostwork.change_record(change),
                dict(entry.task),
                change.after,
                change.before,
                "not-applied",
            )
        why = "already as before" if entry.outcome == "applied" else "was never applied"
        return ChangeResult(change, "not-applied", f"{why} (read from the host)")
    if run is None:
        return ChangeResult(change, "pending", "would revert")
    return None


def _verify_reverted(
    conn: Any, target: Target, entries: Sequence[Entry], results: Sequence[ChangeResult]
) -> str | None:
    """Read the host again: every reverted change must stand at its `before`."""
    reverted = {r.change.address for r in results if r.status == "reverted"}
    if not reverted:
        return None
    mine = [e for e in entries if e.change.address in reverted]
    where = assess(hostwork.gather(conn, target), target, mine)
    bad = [
        f"{e.change.address} is {show(where[e.change.address].now)}, wanted {show(e.change.before)}"
        for e in mine
        if where[e.change.address].state != "before"
    ]
    return ("did not return to the state before: " + "; ".join(bad)) if bad else None


def _revert_groups(run: _Run | None, groups: Sequence[tuple[Target, list[Entry]]]) -> HostResult:
    """One host's plays, newest first; the host's result gathers them all."""
    results: list[HostResult] = [_revert_host(run, target, entries) for target, entries in groups]
    if len(results) == 1:
        return results[0]
    worst = next((r for r in results if r.failed), results[-1])
    status = (
        worst.status if worst.failed else ("changed" if any(r.changed for r in results) else "ok")
    )
    return HostResult(
        worst.host,
        status,
        tuple(c for r in results for c in r.changes),
        (),
        worst.message,
        sum(r.round_trips for r in results),
    )


def rollback_run(
    run_id: str,
    options: Options,
    meta: Mapping[str, Any],
    check: bool = False,
    inventory_sources: Sequence[str] | None = None,
) -> tuple[str | None, list[HostResult], list[Change]]:
    """Revert a run's changes newest first; list what cannot be undone."""
    from remediate.inventory import Inventory

    runs = Runs(options.runs_dir)
    info = runs.get(run_id)
    stored = info.meta.get("extra_vars")
    if isinstance(stored, dict):
        merged = reuse_extra_vars(stored, options.extra_vars, None, f"rollback {run_id}")
        options = attrs.evolve(options, extra_vars=merged)
    sources = list(inventory_sources or info.meta.get("inventory") or [])
    inventory = Inventory.load(sources)
    hosts = None
    if options.limit is not None:
        check_limit(inventory, options.limit)
        hosts = {h.name for h in inventory.select("all", options.limit)}
        changed = {r.host for r in info.journal()}
        if changed and not hosts & changed:
            raise InputError(
                f"--limit {options.limit!r} matches none of the hosts run "
                f"{run_id} changed ({', '.join(sorted(changed))})"
            )
    todo = plan_rollback(runs, info, hosts)
    irreversible = [
        e.change for entries in todo.values() for e in entries if not e.change.reversible
    ]
    groups = {h: _targets(inventory, h, entries, options) for h, entries in todo.items()}
    if not todo:
        return None, [], irreversible
    run = (
        None
        if check
        else _start_run("rollback", {**meta, "rollback_of": run_id, "inventory": sources}, options)
    )
    policy = FleetPolicy(forks=options.forks, host_deadline=options.host_deadline)

    def work(host: str) -> HostResult:
        if run is None:
            return _revert_groups(None, groups[host])
        first = groups[host][0][0]
        return _locked(run, first, lambda: _revert_groups(run, groups[host]))

    outcome = run_fleet(
        list(todo),
        work,
        policy,
        is_failure=lambda r: r.failed,
        on_deadline=lambda n: HostResult(n, "failed", message="deadline exceeded"),
        on_skipped=lambda n: HostResult(n, "skipped"),
    )
    results = [outcome.results[h] for h in todo]
    if run is not None:
        _finish_run(run, results, outcome.aborted, outcome.abort_reason)
    return (run.run_id if run else None), results, irreversible
