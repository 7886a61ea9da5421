"""The fleet runner: hosts in serial batches, forks at a time, failure thresholds, deadlines."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import attrs

R = TypeVar("R")


def batches(names: Sequence[str], serial: Sequence[int | str]) -> list[list[str]]:
    """Split hosts as Ansible's `serial` does: ints or "N%"; the last size repeats."""
    if not serial:
        return [list(names)] if names else []
    sizes = [_size(s, len(names)) for s in serial]
    out: list[list[str]] = []
    start = 0
    step = 0
    while start < len(names):
        size = sizes[min(step, len(sizes) - 1)]
        out.append(list(names[start : start + size]))
        start += size
        step += 1
    return out


def _size(spec: int | str, total: int) -> int:
    if isinstance(spec, str) and spec.endswith("%"):
        return max(1, int(total * float(spec[:-1]) / 100))
    return max(1, int(spec))


@attrs.frozen
class FleetOutcome(Generic[R]):
    results: dict[str, R]
    aborted: bool
    abort_reason: str | None = None


@attrs.frozen
class FleetPolicy:
    forks: int = 20
    serial: tuple[int | str, ...] = ()
    max_fail_percentage: float | None = None
    any_errors_fatal: bool = False
    host_deadline: float | None = None


def run_fleet(
    names: Sequence[str],
    worker: Callable[[str], R],
    policy: FleetPolicy,
    *,
    is_failure: Callable[[R], bool],
    on_deadline: Callable[[str], R],
    on_skipped: Callable[[str], R],
) -> FleetOutcome[R]:
    """Run `worker` for every host; stop starting batches once a threshold is crossed."""
    results: dict[str, R] = {}
    groups = batches(names, policy.serial)
    for number, group in enumerate(groups):
        done = _run_batch(group, worker, policy, on_deadline)
        results.update(done)
        failed = sum(1 for name in group if is_failure(done[name]))
        reason = _abort_reason(failed, len(group), policy)
        if reason and number < len(groups) - 1:
            for later in groups[number + 1 :]:
                for name in later:
                    results[name] = on_skipped(name)
            return FleetOutcome(results, True, reason)
        if reason:  # the last batch crossed it: nothing was left to stop
            return FleetOutcome(results, False, reason)
    return FleetOutcome(results, False)


def _abort_reason(failed: int, size: int, policy: FleetPolicy) -> str | None:
    if failed and policy.any_errors_fatal:
        return f"{failed} host(s) failed and any_errors_fatal is set"
    if policy.max_fail_percentage is not None and size:
        percent = 100.0 * failed / size
        if percent > policy.max_fail_percentage:
            return (
                f"{failed} of {size} hosts in the batch failed ({percent:.0f}%), over "
                f"max_fail_percentage {policy.max_fail_percentage:g}%"
            )
    return None


def _run_batch(
    group: Sequence[str],
    worker: Callable[[str], R],
    policy: FleetPolicy,
    on_deadline: Callable[[str], R],
) -> dict[str, R]:
    """Daemon worker threads, so a host stuck past its deadline cannot hold the run open."""
    todo: queue.Queue[str] = queue.Queue()
    for name in group:
        todo.put(name)
    finished: queue.Queue[tuple[str, R]] = queue.Queue()
    started: dict[str, float] = {}
    lock = threading.Lock()

    def loop() -> None:
        while True:
            try:
                name = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                started[name] = time.monotonic()
            finished.put((name, worker(name)))

    for _ in range(max(1, min(policy.forks, len(group)))):
        threading.Thread(target=loop, daemon=True, name="remediate-host").start()
    return _collect(group, finished, started, lock, policy, on_deadline)


def _collect(
    group: Sequence[str],
    finished: queue.Queue[tuple[str, R]],
    started: dict[str, float],
    lock: threading.Lock,
    policy: FleetPolicy,
    on_deadline: Callable[[str], R],
) -> dict[str, R]:
    done: dict[str, R] = {}
    while len(done) < len(group):
        try:
            name, result = finished.get(timeout=0.2)
        except queue.Empty:
            late = _overdue(started, done, lock, policy)
            if late is None:
                continue
            name, result = late, on_deadline(late)
        if name in done:
            continue  # a host that finished after its deadline was already reported
        done[name] = result
    return done


def _overdue(
    started: dict[str, float], done: dict[str, R], lock: threading.Lock, policy: FleetPolicy
) -> str | None:
    """The first host still working past its deadline, if any."""
    if policy.host_deadline is None:
        return None
    now = time.monotonic()
    with lock:
        late = [n for n, t in started.items() if n not in done and now - t > policy.host_deadline]
    return late[0] if late else None
