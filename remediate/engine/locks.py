"""Host locks: one run at a time changes a host; a lock left by a dead process is taken over."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

from remediate.errors import HostLocked
from remediate.processes import pid_alive


class HostLock:
    """An exclusive lock file per host under the runs directory (`locks/HOST.lock`)."""

    def __init__(self, root: Path, host: str, run_id: str) -> None:
        self.path = root / "locks" / f"{_safe(host)}.lock"
        self.host = host
        self.run_id = run_id
        self._held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = json.dumps({"pid": os.getpid(), "run": self.run_id, "on": socket.gethostname()})
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                if self._holder_alive():
                    raise HostLocked(f"{self.host}: locked by {self._describe_holder()}") from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(body)
            self._held = True
            return
        raise HostLocked(f"{self.host}: could not take the lock at {self.path}")

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _holder_alive(self) -> bool:
        holder = self._read()
        pid = holder.get("pid")
        if holder.get("on") not in (None, socket.gethostname()):
            return True  # another machine's lock: cannot tell, so respect it
        return isinstance(pid, int) and pid_alive(pid)

    def _describe_holder(self) -> str:
        holder = self._read()
        return f"run {holder.get('run')} (pid {holder.get('pid')}); remove {self.path} if stale"

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


def _safe(host: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in host)
