"""Host locks: a live holder refuses a second run; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.engine.locks import HostLock
from remediate.errors import HostLocked


def test_a_second_run_on_a_locked_host_is_refused_with_the_holder(tmp_path: Path) -> None:
    with HostLock(tmp_path, "mail001", "run-a"):
        with pytest.raises(HostLocked, match=r"mail001: locked by run run-a"):
            HostLock(tmp_path, "mail001", "run-b").acquire()
        HostLock(tmp_path, "mail002", "run-b").acquire()  # other hosts are free
    with HostLock(tmp_path, "mail001", "run-b"):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = HostLock(tmp_path, "mail001", "run-new")
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(json.dumps({"pid": int(dead.stdout), "run": "run-killed"}))
    with lock:
        assert json.loads(lock.path.read_text())["run"] == "run-new"
    assert not lock.path.exists()
