"""Host locks: a live holder refuses a second run; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.engine.locks import HostLock
from remediate.errors import HostLocked


def test_a_second_run_on_a_locked_endpoint_is_refused_whatever_the_host_is_called(
    tmp_path: Path,
) -> None:
    with HostLock("10.0.0.1:5986", "mail001", "run-a", root=tmp_path):
        with pytest.raises(HostLocked, match=r"mail-one: locked by run run-a"):
            HostLock("10.0.0.1:5986", "mail-one", "run-b", root=tmp_path).acquire()
        HostLock("10.0.0.2:5986", "mail002", "run-b", root=tmp_path).acquire()  # others are free
    with HostLock("10.0.0.1:5986", "mail001", "run-b", root=tmp_path):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = HostLock("10.0.0.1:5986", "mail001", "run-new", root=tmp_path)
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(json.dumps({"pid": int(dead.stdout), "run": "run-killed"}))
    with lock:
        assert json.loads(lock.path.read_text())["run"] == "run-new"
    assert not lock.path.exists()
