"""Local connection: commands run on this machine through `sh`, started without a shell.

`subprocess` gets an argv (`sh -s`, never a shell string); the batch goes to sh's stdin
exactly as it would over SSH, so the local and remote sh dialects behave the same.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

from remediate.errors import InputError
from remediate.model import ConnectionSettings
from remediate.transport.batch import MAX_SCRIPT_BYTES
from remediate.transport.retry import RetryPolicy
from remediate.transport.session import Exchanged, ShellConnection, TimedOut

DRAIN_SECONDS = 1.0  # how long to read what a killed session still says


class LocalConnection(ShellConnection):
    """Runs batches in a local `sh -s` child, one child per round trip."""

    def __init__(
        self,
        settings: ConnectionSettings,
        policy: RetryPolicy | None = None,
        max_script_bytes: int = MAX_SCRIPT_BYTES,
    ) -> None:
        super().__init__(settings, settings.shell_type, policy, max_script_bytes)
        if self.dialect != "sh":
            raise InputError(
                f"{settings.name}: the local connection speaks sh, "
                f"not ansible_shell_type={self.dialect}"
            )

    def _open(self) -> None:
        """Nothing to connect."""

    def _discard(self) -> None:
        """Nothing to drop."""

    def _shutdown(self) -> None:
        """Nothing to close."""

    def _exchange(self, command_line: str, stdin: bytes, deadline: float) -> Exchanged:
        argv = command_line.split()  # SESSION_COMMAND: a fixed argv, e.g. "sh -s"
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        try:
            stdout, stderr = process.communicate(stdin, timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            _kill_group(process)
            try:
                stdout, stderr = process.communicate(timeout=DRAIN_SECONDS)
            except subprocess.TimeoutExpired:
                # A grandchild that left our process group still holds the pipes: stop
                # waiting for their end; what was said so far is lost with them.
                for pipe in (process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
                process.wait()
                stdout, stderr = b"", b""
            raise TimedOut(stdout or b"", stderr or b"") from None
        return Exchanged(stdout, stderr, process.returncode)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and whatever it started (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)
