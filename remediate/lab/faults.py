"""Per-host knobs of the lab: fault injection, emulated latency, credentials, traffic counters."""

from __future__ import annotations

import contextlib
import hmac
import threading
import time
from collections.abc import Callable

import attrs

from remediate.errors import InputError
from remediate.lab.cmdexec import DEFAULT_CODEPAGE, Listener
from remediate.lab.host import CommandDropped, ExecResult, LabHost

SPEC_HELP = "drop-after=N, http500=N, hang=SECONDS, refuse or clear"


@attrs.frozen
class FaultSpec:
    """One parsed `remediate lab fault` SPEC."""

    kind: str  # "drop-after" | "http500" | "hang" | "refuse" | "clear"
    value: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Parse SPEC or raise InputError naming the accepted forms."""
        text = spec.strip().lower()
        if text in ("refuse", "clear"):
            return cls(text)
        name, sep, raw = text.partition("=")
        if not sep or name not in ("drop-after", "http500", "hang"):
            raise InputError(f"bad fault spec {spec!r}: expected {SPEC_HELP}")
        try:
            value = int(raw) if name != "hang" else float(raw)
        except ValueError:
            raise InputError(f"bad fault spec {spec!r}: {raw!r} is not a number") from None
        low = 1 if name == "http500" else 0
        if value < low or value != value or value > 1e6:
            raise InputError(f"bad fault spec {spec!r}: the number must be >= {low}")
        return cls(name, float(value))


class HostFaults:
    """The faults armed on one host: count-based ones fire once; refuse stays until clear.

    - drop-after=N: the next N commands run, the one after raises CommandDropped (the server then
      drops the connection without replying);
    - http500=N: the Nth request from now (WinRM HTTP request or SSH channel request) fails
      (HTTP 500 / channel request refused) without being processed;
    - hang=S: the next command stalls S seconds before it runs (outside the host's lock, so
      other connections, `lab state` and `lab exec` go on meanwhile);
    - refuse: the host's listening sockets are closed (connection refused) until `clear`.
    """

    def __init__(self, dropped: Callable[[str], BaseException]) -> None:
        self._lock = threading.Lock()
        self._dropped = dropped
        self.drop_after: int | None = None
        self.http500_in: int | None = None
        self.hang_seconds: float = 0.0
        self.refuse = False
        self._release = threading.Event()
        # How a stall lets go of the host while it waits (LabHost.unlocked, set by HostKnobs).
        self.outside: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext

    def release(self) -> None:
        """Wake any command stalled by hang=S now (on clear and when the lab stops)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def apply(self, spec: FaultSpec) -> None:
        with self._lock:
            if spec.kind == "clear":
                self.drop_after, self.http500_in, self.hang_seconds = None, None, 0.0
                self.refuse = False
                self._release.set()
                self._release = threading.Event()
            elif spec.kind == "drop-after":
                self.drop_after = int(spec.value)
            elif spec.kind == "http500":
                self.http500_in = int(spec.value)
            elif spec.kind == "hang":
                self.hang_seconds = spec.value
            elif spec.kind == "refuse":
                self.refuse = True

    def command_hook(self, text: str) -> None:
        """LabHost.command_hook: runs before each simple command (hang, then maybe drop)."""
        with self._lock:
            hang, self.hang_seconds = self.hang_seconds, 0.0
            release = self._release
            drop = self.drop_after == 0
            if self.drop_after is not None:
                self.drop_after = None if drop else self.drop_after - 1
        if hang > 0:
            with self.outside():
                release.wait(hang)
        if drop:
            raise self._dropped(f"fault injection: connection dropped before {text[:60]!r}")

    def request_fails(self) -> bool:
        """Count one request; True when it is the one armed by http500=N."""
        with self._lock:
            if self.http500_in is None:
                return False
            self.http500_in -= 1
            if self.http500_in > 0:
                return False
            self.http500_in = None
            return True

    def describe(self) -> dict[str, object]:
        """The armed faults as JSON (shown by `remediate lab state`)."""
        with self._lock:
            return {
                "drop_after": self.drop_after,
                "http500_in": self.http500_in,
                "hang_seconds": self.hang_seconds,
                "refuse": self.refuse,
            }


class HostKnobs:
    """What both servers need for one host: interpreter, credentials, latency, faults, counters."""

    def __init__(
        self,
        host: LabHost,
        user: str,
        password: str,
        latency: float = 0.0,
        authorized_keys: tuple[str, ...] = (),
    ) -> None:
        self.host = host
        self.name = host.name
        self.user = user
        self._password = password
        self.latency = latency
        self.authorized_keys = authorized_keys  # base64 public keys accepted for SSH publickey auth
        self.faults = HostFaults(CommandDropped)
        self._count_lock = threading.Lock()
        for key in ("requests", "round_trips", "connections"):
            host.counters.setdefault(key, 0)
        host.command_hook = self.faults.command_hook
        self.faults.outside = host.unlocked

    def credentials_ok(self, user: str, password: str) -> bool:
        """Constant-time check of the lab credentials."""
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        same_password = hmac.compare_digest(password.encode(), self._password.encode())
        return same_user and same_password

    def count(self, key: str, amount: int = 1) -> None:
        """Add to one of the servers' counters (requests, round_trips, connections)."""
        with self._count_lock:
            self.host.counters[key] = self.host.counters.get(key, 0) + amount

    def delay(self) -> None:
        """Emulate the network round trip of one request."""
        if self.latency > 0:
            time.sleep(self.latency)

    def execute(
        self,
        command_line: str,
        stdin: bytes | None,
        codepage: int = DEFAULT_CODEPAGE,
        stdout: Listener | None = None,
        stderr: Listener | None = None,
    ) -> ExecResult:
        """Run a client's command on the host (CommandDropped propagates: drop the connection).

        `codepage` is the console's starting code page; `stdout`/`stderr` see output as it
        is produced."""
        return self.host.execute(command_line, stdin, codepage, stdout, stderr)
