"""Fleet benchmark: plan, apply and roll back a lab fleet; wall time and round trips per host.

    make bench                      # 50 hosts, 200 mailboxes each, 25 ms emulated RTT
    .venv/bin/python bench/fleet.py --hosts 200 --latency-ms 50 --forks 40

Round trips are counted by the lab servers (what crosses the network), not guessed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script from bench/: import the package from the checkout, not as a namespace.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import remediate  # noqa: E402
from remediate.lab.fleet import Fleet  # noqa: E402


def counters(fleet: Fleet) -> dict[str, dict[str, int]]:
    return {name: dict(fleet.state(name).get("counters", {})) for name in fleet.hosts}  # type: ignore[call-overload]


def delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], key: str, hosts: list[str]
) -> list[int]:
    return [after[h].get(key, 0) - before[h].get(key, 0) for h in hosts]


def measure(label: str, fleet: Fleet, hosts: list[str], body: Callable[[], Any]) -> Any:
    start_counts = counters(fleet)
    started = time.perf_counter()
    result = body()
    elapsed = time.perf_counter() - started
    end_counts = counters(fleet)
    trips = delta(start_counts, end_counts, "round_trips", hosts)
    requests = delta(start_counts, end_counts, "requests", hosts)
    print(
        f"{label:<10} {elapsed:7.2f} s  {len(hosts) / elapsed:7.1f} hosts/s  "
        f"round trips/host: median {statistics.median(trips):g} max {max(trips)}  "
        f"requests/host: median {statistics.median(requests):g} max {max(requests)}"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--mailboxes", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--transport", default="both", choices=("winrm", "ssh", "both"))
    args = parser.parse_args()
    playbook = Path(__file__).resolve().parent.parent / "playbooks" / "keep-off-blacklists.yml"
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with Fleet.start(
            Path(tmp) / "lab",
            hosts=args.hosts,
            workstations=1,
            mailboxes=args.mailboxes,
            seed=11,
            transport=args.transport,
            latency_ms=args.latency_ms,
        ) as fleet:
            print(
                f"lab: {args.hosts} MailSite hosts x {args.mailboxes} mailboxes, "
                f"{args.latency_ms:g} ms RTT, transport {args.transport}, "
                f"up in {time.perf_counter() - started:.1f} s; forks {args.forks}"
            )
            mail = sorted(h for h in fleet.hosts if h.startswith("mail"))
            inventory = str(fleet.inventory_path)
            runs = Path(tmp) / "runs"
            plan = measure(
                "plan",
                fleet,
                mail,
                lambda: remediate.plan(str(playbook), inventory, forks=args.forks),
            )
            print(f"           {len(plan.changes)} change(s) planned")
            result = measure(
                "apply", fleet, mail, lambda: remediate.apply(plan, forks=args.forks, runs_dir=runs)
            )
            measure(
                "replan",
                fleet,
                mail,
                lambda: remediate.plan(str(playbook), inventory, forks=args.forks),
            )
            measure(
                "rollback",
                fleet,
                mail,
                lambda: remediate.rollback(str(result.run_id), runs_dir=runs, forks=args.forks),
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
