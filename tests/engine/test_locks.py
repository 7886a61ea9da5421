"""Host locks: a live holder refuses a second run; the lock dies with its process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.engine.locks import HostLock
from remediate.errors import HostLocked

HOLD = """
import sys, time
from pathlib import Path
from remediate.engine.locks import HostLock
lock = HostLock("10.0.0.1:5986", "mail001", "run-held", root=Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_run_on_a_locked_endpoint_is_refused_whatever_the_host_is_called(
    tmp_path: Path,
) -> None:
    with HostLock("10.0.0.1:5986", "mail001", "run-a", root=tmp_path):
        with pytest.raises(HostLocked, match=r"mail-one: locked by run run-a"):
            HostLock("10.0.0.1:5986", "mail-one", "run-b", root=tmp_path).acquire()
        with HostLock("10.0.0.2:5986", "mail002", "run-b", root=tmp_path):
            pass  # other endpoints are free
    with HostLock("10.0.0.1:5986", "mail001", "run-b", root=tmp_path):
        pass


def test_a_lock_dies_with_the_process_that_held_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(HostLocked, match="run run-held"):
            HostLock("10.0.0.1:5986", "mail001", "run-new", root=tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with HostLock("10.0.0.1:5986", "mail001", "run-new", root=tmp_path):
        pass
