"""CLI: plan, apply, run, rollback and runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import remediate.api as api
from remediate.cli.common import add_selection, split_words
from remediate.engine.events import EventSink, JsonLinesSink
from remediate.engine.planning import show
from remediate.errors import EXIT_CHANGES_PENDING, EXIT_OK, InputError
from remediate.model import Plan, RunResult
from remediate.report import machine, text
from remediate.report.progress import HostProgress
from remediate.secrets import MASK, mask_assignments


def register(sub: Any) -> None:
    _plan_parser(sub)
    _apply_parser(sub)
    _run_parser(sub)
    _rollback_parser(sub)
    _runs_parser(sub)


# ---------------------------------------------------------------- arguments


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--forks", type=_positive, default=20, help="hosts at once (default 20)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--events", metavar="FILE", help="write JSON-lines events to FILE")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report to FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument(
        "--host-deadline", type=float, metavar="SECONDS", help="give up on a host after this long"
    )


def _runs_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runs-dir",
        metavar="DIR",
        help="where runs and journals live (default $REMEDIATE_RUNS_DIR or ./runs)",
    )


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _plan_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="show what a playbook would change (dry run; writes nothing)",
        description=(
            "Read every selected host (one pipelined round trip each) and show each change as"
            " before -> after with its reason. Nothing is written. Save the plan with -o to "
            "review it and apply it later exactly as reviewed."
        ),
    )
    add_selection(p)
    _output(p)
    p.add_argument("-o", "--out", metavar="PLAN.json", help="save the plan for `remediate apply`")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 8 when changes are pending, 0 when there is nothing to do",
    )
    p.set_defaults(func=cmd_plan)


def _apply_parser(sub: Any) -> None:
    p = sub.add_parser(
        "apply",
        help="apply a saved plan exactly as reviewed",
        description=(
            "Apply a saved plan. Each host is read again: one that changed since the plan is "
            "refused as stale and left alone; each change is journaled before and after it is"
            " made; each host is read again to verify."
        ),
    )
    p.add_argument("plan", metavar="PLAN")
    p.add_argument(
        "-i",
        "--inventory",
        action="append",
        metavar="INV",
        help="inventory to connect with (default: the one the plan was made from)",
    )
    _connection_vars(p)
    _output(p)
    _runs_dir(p)
    p.set_defaults(func=cmd_apply)


def _connection_vars(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="variables for connecting: secret ones the plan or run could not store "
        "(ansible_password=...), given again",
    )


def _run_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="plan and apply in one go",
        description=(
            "Plan and apply in one go (--check only plans). Every change is journaled, so the"
            " run can be rolled back."
        ),
    )
    add_selection(p)
    _output(p)
    _runs_dir(p)
    p.add_argument("--check", action="store_true", help="only plan; change nothing")
    p.add_argument("--diff", action="store_true", help="show each change's before and after")
    p.set_defaults(func=cmd_run)


def _rollback_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rollback",
        help="undo a run's reversible changes, newest first",
        description=(
            "Undo a run: each change still holding the value the run wrote is set back to its"
            " value before (newest first); values changed since are left alone and reported; "
            "irreversible changes are listed."
        ),
    )
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("-l", "--limit", metavar="PATTERN")
    p.add_argument("--check", action="store_true", help="say what would be reverted")
    p.add_argument(
        "-i",
        "--inventory",
        action="append",
        metavar="INV",
        help="inventory to connect with (default: the one the run used)",
    )
    _connection_vars(p)
    _output(p)
    _runs_dir(p)
    p.set_defaults(func=cmd_rollback)


def _runs_parser(sub: Any) -> None:
    p = sub.add_parser(
        "runs",
        help="list runs, or show what one changed where",
        description=(
            "List the runs in the runs directory, or show one run's journal: what changed "
            "where, and what was in flight."
        ),
    )
    _runs_dir(p)
    p.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    p.add_argument("run_id", nargs="?", metavar="RUN")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_runs)


# ---------------------------------------------------------------- helpers


def _extra_vars(items: Sequence[str]) -> dict[str, Any]:
    from remediate.playbook import parse_extra_vars

    return dict(parse_extra_vars(items))


def _safe_argv(argv: Sequence[str] | None = None) -> list[str]:
    """The command line for run.json: every -e value reduced to the names it sets.

    Values never reach run.json, whatever form -e took (KEY=VALUE words, a mapping, an
    abbreviated --extra-v=...); an @file stays a path.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        name, sep, value = word.partition("=")
        if word in ("-e", "--extra-vars") and index + 1 < len(words):
            out += [word, _names_only(words[index + 1])]
            index += 2
            continue
        if sep and len(name) > 3 and "--extra-vars".startswith(name):
            out.append(f"--extra-vars={_names_only(value)}")
        elif word.startswith("-e") and len(word) > 2 and not word.startswith("--"):
            out.append("-e" + _names_only(word[2:]))
        else:
            out.append(mask_assignments(word))
        index += 1
    return out


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output file that cannot be written before any host is touched."""
    for flag, attr in (("-o", "out"), ("--junit", "junit"), ("--events", "events")):
        path = getattr(args, attr, None)
        if not path:
            continue
        target = os.path.abspath(path)
        folder = os.path.dirname(target)
        if os.path.isdir(target) or path.endswith(("/", os.sep)):
            raise InputError(f"{flag} {path}: is a directory; name a file")
        if not os.path.isdir(folder):
            raise InputError(f"{flag} {path}: directory {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise InputError(f"{flag} {path}: directory {folder} is not writable")


def _names_only(value: str) -> str:
    if value.startswith("@"):
        return value
    try:
        names = sorted(_extra_vars([value]))
    except InputError:
        return "<unreadable -e value>"
    return "<sets " + ", ".join(names) + ">"


class _Sinks:
    """The event sinks a command asked for, closed at the end."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.file = JsonLinesSink(args.events) if getattr(args, "events", None) else None
        quiet = getattr(args, "quiet", False) or getattr(args, "format", "text") == "json"
        self.progress = HostProgress(enabled=None if not quiet else False)

    def sink(self) -> EventSink:
        def both(event: Any) -> None:
            if self.file is not None:
                self.file(event)
            self.progress(event)

        return both

    def __enter__(self) -> _Sinks:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(None, None, None)
        if self.file is not None:
            self.file.close()


def _with_sinks(args: argparse.Namespace, body: Callable[[EventSink], Any]) -> Any:
    with _Sinks(args) as sinks:
        return body(sinks.sink())


def _report(args: argparse.Namespace, result: RunResult, title: str) -> int:
    if args.junit:
        machine.write_junit(args.junit, title, result.hosts)
    if args.format == "json":
        print(json.dumps(machine.result_to_json(result), indent=2))
        return result.exit_code
    out = text.console()
    if result.irreversible:
        out.print(f"{len(result.irreversible)} irreversible change(s) cannot be rolled back:")
        for change in result.irreversible:
            out.print(f"  {change.address}: {change.reason}", markup=False)
    if result.aborted:
        text.console(stderr=True).print(f"ABORTED: {result.abort_reason}", markup=False)
    text.print_recap(
        result.hosts,
        out,
        result.run_id,
        verbose=args.verbose > 0,
        quiet=args.quiet,
        diff=bool(getattr(args, "diff", False)),
    )
    return result.exit_code


def _plan_exit(plan: Plan, detailed: bool) -> int:
    from remediate.model import HostResult, RunResult

    hosts = tuple(HostResult(h.host, h.status if h.failed else "ok") for h in plan.hosts)
    code = RunResult(None, hosts).exit_code
    if code == EXIT_OK and detailed and plan.changed:
        return EXIT_CHANGES_PENDING
    return code


# ---------------------------------------------------------------- commands


def cmd_plan(args: argparse.Namespace) -> int:
    _check_outputs(args)
    made = _with_sinks(
        args,
        lambda sink: api.plan(
            args.playbook,
            args.inventory,
            limit=args.limit,
            tags=split_words(args.tags),
            skip_tags=split_words(args.skip_tags),
            extra_vars=_extra_vars(args.extra_vars),
            forks=args.forks,
            on_event=sink,
            host_deadline=args.host_deadline,
        ),
    )
    if args.out:
        api.save_plan(made, args.out)
    if args.format == "json":
        from remediate.engine.planfile import plan_to_json, seal

        print(json.dumps(seal(plan_to_json(made)), indent=2, ensure_ascii=False))
    else:
        out = text.console()
        if args.quiet:
            text.print_failed_hosts(made, out)
            out.print(text.plan_summary(made))
        else:
            text.print_plan(made, out)
        if args.out:
            secret = sorted(k for k, v in made.extra_vars.items() if v == MASK)
            again = "".join(f" -e {name}=..." for name in secret)
            out.print(
                f"Saved the plan to {args.out}; apply it with: remediate apply {args.out}{again}",
                markup=False,
            )
            if made.failed:
                out.print(
                    f"{sum(1 for h in made.hosts if h.failed)} host(s) could not be planned; "
                    "apply leaves them alone: plan again once they answer",
                    markup=False,
                )
    if args.junit:
        from remediate.api import _as_check

        machine.write_junit(args.junit, "plan", [_as_check(h) for h in made.hosts])
    return _plan_exit(made, args.detailed_exitcode)


def cmd_apply(args: argparse.Namespace) -> int:
    _check_outputs(args)
    result = _with_sinks(
        args,
        lambda sink: api.apply(
            args.plan,
            inventory=args.inventory,
            forks=args.forks,
            runs_dir=args.runs_dir,
            on_event=sink,
            host_deadline=args.host_deadline,
            arguments=_safe_argv(),
            extra_vars=_extra_vars(args.extra_vars),
        ),
    )
    return _report(args, result, "apply")


def cmd_run(args: argparse.Namespace) -> int:
    _check_outputs(args)
    result = _with_sinks(
        args,
        lambda sink: api.run(
            args.playbook,
            args.inventory,
            check=args.check,
            limit=args.limit,
            tags=split_words(args.tags),
            skip_tags=split_words(args.skip_tags),
            extra_vars=_extra_vars(args.extra_vars),
            forks=args.forks,
            runs_dir=args.runs_dir,
            on_event=sink,
            host_deadline=args.host_deadline,
            arguments=_safe_argv(),
        ),
    )
    if args.check and result.plan is not None and args.format == "text":
        if args.junit:
            machine.write_junit(args.junit, "check", result.hosts)
        out = text.console()
        if args.quiet:
            text.print_failed_hosts(result.plan, out)
            out.print(text.plan_summary(result.plan))
        else:
            text.print_plan(result.plan, out, diff=args.diff)
        return _plan_exit(result.plan, False)
    return _report(args, result, "run")


def cmd_rollback(args: argparse.Namespace) -> int:
    _check_outputs(args)
    result = _with_sinks(
        args,
        lambda sink: api.rollback(
            args.run_id,
            limit=args.limit,
            check=args.check,
            runs_dir=args.runs_dir,
            forks=args.forks,
            on_event=sink,
            arguments=_safe_argv(),
            inventory=args.inventory,
            extra_vars=_extra_vars(args.extra_vars),
        ),
    )
    if not result.hosts and args.format == "text":
        text.console().print(f"Nothing to roll back for run {args.run_id}.", markup=False)
        return EXIT_OK
    return _report(args, result, "rollback")


def cmd_runs(args: argparse.Namespace) -> int:
    from remediate.engine.runs import Runs

    runs = Runs(args.runs_dir)
    if args.action == "list":
        if args.run_id:
            raise InputError("`remediate runs list` takes no RUN; use `remediate runs show RUN`")
        return _list_runs(runs, args.format)
    if not args.run_id:
        raise InputError("`remediate runs show` needs a RUN id (see `remediate runs`)")
    return _show_run(runs, args.run_id, args.format)


def _list_runs(runs: Any, fmt: str) -> int:
    found = runs.list()
    if fmt == "json":
        print(json.dumps([{"run_id": r.run_id, **r.meta} for r in found], indent=2, default=str))
        return EXIT_OK
    out = text.console()
    if not found:
        out.print(f"No runs in {runs.root}.", markup=False)
    for info in found:
        if "damaged" in info.meta:
            out.print(f"{info.run_id}  DAMAGED: {info.meta['damaged']}", markup=False)
            continue
        summary = info.meta.get("summary") or {}
        hosts = summary.get("hosts") or {}
        changed = _journaled_changes(info)
        state = (
            "unfinished"
            if "finished" not in info.meta
            else ("aborted" if summary.get("aborted") else "finished")
        )
        extra = f" of {info.meta['rollback_of']}" if info.meta.get("rollback_of") else ""
        out.print(
            f"{info.run_id}  {info.kind}{extra:<10}  {state:<10}  {len(hosts)} host(s), "
            f"{changed} change(s)  by {info.meta.get('user')}",
            markup=False,
        )
    return EXIT_OK


def _journaled_changes(info: Any) -> str:
    """How many changes the journal says were made (the summary misses interrupted runs)."""
    from remediate.errors import JournalCorrupt

    try:
        records = info.journal()
    except JournalCorrupt:
        return "? (damaged journal)"
    done = [r for r in records if r.phase == "outcome" and r.status in ("applied", "reverted")]
    return str(len(done))


def _show_run(runs: Any, run_id: str, fmt: str) -> int:
    info = runs.get(run_id)
    records = info.journal()
    if fmt == "json":
        import attrs

        print(
            json.dumps(
                {"run": info.meta, "journal": [attrs.asdict(r) for r in records]},
                indent=2,
                default=str,
            )
        )
        return EXIT_OK
    out = text.console()
    out.print(
        f"run {info.run_id} ({info.kind}) started {info.meta.get('started')} by "
        f"{info.meta.get('user')}: {' '.join(info.meta.get('arguments') or [])}",
        markup=False,
    )
    outcomes = {(r.host, r.address): r for r in records if r.phase == "outcome"}
    for record in (r for r in records if r.phase == "intent"):
        done = outcomes.get((record.host, record.address))
        status = done.status if done else "IN FLIGHT (no outcome recorded)"
        out.print(
            f"  {record.host}  {record.address}  {show(record.before)} -> "
            f"{show(record.after)}  [{status}]",
            markup=False,
        )
    if not records:
        out.print("  no changes were made", markup=False)
    return EXIT_OK
