"""Helpers for engine tests against lab fleets: run the CLI, read host state without counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(ROOT / "playbooks" / "keep-off-blacklists.yml")


class Cli:
    """Runs `python -m remediate` as a user would, with a runs dir of the test's own."""

    def __init__(self, runs: Path) -> None:
        self.runs = runs

    def __call__(
        self, *args: str, timeout: float = 180, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "REMEDIATE_RUNS_DIR": str(self.runs)}
        env.pop("REMEDIATE_DEBUG", None)
        done = subprocess.run(
            [sys.executable, "-m", "remediate", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "REMEDIATE_RUNS_DIR": str(self.runs)}
        return subprocess.Popen(
            [sys.executable, "-m", "remediate", *args],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def latest_run(self) -> str:
        runs = sorted(p.name for p in self.runs.iterdir() if (p / "run.json").exists())
        return runs[-1]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "runs")


RUNTIME_KEYS = ("counters", "faults", "winrm_open_shells")


def states(fleet: Any) -> dict[str, Any]:
    """Every host's canonical state, less what only describes the lab's own traffic
    (counters of our reads, armed faults, WinRM shells a killed client left open)."""
    out = {}
    for name in sorted(fleet.hosts):
        state = json.loads(json.dumps(fleet.state(name)))
        for key in RUNTIME_KEYS:
            state.pop(key, None)
        out[name] = state
    return out
