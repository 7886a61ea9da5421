"""`make demo` tells its story to the end: plan, apply, nothing left, rollback, state restored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.lab
def test_demo_runs_and_restores_every_host(tmp_path: Path) -> None:
    env = {**os.environ, "REMEDIATE_DEMO_DIR": str(tmp_path / "demo")}
    done = subprocess.run(
        [sys.executable, "-m", "remediate.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    for step in (
        "$ remediate plan",
        "$ remediate apply",
        "Plan: nothing to do.",
        "$ remediate rollback",
        "Nothing to roll back",
        "exactly what it was before the apply",
    ):
        assert step in out, step
    assert "Traceback" not in done.stderr
