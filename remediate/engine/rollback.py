"""Rollback: a run's journal replayed in reverse as "ensure before", itself journaled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from remediate.engine import hostwork
from remediate.engine.core import Options, _finish_run, _locked, _Run, _start_run, create_task
from remediate.engine.hostwork import Target
from remediate.engine.journal import Record
from remediate.engine.planning import BoundTask, plan_tasks, show
from remediate.engine.runner import FleetPolicy, run_fleet
from remediate.engine.runs import RunInfo, Runs
from remediate.engine.writes import write_changes
from remediate.errors import InputError
from remediate.model import Change, ChangeResult, HostResult, TaskRef


@attrs.frozen
class Entry:
    """One change of the original run as its journal tells it."""

    change: Change
    task: Mapping[str, Any]
    intent_seq: int
    outcome: str | None  # "applied" | "failed" | "unknown" | None (crashed in flight)


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
            todo[host] = list(reversed(left))
    return todo


def _target(inventory: Any, host: str, entries: Sequence[Entry], options: Options) -> Target:
    registry = options.tasks()
    bound: dict[int, BoundTask] = {}
    for entry in entries:
        t = entry.task
        index = int(t["index"])
        if index not in bound:
            ref = TaskRef(int(t["play"]), index, str(t["type"]), str(t["name"]), dict(t["args"]))
            bound[index] = BoundTask(ref, create_task(registry, ref.type_name, ref.args))
    found = inventory.get_host(host)
    return Target(found, 0, tuple(bound.values()), hostwork.resolve_settings(found))


def _in_doubt_applied(conn: Any, target: Target, entries: Sequence[Entry]) -> set[str]:
    """For changes without a clear outcome, ask the host: still planned means never applied."""
    doubtful = [e for e in entries if e.outcome != "applied"]
    if not doubtful:
        return {e.change.address for e in entries}
    current, _ = plan_tasks(target.host, target.tasks, hostwork.gather(conn, target))
    pending = {c.address for c in current}
    return {
        e.change.address
        for e in entries
        if e.outcome == "applied" or e.change.address not in pending
    }


def _revert_host(run: _Run | None, target: Target, entries: Sequence[Entry]) -> HostResult:
    results: list[ChangeResult] = []
    try:
        with (run.connect if run else Options().connect())(target.settings) as conn:
            applied = _in_doubt_applied(conn, target, entries)
            to_revert = []
            for entry in entries:
                settled = _settle_without_writing(run, target, entry, applied)
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
            error = None if run is None else _verify_reverted(conn, target, results)
            return hostwork.host_result(
                target, hostwork.settle(results, error), results, (), error, conn
            )
    except Exception as exc:  # noqa: BLE001
        status = "unreachable" if isinstance(exc, hostwork.ConnectionFailed) else "failed"
        return hostwork.host_result(target, status, results, message=hostwork.describe(exc))


def _settle_without_writing(
    run: _Run | None, target: Target, entry: Entry, applied: set[str]
) -> ChangeResult | None:
    """What becomes of a change that needs no write; None when it must be reverted."""
    change = entry.change
    if not change.reversible:
        return ChangeResult(change, "irreversible", "cannot be undone: " + change.reason)
    if change.address not in applied:
        if run is not None:
            run.journal.record_outcome(
                target.host.name,
                hostwork.change_record(change),
                dict(entry.task),
                change.after,
                change.before,
                "not-applied",
            )
        return ChangeResult(change, "not-applied", "was never applied (read from the host)")
    if run is None:
        return ChangeResult(change, "skipped", "would revert (check mode)")
    return None


def _verify_reverted(conn: Any, target: Target, results: Sequence[ChangeResult]) -> str | None:
    """After reverting, the task must want to make the same change again, from the same before."""
    reverted = {r.change.address: r.change for r in results if r.status == "reverted"}
    if not reverted:
        return None
    current, _ = plan_tasks(target.host, target.tasks, hostwork.gather(conn, target))
    now = {c.address: c for c in current}
    bad = [
        f"{a} is {show(now[a].before) if a in now else show(c.after)}, wanted {show(c.before)}"
        for a, c in reverted.items()
        if a not in now or show(now[a].before) != show(c.before)
    ]
    return ("did not return to the state before: " + "; ".join(bad)) if bad else None


def rollback_run(
    run_id: str,
    options: Options,
    meta: Mapping[str, Any],
    check: bool = False,
) -> tuple[str | None, list[HostResult], list[Change]]:
    """Revert a run's changes newest first; list what cannot be undone."""
    from remediate.inventory import Inventory

    runs = Runs(options.runs_dir)
    info = runs.get(run_id)
    inventory = Inventory.load(list(info.meta.get("inventory") or []))
    hosts = None
    if options.limit:
        hosts = {h.name for h in inventory.select("all", options.limit)}
    todo = plan_rollback(runs, info, hosts)
    irreversible = [
        e.change for entries in todo.values() for e in entries if not e.change.reversible
    ]
    targets = {h: _target(inventory, h, entries, options) for h, entries in todo.items()}
    if not todo:
        return None, [], irreversible
    run = (
        None
        if check
        else _start_run(
            "rollback",
            {**meta, "rollback_of": run_id, "inventory": info.meta.get("inventory")},
            options,
        )
    )
    policy = FleetPolicy(forks=options.forks, host_deadline=options.host_deadline)

    def work(host: str) -> HostResult:
        if run is None:
            return _revert_host(None, targets[host], todo[host])
        return _locked(run, targets[host], lambda: _revert_host(run, targets[host], todo[host]))

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
