"""Human output with rich: plans as per-host diffs with reasons, recaps, progress over hosts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from remediate.engine.planning import show
from remediate.model import Change, ChangeResult, Finding, HostPlan, HostResult, Plan

SYMBOL = {"create": "+", "update": "~", "delete": "-"}
STYLE = {"create": "green", "update": "yellow", "delete": "red"}
STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "stale": "bold magenta",
    "skipped": "dim",
}


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Text from hosts (a mailbox name with ESC in it, say) made harmless for a terminal."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeConsole(Console):
    """A console that never sends a control character it did not produce itself."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(_cleaned(o) for o in objects), **kwargs)


def _cleaned(item: Any) -> Any:
    if isinstance(item, str):
        return clean(item)
    if isinstance(item, Text) and _UNSAFE.search(item.plain):
        return Text(clean(item.plain), style=item.style)
    return item


def console(stderr: bool = False) -> Console:
    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True)


def _local(address: str, host: str) -> str:
    return address[len(host) + 1 :] if address.startswith(host + "/") else address


def change_line(change: Change, host: str) -> Text:
    line = Text("  ")
    line.append(f"{SYMBOL[change.action]} ", style=STYLE[change.action])
    line.append(_local(change.address, host), style="bold")
    line.append(f"  {show(change.before)} -> {show(change.after)}")
    if not change.reversible:
        line.append("  (irreversible)", style="bold red")
    return line


def finding_line(finding: Finding, host: str) -> Text:
    line = Text("  ")
    line.append("! ", style="magenta")
    line.append(_local(finding.address, host), style="bold")
    line.append(f": {finding.message}")
    return line


def print_plan(plan: Plan, out: Console, diff: bool = True) -> None:
    several = len({hp.play for hp in plan.hosts}) > 1
    play = None
    for hp in plan.hosts:
        if several and hp.play != play:
            play = hp.play
            names = [str(p.get("name", "")) for p in plan.plays if p.get("index") == play]
            out.print(
                Text(
                    f"play {play + 1}: {names[0] if names else ''}".rstrip(": "),
                    style="bold underline",
                )
            )
        _print_host_plan(hp, out, diff)
    out.print(plan_summary(plan))


def _print_host_plan(hp: HostPlan, out: Console, diff: bool) -> None:
    if hp.failed:
        out.print(
            Text(
                f"{hp.host}: {hp.status.upper()} {hp.error or ''}".rstrip(),
                style=STATUS_STYLE.get(hp.status, "red"),
            )
        )
        return
    if not hp.changes and not hp.findings:
        out.print(Text(f"{hp.host}: nothing to change", style="green"))
        return
    head = f"{len(hp.changes)} to change" if hp.changes else "nothing to change"
    out.print(Text(f"{hp.host}: {head}, {len(hp.findings)} finding(s)", style="bold"))
    for change in hp.changes:
        out.print(change_line(change, hp.host))
        if diff:
            out.print(Text(f"      why: {change.reason}", style="dim"))
    for finding in hp.findings:
        out.print(finding_line(finding, hp.host))
        for line in finding.evidence[:5]:
            out.print(Text(f"      {line}", style="dim"))


def print_failed_hosts(plan: Plan, out: Console) -> None:
    """Only the hosts that could not be planned (what -q still shows)."""
    for hp in plan.hosts:
        if hp.failed:
            _print_host_plan(hp, out, diff=False)


def plan_summary(plan: Plan) -> Text:
    # A change several plays plan on one host is made once: count it once.
    changes = list({(hp.host, c.address): c for hp in plan.hosts for c in hp.changes}.values())
    hosts_changing = len({hp.host for hp in plan.hosts if hp.changes})
    irreversible = sum(1 for c in changes if not c.reversible)
    findings = len({(hp.host, f.address, f.message) for hp in plan.hosts for f in hp.findings})
    statuses = Counter({hp.host: hp.status for hp in plan.hosts if hp.failed}.values())
    hosts = len({hp.host for hp in plan.hosts})
    parts = [f"{len(changes)} change(s) on {hosts_changing} of {hosts} host(s)"]
    if irreversible:
        parts.append(f"{irreversible} irreversible")
    parts.append(f"{findings} finding(s)")
    parts.extend(f"{n} host(s) {s}" for s, n in sorted(statuses.items()))
    if not changes and not statuses:
        return Text("Plan: nothing to do. " + ", ".join(parts[1:]) + ".", style="bold green")
    return Text("Plan: " + ", ".join(parts) + ".", style="bold")


def _result_detail(result: HostResult) -> str:
    applied = Counter(c.status for c in result.changes)
    bits = [f"{n} {s}" for s, n in sorted(applied.items())]
    if result.findings:
        bits.append(f"{len(result.findings)} finding(s)")
    if result.message:
        bits.append(result.message)
    return "; ".join(bits)


def print_recap(
    results: Sequence[HostResult],
    out: Console,
    run_id: str | None,
    verbose: bool = False,
    quiet: bool = False,
    diff: bool = False,
) -> None:
    """A line per host (with -q only the hosts that did not end well), then the totals."""
    shown = [r for r in results if r.failed] if quiet else list(results)
    if shown:
        out.print(Text("RECAP", style="bold"))
    width = max((len(r.host) for r in shown), default=4)
    several = len({r.play for r in results}) > 1
    play = None
    for result in shown:
        if several and result.play != play:
            play = result.play
            out.print(Text(f"play {play + 1}", style="bold"))
        line = Text(f"{result.host:<{width}}  ")
        line.append(f"{result.status:<12}", style=STATUS_STYLE.get(result.status, ""))
        line.append(_result_detail(result))
        out.print(line)
        if verbose or diff or result.failed:
            for change in result.changes:
                out.print(_change_result_line(change, result.host, diff))
    counts = Counter(r.status for r in results)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no hosts"
    tail = f" (run {run_id})" if run_id else ""
    hosts = len({r.host for r in results})
    unit = f"{hosts} host(s)" if not several else f"{hosts} host(s), {len(results)} host-plays"
    out.print(Text(f"{unit}: {summary}{tail}", style="bold"))


def _change_result_line(result: ChangeResult, host: str, diff: bool = False) -> Text:
    line = Text(f"    {result.status:<12} {_local(result.change.address, host)}")
    if diff:
        line.append(f"  {show(result.change.before)} -> {show(result.change.after)}")
    if result.error:
        line.append(f"  {result.error}", style="red")
    return line
