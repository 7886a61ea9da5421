"""Host locks: one run at a time changes a host; a lock dies with the process that held it.

Locks live in one directory per user on the control machine, whatever runs directory a run
uses ($REMEDIATE_LOCK_DIR, else $XDG_RUNTIME_DIR/remediate-locks, else
/tmp/remediate-locks-UID), and are keyed by the endpoint a run connects to, so two
inventories naming one host differently still exclude each other. The lock is an flock on
the file, so the kernel releases it when its process dies, however it dies: there is no
stale lock to detect and no race in taking one over.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from remediate.errors import HostLocked


def lock_dir() -> Path:
    explicit = os.environ.get("REMEDIATE_LOCK_DIR")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "remediate-locks"
    return Path("/tmp") / f"remediate-locks-{os.getuid()}"


class HostLock:
    """An exclusive flock on `ENDPOINT.lock` in `lock_dir()`; the file names its holder."""

    def __init__(self, endpoint: str, host: str, run_id: str, root: Path | None = None) -> None:
        self.path = (root or lock_dir()) / f"{_safe(endpoint)}.lock"
        self.host = host
        self.run_id = run_id
        self._fd = -1

    def acquire(self) -> None:
        self._prepare_dir()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise HostLocked(
                f"{self.host}: locked by run {holder.get('run')} (pid {holder.get('pid')}, "
                f"host {holder.get('host')}), which is still running"
            ) from None
        body = json.dumps(
            {"pid": os.getpid(), "run": self.run_id, "host": self.host, "on": socket.gethostname()}
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, body.encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = -1

    def _prepare_dir(self) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.getuid():
            raise HostLocked(
                f"the lock directory {folder} belongs to another user; set REMEDIATE_LOCK_DIR"
            )

    def __enter__(self) -> HostLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _safe(endpoint: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in endpoint)
