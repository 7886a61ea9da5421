"""Host locks: one run at a time changes a host; a lock left by a dead process is taken over.

Locks live in one directory per user on the control machine, whatever runs directory a run
uses ($REMEDIATE_LOCK_DIR, else $XDG_RUNTIME_DIR/remediate-locks, else
/tmp/remediate-locks-UID), and are keyed by the endpoint a run connects to, so two
inventories naming one host differently still exclude each other.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

from remediate.errors import HostLocked
from remediate.processes import pid_alive


def lock_dir() -> Path:
    explicit = os.environ.get("REMEDIATE_LOCK_DIR")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "remediate-locks"
    return Path("/tmp") / f"remediate-locks-{os.getuid()}"


class HostLock:
    """An exclusive lock file per endpoint (`ENDPOINT.lock` in `lock_dir()`)."""

    def __init__(self, endpoint: str, host: str, run_id: str, root: Path | None = None) -> None:
        self.path = (root or lock_dir()) / f"{_safe(endpoint)}.lock"
        self.host = host
        self.run_id = run_id
        self._held = False

    def acquire(self) -> None:
        self._prepare_dir()
        body = json.dumps(
            {"pid": os.getpid(), "run": self.run_id, "on": socket.gethostname(), "host": self.host}
        )
        # Written whole, then linked into place: a reader never sees a half-written lock.
        draft = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self)}")
        draft.write_text(body)
        try:
            for _ in range(2):
                try:
                    os.link(draft, self.path)
                except FileExistsError:
                    if self._holder_alive():
                        raise HostLocked(
                            f"{self.host}: locked by {self._describe_holder()}"
                        ) from None
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                self._held = True
                return
        finally:
            draft.unlink(missing_ok=True)
        raise HostLocked(f"{self.host}: could not take the lock at {self.path}")

    def _prepare_dir(self) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.getuid():
            raise HostLocked(
                f"the lock directory {folder} belongs to another user; set REMEDIATE_LOCK_DIR"
            )

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
