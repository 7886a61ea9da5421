"""`make demo`: a small lab fleet, then plan, apply, plan again, roll back, as a new user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

DEMO_DIR = Path(os.environ.get("REMEDIATE_DEMO_DIR", "demo-lab"))
PLAYBOOK = "playbooks/keep-off-blacklists.yml"
out = Console(highlight=False, soft_wrap=True)


def say(text: str) -> None:
    out.print()
    out.print(Rule(style="cyan"))
    out.print(text, markup=False)


def remediate(*args: str, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """Run the CLI exactly as a user would type it, and show what it printed."""
    shown = "remediate " + " ".join(args)
    out.print(f"$ {shown}", style="bold", markup=False)
    env = {**os.environ, "REMEDIATE_RUNS_DIR": str(DEMO_DIR / "runs")}
    done = subprocess.run(
        [sys.executable, "-m", "remediate", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    out.print(f"(exit {done.returncode})", style="dim", markup=False)
    if done.returncode not in expect:
        raise SystemExit(f"demo: `{shown}` exited {done.returncode}, expected {expect}")
    return done


def host_states(fleet: Any) -> dict[str, Any]:
    states = {}
    for name in sorted(fleet.hosts):
        state = dict(fleet.state(name))
        for key in ("counters", "faults", "winrm_open_shells"):  # the lab's own traffic
            state.pop(key, None)
        states[name] = state
    return states


def main() -> int:
    from remediate.lab.fleet import Fleet

    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    say(
        "1. Start a lab: 3 simulated MailSite servers and 1 workstation on loopback.\n"
        "   They speak real WinRM (HTTPS, lab CA) and real SSH (known_hosts), in front of a\n"
        "   cmd.exe-faithful interpreter with msbox. Some domains have no ReplyOnce on their\n"
        "   MailboxTemplate: blacklist probes then get an auto reply every time."
    )
    with Fleet.start(DEMO_DIR, hosts=3, workstations=1, mailboxes=12, seed=7) as fleet:
        inventory = os.path.relpath(fleet.inventory_path)
        before = host_states(fleet)
        remediate("inventory", "-i", inventory, "--graph")

        say(
            "2. Plan: read every host (one pipelined round trip each) and show what would change.\n"
            "   Nothing is written. The plan is saved for review."
        )
        plan_file = str(DEMO_DIR / "plan.json")
        remediate("plan", PLAYBOOK, "-i", inventory, "-o", plan_file)

        say(
            "3. Apply the reviewed plan. Each change is journaled (intent, then outcome)\n"
            "   before and after it touches the host; each host is then read again to verify."
        )
        remediate("apply", plan_file)
        run_id = _latest_run()

        say(
            "4. Plan again: the fleet has converged, so there is nothing to do (exit 0 with\n"
            "   --detailed-exitcode; 8 would mean changes pending)."
        )
        remediate("plan", PLAYBOOK, "-i", inventory, "--detailed-exitcode")

        say(f"5. The journal says what changed where in run {run_id}.")
        remediate("runs", "show", run_id)

        say(
            "6. Roll the run back: every change reverted newest first, as 'ensure before'\n"
            "   (a template that had no ReplyOnce gets it cleared, not set to 0)."
        )
        remediate("rollback", run_id)
        remediate("rollback", run_id)

        after = host_states(fleet)
        same = json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)
        say(
            "7. Every host's state is "
            + (
                "exactly what it was before the apply."
                if same
                else "NOT what it was before: a bug."
            )
        )
    say(f"Lab stopped. Files are in {DEMO_DIR}/ (inventory, plan.json, runs/).")
    return 0 if same else 1


def _latest_run() -> str:
    from remediate.engine.runs import Runs

    runs = Runs(DEMO_DIR / "runs").list()
    return runs[-1].run_id


if __name__ == "__main__":
    sys.exit(main())
