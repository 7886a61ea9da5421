"""The engine's entry points: plan, apply a saved plan, run, roll back (for the CLI and API)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from remediate.engine import hostwork
from remediate.engine.events import Emitter, EventSink
from remediate.engine.hostwork import Connector, Target
from remediate.engine.planfile import plan_to_json, secret_arguments, write_plan
from remediate.engine.planning import BoundTask
from remediate.engine.runner import FleetPolicy, run_fleet
from remediate.engine.runs import Runs
from remediate.engine.writes import write_changes
from remediate.errors import InputError, Interrupted
from remediate.model import ChangeResult, HostPlan, HostResult, Plan, TaskRef
from remediate.secrets import MASK, mask_dict
from remediate.tasks import ArgumentError, TaskRegistry, default_registry


@attrs.frozen
class Options:
    """Everything a run can be asked for besides the playbook and inventory."""

    limit: str | None = None
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    extra_vars: Mapping[str, Any] = attrs.field(factory=dict)
    forks: int = 20
    host_deadline: float | None = None
    runs_dir: str | None = None
    on_event: EventSink | None = None
    registry: TaskRegistry | None = None
    connector: Connector | None = None

    def tasks(self) -> TaskRegistry:
        return self.registry or default_registry()

    def connect(self) -> Connector:
        if self.connector is not None:
            return self.connector
        from remediate.transport import connect

        return connect


@attrs.frozen
class PlayTargets:
    """One play's run policy and its hosts with their tasks."""

    index: int
    name: str
    policy: FleetPolicy
    targets: tuple[Target, ...]

    def meta(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "serial": list(self.policy.serial),
            "max_fail_percentage": self.policy.max_fail_percentage,
            "any_errors_fatal": self.policy.any_errors_fatal,
        }


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def prepare(playbook: Any, inventory: Any, options: Options) -> list[PlayTargets]:
    """Select hosts and render every task's arguments for every host (input errors surface here)."""
    from remediate.playbook import bind_task, check_tags, render_args, render_hosts, select_tasks

    registry = options.tasks()
    check_tags(playbook.plays, options.tags, options.skip_tags)
    groups = group_members(inventory)
    plays = []
    for p_index, play in enumerate(playbook.plays):
        hosts = select_hosts(inventory, play, render_hosts(play, options.extra_vars), options.limit)
        calls = select_tasks(play, options.tags, options.skip_tags)
        targets = []
        for host in hosts:
            bound = []
            for call in calls:
                index = play.tasks.index(call)
                args = render_args(call, play, host, extra_vars=options.extra_vars, groups=groups)
                task = bind_task(call, host, registry, args)
                bound.append(
                    BoundTask(TaskRef(p_index, index, call.type_name, call.name, args), task)
                )
            settings = hostwork.resolve_settings(host, options.extra_vars)
            targets.append(Target(host, p_index, tuple(bound), settings))
        policy = FleetPolicy(
            forks=options.forks,
            serial=tuple(play.serial),
            max_fail_percentage=play.max_fail_percentage,
            any_errors_fatal=play.any_errors_fatal,
            host_deadline=options.host_deadline,
        )
        plays.append(PlayTargets(p_index, play.name, policy, tuple(targets)))
    if options.limit is not None and not any(p.targets for p in plays):
        raise InputError(f"--limit {options.limit!r} leaves no hosts to target")
    if not any(p.targets for p in plays):
        patterns = ", ".join(repr(play.hosts) for play in playbook.plays)
        raise InputError(
            f"no play matches any host of the inventory (hosts: {patterns})", str(playbook.path)
        )
    return plays


def select_hosts(inventory: Any, play: Any, pattern: str, limit: str | None) -> list[Any]:
    """The play's hosts under --limit; a bad pattern is reported at the play's `hosts:`."""
    check_limit(inventory, limit)
    try:
        return list(inventory.select(pattern, limit))
    except InputError as exc:
        if exc.path is not None or limit is not None and limit.startswith("@"):
            raise
        where = play.location
        raise InputError(f"hosts: {exc.message}", where.path, where.line, where.col) from None


def check_limit(inventory: Any, limit: str | None) -> None:
    """A --limit that is empty, names no host, or does not parse is the user's to fix."""
    if limit is None:
        return
    if not limit.strip(" ,:;&!\t"):
        raise InputError("--limit is empty; give a host pattern (or leave --limit out)")
    if limit.startswith("@"):
        _check_limit_file(limit[1:])
    inventory.select("all", limit)  # a bad pattern is reported as the limit's, not a play's


def _check_limit_file(path: str) -> None:
    try:
        names = Path(path).read_text(encoding="utf-8").split()
    except OSError as exc:
        raise InputError(f"--limit @{path}: {exc.strerror or exc}") from None
    if not names:
        raise InputError(f"--limit @{path}: the file names no host")


def group_members(inventory: Any) -> dict[str, list[str]]:
    """Ansible's `groups` variable: every group (empty ones too) with its hosts in order."""
    return dict(inventory.groups_dict())


def create_task(registry: TaskRegistry, type_name: str, args: Mapping[str, Any]) -> Any:
    """A task from a saved plan or a journal: its type must exist and its arguments hold."""
    task_type = registry.get(type_name)
    if task_type is None:
        raise InputError(f"unknown task type {type_name!r}")
    try:
        return task_type.from_args(args)
    except ArgumentError as exc:
        raise InputError(f"task {type_name}: {exc}") from None


def reuse_extra_vars(
    stored: Mapping[str, Any], given: Mapping[str, Any], source: str | None, command: str
) -> dict[str, Any]:
    """The -e a plan (or run) was made with, as far as it could keep them, overridden by those
    given now. A secret it could not keep must be given again, or this command would connect
    otherwise than the plan or run did."""
    kept = {k: v for k, v in stored.items() if not _holds_mask(v)}
    missing = sorted(k for k, v in stored.items() if _holds_mask(v) and k not in given)
    if missing:
        again = " ".join(f"-e {name}=..." for name in missing)
        raise InputError(
            f"made with secret variables that are not stored ({', '.join(missing)}); "
            f"give them again: remediate {command} {again}",
            source,
        )
    return {**kept, **given}


def _holds_mask(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_mask(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_mask(v) for v in value)
    return bool(value == MASK)


def _emitter(options: Options, run: str | None = None) -> Emitter:
    return Emitter([options.on_event], run=run)


# ---------------------------------------------------------------- plan


def plan_plays(plays: Sequence[PlayTargets], options: Options) -> list[HostPlan]:
    emit = _emitter(options)
    connect = options.connect()
    host_plans: list[HostPlan] = []
    unreachable: dict[str, HostPlan] = {}  # not tried again in later plays
    for play in plays:
        by_name = {t.host.name: t for t in play.targets if t.host.name not in unreachable}
        emit("play.started", message=play.name, total=len(by_name))
        for target in (t for t in play.targets if t.host.name in unreachable):
            earlier = unreachable[target.host.name]
            host_plans.append(
                attrs.evolve(earlier, play=play.index, tasks=tuple(b.ref for b in target.tasks))
            )

        def worker(name: str, by_name: dict[str, Target] = by_name) -> HostPlan:
            emit("host.started", host=name)
            result = _plan_one(by_name[name], connect)
            emit(
                "host.finished",
                host=name,
                status=result.status if result.failed else ("changed" if result.changes else "ok"),
            )
            return result

        outcome = run_fleet(
            list(by_name),
            worker,
            attrs.evolve(play.policy, serial=(), max_fail_percentage=None, any_errors_fatal=False),
            is_failure=lambda hp: hp.failed,
            on_deadline=lambda n, b=by_name: hostwork.failed_plan(  # type: ignore[misc]
                b[n], TimeoutError("host deadline exceeded")
            ),
            on_skipped=lambda n, b=by_name: hostwork.failed_plan(  # type: ignore[misc]
                b[n], RuntimeError("skipped")
            ),
        )
        host_plans.extend(outcome.results[name] for name in by_name)
        unreachable.update((n, r) for n, r in outcome.results.items() if r.status == "unreachable")
    return host_plans


def _plan_one(target: Target, connect: Connector) -> HostPlan:
    try:
        with connect(target.settings) as conn:
            return hostwork.plan_target(conn, target)
    except Exception as exc:  # noqa: BLE001 - every failure is this host's status, never the run's
        return hostwork.failed_plan(target, exc)


def make_plan(playbook: Any, inventory: Any, options: Options) -> Plan:
    plays = prepare(playbook, inventory, options)
    hosts = plan_plays(plays, options)
    plan = Plan(
        hosts=tuple(hosts),
        playbook=os.path.abspath(playbook.path),
        inventory=tuple(os.path.abspath(s) for s in inventory.sources),
        playbook_digest=playbook.digest(),
        inventory_digest=inventory.digest(),
        created=now(),
        limit=options.limit,
        tags=options.tags,
        skip_tags=options.skip_tags,
        extra_vars=mask_dict(options.extra_vars),
        plays=tuple(p.meta() for p in plays),
    )
    return plan


def save_plan(plan: Plan, path: str | Path) -> None:
    holding = secret_arguments(plan)
    if holding:
        raise InputError(f"cannot save a plan whose task arguments hold a secret ({holding[0]})")
    write_plan(path, plan_to_json(plan))


# ---------------------------------------------------------------- apply and run


@attrs.frozen
class _Run:
    """What every host worker of one run shares."""

    runs: Runs
    run_id: str
    journal: Any
    emit: Emitter
    connect: Connector
    _written: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    _abandoned: set[str] = attrs.field(factory=set)
    _writing: set[str] = attrs.field(factory=set)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def abandon(self, host: str) -> None:
        """The run gave up waiting for this host: its worker must not start writing."""
        with self._lock:
            self._abandoned.add(host)

    def abandoned(self, host: str) -> bool:
        with self._lock:
            return host in self._abandoned

    def writing(self, host: str, now: bool | None = None) -> bool:
        """Whether the host's writes are under way (set it with `now`)."""
        with self._lock:
            if now is True:
                self._writing.add(host)
            elif now is False:
                self._writing.discard(host)
            return host in self._writing

    def remember(self, host: str, results: Sequence[ChangeResult]) -> None:
        """Record what this run wrote on a host, for the later plays of the same plan."""
        with self._lock:
            mine = self._written.setdefault(host, {})
            mine.update((r.change.address, r.change.after) for r in results if r.changed)

    def written(self, host: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._written.get(host, {}))


def _start_run(kind: str, meta: Mapping[str, Any], options: Options) -> _Run:
    runs = Runs(options.runs_dir)
    info, journal = runs.create(kind, meta)
    return _Run(runs, info.run_id, journal, _emitter(options, info.run_id), options.connect())


def _finish_run(
    run: _Run, results: Sequence[HostResult], aborted: bool, reason: str | None
) -> None:
    run.journal.close()
    summary: dict[str, Any] = {
        "aborted": aborted,
        "abort_reason": reason,
        "journal_records": run.journal.records,
        "hosts": {},
    }
    for r in results:  # a host in several plays: its changes add up, its worst status shows
        seen = summary["hosts"].setdefault(
            r.host, {"status": r.status, "message": r.message, "changed": 0}
        )
        seen["changed"] += sum(1 for c in r.changes if c.changed)
        if _rank(r.status) > _rank(seen["status"]):
            seen.update(status=r.status, message=r.message)
    run.runs.finish(run.runs.get(run.run_id), summary)
    run.emit("run.finished", status="aborted" if aborted else "done", message=reason)


def _run_plays(
    run: _Run, plays: Sequence[PlayTargets], work: Callable[[Target], HostResult]
) -> tuple[list[HostResult], bool, str | None]:
    """Each play over its hosts in turn. As in Ansible, a host that failed or was unreachable
    in a play is left out of the later ones."""
    results: list[HostResult] = []
    dropped: dict[str, str] = {}
    for play in plays:
        by_name = {t.host.name: t for t in play.targets if t.host.name not in dropped}
        run.emit("play.started", message=play.name, total=len(by_name))
        for name in (t.host.name for t in play.targets if t.host.name in dropped):
            results.append(_settled(run, name, play.index, "skipped", dropped[name]))

        def worker(name: str, by_name: dict[str, Target] = by_name) -> HostResult:
            run.emit("host.started", host=name)
            result = attrs.evolve(work(by_name[name]), play=by_name[name].play)
            if not run.abandoned(name):
                run.emit("host.finished", host=name, status=result.status, message=result.message)
            return result

        def late(name: str, play: int = play.index) -> HostResult:
            run.abandon(name)
            why = "host deadline exceeded"
            if run.writing(name):
                why += (
                    " while its writes were under way; they go on, and the journal "
                    "records what they did (remediate runs show)"
                )
            return _settled(run, name, play, "failed", why)

        outcome = run_fleet(
            list(by_name),
            worker,
            play.policy,
            is_failure=counts_as_failure,
            on_deadline=late,
            on_skipped=lambda n, p=play.index: _settled(  # type: ignore[misc]
                run, n, p, "skipped", "not started: run aborted"
            ),
        )
        results.extend(outcome.results[name] for name in by_name)
        for name in by_name:
            if counts_as_failure(outcome.results[name]):
                dropped[name] = f"{outcome.results[name].status} in play {play.name!r}"
        run.emit("play.finished", message=play.name)
        later = any(p.targets for p in plays[plays.index(play) + 1 :])
        if outcome.aborted or (outcome.abort_reason and later):
            return results, True, outcome.abort_reason
    return results, False, None


def _settled(run: _Run, host: str, play: int, status: str, message: str) -> HostResult:
    """A host's result decided without (or instead of) its worker, announced as such."""
    run.emit("host.finished", host=host, status=status, message=message)
    return HostResult(host, status, message=message, play=play)


def _interruptible(
    run: _Run, body: Callable[[], tuple[list[HostResult], bool, str | None]]
) -> tuple[list[HostResult], bool, str | None]:
    """Ctrl-C ends the run with its journal closed and says where to look."""
    try:
        return body()
    except KeyboardInterrupt:
        _finish_run(run, [], True, "interrupted (Ctrl-C)")
        raise Interrupted(
            f"interrupted; changes made so far are journaled in run {run.run_id}: "
            f"`remediate runs show {run.run_id}`, `remediate rollback {run.run_id}`"
        ) from None


def _inventory_host(inventory: Any, name: str, advice: str) -> Any:
    """The inventory's host of that name, or one line saying what to do about it."""
    if name not in inventory.hosts:
        raise InputError(
            f"host {name} is not in the inventory ({', '.join(inventory.sources)}); {advice}"
        )
    return inventory.get_host(name)


def _rank(status: str) -> int:
    order = ("ok", "skipped", "changed", "stale", "unreachable", "failed")
    return order.index(status) if status in order else 0


def counts_as_failure(result: HostResult) -> bool:
    """Failed and unreachable hosts count toward max_fail_percentage; a stale host was only
    left alone (nothing applied), so it does not stop the other batches."""
    return result.status in ("failed", "unreachable")


def _locked(run: _Run, target: Target, body: Callable[[], HostResult]) -> HostResult:
    from remediate.engine.locks import HostLock
    from remediate.errors import HostLocked

    try:
        endpoint = f"{target.settings.address}:{target.settings.port}"
        with HostLock(endpoint, target.host.name, run.run_id):
            return body()
    except HostLocked as exc:
        return HostResult(target.host.name, "failed", message=str(exc))


def _apply_target(run: _Run, target: Target, reviewed: HostPlan | None) -> HostResult:
    """Connect, (re)gather, refuse drift, apply, verify, for one host."""
    if reviewed is not None and not reviewed.changes:
        return hostwork.host_result(target, "ok", findings=reviewed.findings)
    try:
        with run.connect(target.settings) as conn:
            if reviewed is None:
                fresh = hostwork.plan_target(conn, target)
                changes, findings = fresh.changes, fresh.findings
            else:
                findings = reviewed.findings
                confirmed = hostwork.confirm_reviewed(
                    conn, target, reviewed.changes, run.written(target.host.name), reviewed.views
                )
                if confirmed.stale or confirmed.mismatch:
                    status = "stale" if confirmed.stale else "failed"
                    why = confirmed.stale and f"host changed since the plan: {confirmed.stale}"
                    return hostwork.host_result(
                        target,
                        status,
                        findings=findings,
                        message=why or confirmed.mismatch,
                        conn=conn,
                    )
                changes = confirmed.changes
            if not changes:
                return hostwork.host_result(target, "ok", findings=findings, conn=conn)
            if run.abandoned(target.host.name):
                return hostwork.host_result(
                    target,
                    "failed",
                    findings=findings,
                    conn=conn,
                    message="host deadline exceeded before any change was made",
                )
            run.writing(target.host.name, True)
            try:
                results, error = write_changes(conn, target, changes, run.journal, run.emit)
            finally:
                run.writing(target.host.name, False)
            run.remember(target.host.name, results)
            if error is None:
                error = hostwork.verify_converged(conn, target, [r.change for r in results])
            return hostwork.host_result(
                target, hostwork.settle(results, error), results, findings, error, conn
            )
    except Exception as exc:  # noqa: BLE001 - a host's failure is its status
        status = "unreachable" if isinstance(exc, hostwork.ConnectionFailed) else "failed"
        return hostwork.host_result(target, status, message=hostwork.describe(exc))


def run_playbook(
    playbook: Any, inventory: Any, options: Options, meta: Mapping[str, Any]
) -> tuple[str, list[HostResult], bool, str | None]:
    plays = prepare(playbook, inventory, options)
    run = _start_run(
        "apply",
        {**meta, "playbook_digest": playbook.digest(), "inventory_digest": inventory.digest()},
        options,
    )
    run.emit("run.started", total=sum(len(p.targets) for p in plays))
    results, aborted, reason = _interruptible(
        run,
        lambda: _run_plays(
            run, plays, lambda t: _locked(run, t, lambda: _apply_target(run, t, None))
        ),
    )
    _finish_run(run, results, aborted, reason)
    return run.run_id, results, aborted, reason


def apply_saved(
    plan: Plan, inventory: Any, options: Options, meta: Mapping[str, Any]
) -> tuple[str, list[HostResult], bool, str | None]:
    """Apply exactly the reviewed changes; hosts whose facts moved are refused as stale."""
    registry = options.tasks()
    plays: list[PlayTargets] = []
    reviewed: dict[tuple[int, str], HostPlan] = {}
    for p_meta in plan.plays:
        index = int(p_meta["index"])
        targets = []
        for hp in (h for h in plan.hosts if h.play == index and h.status == "planned"):
            host = _inventory_host(
                inventory, hp.host, "plan again, or give -i an inventory that has it"
            )
            bound = tuple(
                BoundTask(t, create_task(registry, t.type_name, t.args)) for t in hp.tasks
            )
            settings = hostwork.resolve_settings(host, options.extra_vars)
            targets.append(Target(host, index, bound, settings))
            reviewed[(index, hp.host)] = hp
        policy = FleetPolicy(
            forks=options.forks,
            serial=tuple(p_meta.get("serial") or ()),
            max_fail_percentage=p_meta.get("max_fail_percentage"),
            any_errors_fatal=bool(p_meta.get("any_errors_fatal")),
            host_deadline=options.host_deadline,
        )
        plays.append(PlayTargets(index, str(p_meta.get("name", "")), policy, tuple(targets)))
    run = _start_run(
        "apply",
        {
            "playbook": plan.playbook,
            "inventory": list(plan.inventory),
            **meta,
            "playbook_digest": plan.playbook_digest,
            "inventory_digest": inventory.digest(),
            "plan_inventory_digest": plan.inventory_digest,
            "plan_created": plan.created,
        },
        options,
    )
    run.emit("run.started", total=sum(len(p.targets) for p in plays))
    results, aborted, reason = _interruptible(
        run,
        lambda: _run_plays(
            run,
            plays,
            lambda t: _locked(
                run, t, lambda: _apply_target(run, t, reviewed[(t.play, t.host.name)])
            ),
        ),
    )
    results.extend(
        HostResult(
            hp.host,
            hp.status,
            message=f"{hp.status} when the plan was made, so nothing was planned or applied "
            f"there ({hp.error}); plan it again",
            play=hp.play,
        )
        for hp in plan.hosts
        if hp.status != "planned"
    )
    _finish_run(run, results, aborted, reason)
    return run.run_id, results, aborted, reason
