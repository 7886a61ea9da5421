"""What happens on one host: plan, apply with the journal, verify, revert."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from remediate.engine.facts import gather_facts
from remediate.engine.planning import (
    NOTHING_VISIBLE,
    BoundTask,
    describe_drift,
    fingerprints,
    plan_tasks,
    show,
    view_diff,
    views,
)
from remediate.errors import ConnectionFailed, InputError, RemediateError
from remediate.model import (
    Change,
    ChangeResult,
    ConnectionSettings,
    Finding,
    Host,
    HostPlan,
    HostResult,
)
from remediate.secrets import Secret, mask_dict
from remediate.templating import TemplateProblem, Variables, has_template, render
from remediate.transport.base import Connection

__all__ = ["ConnectionFailed", "Connector", "Target"]

Connector = Callable[[ConnectionSettings], Connection]


def resolve_settings(host: Host, extra_vars: Mapping[str, Any] | None = None) -> ConnectionSettings:
    """The host's connection settings, with templated connection variables rendered
    (`ansible_password: "{{ vault_mail_password }}"`), as Ansible does. InputError if bad."""
    merged = {**host.vars, **(extra_vars or {})}
    variables = Variables(merged)
    resolved = dict(merged)
    for key, value in merged.items():
        # A password is a Secret, but the inventory may hold a reference to another variable.
        source = value.reveal() if isinstance(value, Secret) else value
        if not key.startswith(("ansible_", "remediate_")) or not isinstance(source, str):
            continue
        if has_template(source):
            try:
                resolved[key] = render(source, variables)
            except TemplateProblem as exc:
                message = exc.message
                if isinstance(value, Secret) and not message.startswith("undefined variable"):
                    # a syntax error may quote the text, and the text may be the password
                    message = "looks like a template but does not render (not shown: a secret)"
                raise InputError(f"host {host.name}: {key}: {message}") from None
    settings = ConnectionSettings.from_vars(host.name, resolved)
    _check_local_files(settings)
    return settings


def _check_local_files(settings: ConnectionSettings) -> None:
    """What is wrong on this side is input, not an unreachable host: say so before connecting."""
    name = settings.name
    key = settings.private_key_file
    if settings.connection == "ssh" and key and not os.access(os.path.expanduser(key), os.R_OK):
        raise InputError(f"host {name}: ansible_ssh_private_key_file {key}: no readable file there")
    if settings.connection == "winrm":
        if not settings.user:
            raise InputError(f"host {name}: WinRM needs ansible_user")
        ca = settings.winrm_ca_trust_path
        if ca and settings.winrm_scheme == "https" and not os.access(ca, os.R_OK):
            raise InputError(
                f"host {name}: ansible_winrm_ca_trust_path {ca}: no readable file there"
            )


@attrs.frozen
class Target:
    """One host of one play with its tasks rendered for it."""

    host: Host
    play: int
    tasks: tuple[BoundTask, ...]
    settings: ConnectionSettings

    def task(self, index: int) -> BoundTask:
        for bound in self.tasks:
            if bound.ref.index == index:
                return bound
        raise RemediateError(f"{self.host.name}: the plan names task #{index}, which is not there")


def task_record(bound: BoundTask) -> dict[str, Any]:
    ref = bound.ref
    return {
        "play": ref.play,
        "index": ref.index,
        "type": ref.type_name,
        "name": ref.name,
        "args": mask_dict(ref.args),
    }


def change_record(change: Change) -> dict[str, Any]:
    return mask_dict(attrs.asdict(change))


def gather(conn: Connection, target: Target) -> dict[str, Any]:
    return gather_facts(
        conn, target.host, [f for b in target.tasks for f in b.task.facts(target.host)]
    )


def plan_target(conn: Connection, target: Target) -> HostPlan:
    facts = gather(conn, target)
    changes, findings = plan_tasks(target.host, target.tasks, facts)
    return HostPlan(
        views=views(target.host, target.tasks, facts),
        host=target.host.name,
        play=target.play,
        changes=tuple(changes),
        findings=tuple(findings),
        tasks=tuple(b.ref for b in target.tasks),
        round_trips=conn.round_trips,
    )


def failed_plan(target: Target, exc: Exception) -> HostPlan:
    status = "unreachable" if isinstance(exc, ConnectionFailed) else "failed"
    return HostPlan(
        host=target.host.name,
        play=target.play,
        status=status,
        error=describe(exc),
        tasks=tuple(b.ref for b in target.tasks),
    )


def describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionFailed):
        return f"{exc.kind}: {exc.message}"
    if isinstance(exc, RemediateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@attrs.frozen
class Confirmed:
    """The reviewed changes still to make on a host, or why none may be made."""

    changes: tuple[Change, ...] = ()
    stale: str | None = None  # the host moved since the plan
    mismatch: str | None = None  # the plan file says something the task does not compute


def confirm_reviewed(
    conn: Connection,
    target: Target,
    reviewed: Sequence[Change],
    done: Mapping[str, Any],
    seen: Mapping[int, Any] | None = None,
) -> Confirmed:
    """Gather again and hold the reviewed changes against what the tasks compute now.

    The host is stale when a fingerprint moved, unless the only difference is changes an
    earlier play of this same run made (`done`: address -> value written). A reviewed change
    that differs from the task's own computation on unchanged facts means the plan file was
    edited: nothing is applied from it. What is applied is the task's computation, which is
    then identical to what was reviewed.
    """
    facts = gather(conn, target)
    current, _ = plan_tasks(target.host, target.tasks, facts)
    now = fingerprints(target.host, target.tasks, facts)
    unmoved = all(now.get(c.task_index) == c.fingerprint for c in reviewed)

    def stale() -> Confirmed:
        lines = describe_drift(reviewed, current)
        if seen and lines == [NOTHING_VISIBLE]:
            fresh_views = views(target.host, target.tasks, facts)
            lines = [d for i, view in seen.items() for d in view_diff(view, fresh_views.get(i))]
        return Confirmed(stale="; ".join(lines or [NOTHING_VISIBLE]))

    if not unmoved and not done:
        return stale()
    fresh = {c.address: c for c in current}
    keep: list[Change] = []
    for change in reviewed:
        mine = fresh.pop(change.address, None)
        if mine is None and done.get(change.address, _MISSING) == change.after:
            continue  # an earlier play of this run already made it
        if mine is None or show(mine.before) != show(change.before):
            return stale()
        if _reviewable(mine) != _reviewable(change):
            return Confirmed(
                mismatch=f"{change.address}: the plan file does not match what "
                f"{change.task or 'the task'} computes (was it edited?)"
            )
        keep.append(mine)
    if fresh and unmoved:
        return Confirmed(
            mismatch=f"the plan file lacks {', '.join(sorted(fresh))}, which the "
            "tasks compute from unchanged facts (was it edited?)"
        )
    if fresh:
        return stale()
    return Confirmed(changes=tuple(keep))


_MISSING = object()


def _reviewable(change: Change) -> tuple[Any, ...]:
    """Everything about a change that its apply acts on or a reviewer reads."""
    return (
        change.address,
        change.action,
        show(change.before),
        show(change.after),
        change.reversible,
        change.reason,
        show(dict(change.data)),
        change.task_index,
    )


def verify_converged(conn: Connection, target: Target, applied: Sequence[Change]) -> str | None:
    """Gather and plan again: an applied change that is still planned did not converge."""
    facts = gather(conn, target)
    current, _ = plan_tasks(target.host, target.tasks, facts)
    wanted = {c.address: c for c in applied}
    left = [c for c in current if c.address in wanted]
    if not left:
        return None
    return "; ".join(
        f"{c.address} did not converge: wanted {show(wanted[c.address].after)}, "
        f"host has {show(c.before)}"
        for c in left
    )


def host_result(
    target: Target,
    status: str,
    results: Sequence[ChangeResult] = (),
    findings: Sequence[Finding] = (),
    message: str | None = None,
    conn: Connection | None = None,
) -> HostResult:
    return HostResult(
        host=target.host.name,
        status=status,
        changes=tuple(results),
        findings=tuple(findings),
        message=message,
        round_trips=conn.round_trips if conn is not None else 0,
    )


def settle(results: Sequence[ChangeResult], error: str | None) -> str:
    if error:
        return "failed"
    return "changed" if any(r.changed for r in results) else "ok"
