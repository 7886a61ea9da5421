"""The fleet runner: serial batches, failure thresholds, deadlines, forks."""

from __future__ import annotations

import threading
import time

from remediate.engine.runner import FleetPolicy, batches, run_fleet

HOSTS = [f"h{i:02d}" for i in range(10)]


def test_serial_sizes_last_one_repeats() -> None:
    assert [len(b) for b in batches(HOSTS, (1, 3))] == [1, 3, 3, 3]
    assert [len(b) for b in batches(HOSTS, ("30%",))] == [3, 3, 3, 1]
    assert [len(b) for b in batches(HOSTS, ())] == [10]
    assert [len(b) for b in batches(HOSTS, ("1%",))] == [1] * 10


def _run(policy: FleetPolicy, bad: set[str]) -> tuple[dict[str, str], bool]:
    outcome = run_fleet(
        HOSTS,
        lambda n: "failed" if n in bad else "ok",
        policy,
        is_failure=lambda r: r == "failed",
        on_deadline=lambda n: "late",
        on_skipped=lambda n: "skipped",
    )
    return outcome.results, outcome.aborted


def test_max_fail_percentage_stops_the_batches_after_the_one_that_exceeds_it() -> None:
    results, aborted = _run(FleetPolicy(serial=(4,), max_fail_percentage=20), {"h05", "h06"})
    assert aborted
    assert [results[h] for h in HOSTS[:4]] == ["ok"] * 4
    assert results["h05"] == results["h06"] == "failed"
    assert [results[h] for h in HOSTS[8:]] == ["skipped", "skipped"]


def test_failures_at_the_threshold_do_not_abort() -> None:
    results, aborted = _run(FleetPolicy(serial=(5,), max_fail_percentage=20), {"h01"})
    assert not aborted
    assert results["h01"] == "failed" and results["h09"] == "ok"


def test_any_errors_fatal_aborts_on_one_failure() -> None:
    results, aborted = _run(FleetPolicy(serial=(2,), any_errors_fatal=True), {"h00"})
    assert aborted and results["h02"] == "skipped"


def test_a_host_past_its_deadline_is_reported_and_the_run_goes_on() -> None:
    release = threading.Event()

    def work(name: str) -> str:
        if name == "h03":
            release.wait(30)
        return "ok"

    outcome = run_fleet(
        HOSTS,
        work,
        FleetPolicy(forks=4, host_deadline=0.5),
        is_failure=lambda r: r != "ok",
        on_deadline=lambda n: "late",
        on_skipped=lambda n: "skipped",
    )
    release.set()
    assert outcome.results["h03"] == "late"
    assert all(outcome.results[h] == "ok" for h in HOSTS if h != "h03")


def test_forks_bound_the_hosts_worked_on_at_once() -> None:
    busy, peak, lock = [0], [0], threading.Lock()

    def work(name: str) -> str:
        with lock:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        time.sleep(0.02)
        with lock:
            busy[0] -= 1
        return "ok"

    run_fleet(
        HOSTS,
        work,
        FleetPolicy(forks=3),
        is_failure=lambda r: False,
        on_deadline=lambda n: "late",
        on_skipped=lambda n: "skipped",
    )
    assert peak[0] == 3
