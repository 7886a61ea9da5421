"""The lab's SSH server (paramiko): password and key auth, exec requests with stdin, exit status."""

from __future__ import annotations

import contextlib
import hmac
import logging
import queue
import re
import socket
import threading
from concurrent.futures import Executor

import attrs
import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_REQUEST,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from remediate.lab.cmdexec import DEFAULT_CODEPAGE
from remediate.lab.faults import HostKnobs
from remediate.lab.host import CommandDropped

_log = logging.getLogger(__name__)
# The lab's server transports log here: clients hanging up mid-handshake or resetting the
# connection is ordinary traffic for a lab, not an error worth printing.
TRANSPORT_LOG = "remediate.lab.sshd.transport"
logging.getLogger(TRANSPORT_LOG).setLevel(logging.CRITICAL)
STDIN_WINDOW = 64 * 1024 * 1024

# `cmd`, `cmd.exe`, `C:\Windows\System32\cmd.exe /q /d` ... with no /c or /k command: reads stdin.
_INTERPRETER = re.compile(
    r"^\s*(?:\"?(?:[a-z]:\\[^\"]*\\)?cmd(?:\.exe)?\"?)((?:\s+/(?:[qdaunxy]|t:[0-9a-f]{1,2}|"
    r"[ef]:(?:on|off)|v:(?:on|off)|s|k))*)\s*$",
    re.IGNORECASE,
)


def reads_stdin(command_line: str) -> bool:
    """Whether the line starts the cmd interpreter itself, which then reads commands from stdin."""
    return _INTERPRETER.match(command_line) is not None


@attrs.define
class _ExecJob:
    channel: paramiko.Channel
    line: str


class LabTransport(paramiko.Transport):
    """A server transport that starts exec jobs only after paramiko has acknowledged the request.

    paramiko replies to a channel request after the server callback returns; a job that answered
    and closed the channel before that reply would make the client fail with "Channel closed".
    Jobs that read stdin start once the client's EOF arrives, so no worker waits on the client.
    """

    def __init__(self, sock: socket.socket, executor: Executor, knobs: HostKnobs) -> None:
        # A big window: stdin for `cmd` is read only after EOF, so the client must not stall.
        super().__init__(sock, default_window_size=STDIN_WINDOW)
        self.set_log_channel(TRANSPORT_LOG)
        self.executor = executor
        self.knobs = knobs
        self.pending: dict[int, _ExecJob] = {}
        self._awaiting_eof: dict[int, _ExecJob] = {}
        table = dict(paramiko.Transport._channel_handler_table)  # type: ignore[attr-defined]
        table[MSG_CHANNEL_REQUEST] = self._on_request
        table[MSG_CHANNEL_EOF] = self._on_eof
        self._channel_handler_table = table

    def _on_request(self, channel: paramiko.Channel, message: paramiko.Message) -> None:
        paramiko.Channel._handle_request(channel, message)  # type: ignore[attr-defined]
        job = self.pending.pop(channel.get_id(), None)
        if job is None:
            return
        if reads_stdin(job.line) and not channel.eof_received:
            self._awaiting_eof[channel.get_id()] = job
        else:
            self.executor.submit(run_exec, self, job)

    def _on_eof(self, channel: paramiko.Channel, message: paramiko.Message) -> None:
        paramiko.Channel._handle_eof(channel, message)  # type: ignore[attr-defined]
        job = self._awaiting_eof.pop(channel.get_id(), None)
        if job is not None:
            self.executor.submit(run_exec, self, job)


class _Streamer:
    """Sends a job's output as the interpreter produces it, from a thread of its own: sendall
    can wait on the client's window, and the interpreter must not wait while it holds the host.
    """

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.queue: queue.SimpleQueue[tuple[bool, bytes] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._send, name="lab-ssh-out", daemon=True)
        self.thread.start()

    def stdout(self, data: bytes) -> None:
        self.queue.put((False, data))

    def stderr(self, data: bytes) -> None:
        self.queue.put((True, data))

    def _send(self) -> None:
        broken = False
        while (item := self.queue.get()) is not None:
            if broken:
                continue
            to_stderr, data = item
            try:
                (self.channel.sendall_stderr if to_stderr else self.channel.sendall)(data)
            except (OSError, EOFError, paramiko.SSHException):
                broken = True  # the client went away: drop the rest

    def flush(self) -> None:
        """Wait until everything produced so far has been sent (or the channel broke)."""
        self.queue.put(None)
        self.thread.join()


def run_exec(transport: LabTransport, job: _ExecJob) -> None:
    """Run one exec request on the host, streaming its output; then exit status and close.

    Windows OpenSSH starts cmd at the OEM code page (437). After a dropped command (fault
    injection) the output produced before it has gone out, then the connection is closed.
    """
    channel, knobs = job.channel, transport.knobs
    try:
        stdin = _drain(channel) if reads_stdin(job.line) else None
        knobs.delay()
        streamer = _Streamer(channel)
        try:
            result = knobs.execute(
                job.line, stdin, DEFAULT_CODEPAGE, streamer.stdout, streamer.stderr
            )
        except CommandDropped:
            streamer.flush()
            transport.close()
            return
        except Exception:  # an interpreter bug must not leave the client waiting
            _log.exception("lab interpreter failed on %s", knobs.name)
            streamer.flush()
            channel.sendall_stderr(b"lab interpreter error\r\n")
            channel.send_exit_status(1)
            return
        streamer.flush()
        channel.send_exit_status(result.rc)
    except (OSError, EOFError, paramiko.SSHException):
        pass
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def _drain(channel: paramiko.Channel) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = channel.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class LabSSHServer(paramiko.ServerInterface):
    """Authentication and channel policy of one lab host; callbacks never block."""

    def __init__(self, transport: LabTransport) -> None:
        self.transport = transport
        self.knobs = transport.knobs

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.knobs.credentials_ok(username, password):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        known = key.get_base64() in self.knobs.authorized_keys
        if known and hmac.compare_digest(username.encode(), self.knobs.user.encode()):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_env_request(
        self, channel: paramiko.Channel, name: bytes, value: bytes
    ) -> bool:
        self.knobs.count("requests")
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.knobs.count("requests")
        if self.knobs.faults.request_fails():
            return False
        self.knobs.count("round_trips")
        line = command.decode("utf-8", errors="replace")
        self.transport.pending[channel.get_id()] = _ExecJob(channel, line)
        return True


def serve_connection(
    sock: socket.socket,
    knobs: HostKnobs,
    host_key: paramiko.PKey,
    executor: Executor,
    live: set[paramiko.Transport],
    live_lock: threading.Lock,
) -> None:
    """Start paramiko's server side on an accepted socket (negotiation runs on its own thread)."""
    knobs.count("connections")
    try:
        transport = LabTransport(sock, executor, knobs)
        transport.add_server_key(host_key)
        with live_lock:
            live.difference_update([old for old in live if not old.is_active()])
            live.add(transport)
        transport.start_server(event=threading.Event(), server=LabSSHServer(transport))
    except (OSError, EOFError, paramiko.SSHException):
        with contextlib.suppress(OSError):
            sock.close()
