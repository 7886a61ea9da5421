"""SSH connection (paramiko): one transport per connection, host keys checked, batches over stdin.

Host keys come from /etc/ssh/ssh_known_hosts, ~/.ssh/known_hosts and the file named by
`remediate_known_hosts`; an unknown key is refused (RejectPolicy) unless the host sets
`remediate_ssh_host_key_policy: accept-new`, which trusts it once and writes it to that
file. A changed key is always refused. Each batch is one exec request (`cmd /q /d` for
Windows OpenSSH, `sh -s` otherwise) with the batch on its stdin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import time
from pathlib import Path

import paramiko

from remediate.errors import HostKeyRejected, InputError
from remediate.model import ConnectionSettings
from remediate.transport.batch import MAX_SCRIPT_BYTES
from remediate.transport.retry import RetryPolicy, classify
from remediate.transport.session import Exchanged, Interrupted, ShellConnection, TimedOut

log = logging.getLogger("remediate.transport")

SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
HOST_KEY_POLICIES = ("reject", "accept-new")
KEEPALIVE_SECONDS = 15
PARAMIKO_LOG = "remediate.transport.ssh.paramiko"
logging.getLogger(PARAMIKO_LOG).addHandler(logging.NullHandler())
_POLL = 0.002


def user_known_hosts() -> Path:
    return Path(os.path.expanduser("~/.ssh/known_hosts"))


def fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    """Refuse an unknown key, saying how to trust it."""

    def __init__(self, host: str, settings: ConnectionSettings) -> None:
        self.host = host
        self.settings = settings

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        target = self.settings.known_hosts or str(user_known_hosts())
        scan = f"ssh-keyscan -p {self.settings.port} {self.settings.address} >> {target}"
        raise HostKeyRejected(
            self.host,
            f"unknown SSH host key for {hostname} ({fingerprint(key)}); not connecting. "
            f"To trust it, check the fingerprint with the host's administrator and add the "
            f"key to {target} (e.g. `{scan}`), or set "
            "remediate_ssh_host_key_policy: accept-new to trust it on first use",
        )


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Trust an unknown key once and write it to the inventory's known_hosts file."""

    def __init__(self, host: str, path: Path) -> None:
        self.host = host
        self.path = path

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        log.warning(
            "%s: trusted new SSH host key %s for %s (accept-new), saved to %s",
            self.host,
            fingerprint(key),
            hostname,
            self.path,
        )


class SSHConnection(ShellConnection):
    """One SSH transport, reused for every command; one exec channel per batch."""

    def __init__(
        self,
        settings: ConnectionSettings,
        policy: RetryPolicy | None = None,
        max_script_bytes: int = MAX_SCRIPT_BYTES,
    ) -> None:
        # Windows OpenSSH with PowerShell as its default shell still starts `cmd /q /d`
        # for every batch, so such a host speaks the cmd dialect too.
        dialect = "sh" if settings.shell_type == "sh" else "cmd"
        super().__init__(settings, dialect, policy, max_script_bytes)
        if settings.host_key_policy not in HOST_KEY_POLICIES:
            raise InputError(
                f"{settings.name}: remediate_ssh_host_key_policy must be one of "
                f"{', '.join(HOST_KEY_POLICIES)}, not {settings.host_key_policy!r}"
            )
        self._client: paramiko.SSHClient | None = None

    # -- session lifecycle
    def _open(self) -> None:
        client = self._new_client()
        s = self.settings
        try:
            client.connect(
                s.address,
                port=s.port,
                username=s.user,
                password=s.password.reveal() if s.password is not None else None,
                key_filename=s.private_key_file,
                timeout=s.connect_timeout,
                banner_timeout=s.connect_timeout,
                auth_timeout=s.connect_timeout,
                channel_timeout=s.connect_timeout,
                allow_agent=True,
                look_for_keys=s.password is None and s.private_key_file is None,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise self._changed_key(exc) from None
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        if transport is not None:
            # paramiko reports a peer's reset as an ERROR on its own logger, which Python
            # prints to stderr when nothing is configured; ours stays quiet unless asked (-v).
            transport.set_log_channel(PARAMIKO_LOG)
            transport.set_keepalive(KEEPALIVE_SECONDS)
            # Small SSH messages (stdin EOF, window adjusts) must not wait for delayed ACKs.
            if isinstance(transport.sock, socket.socket):
                with contextlib.suppress(OSError):
                    transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client

    def _new_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        for path in (SYSTEM_KNOWN_HOSTS, user_known_hosts()):
            if path.is_file():
                client.load_system_host_keys(str(path))
        mine = self.settings.known_hosts
        if mine and Path(mine).is_file():
            client.load_host_keys(mine)
        if self.settings.host_key_policy == "accept-new":
            target = Path(mine) if mine else user_known_hosts()
            client.set_missing_host_key_policy(_AcceptNew(self.host, target))
        else:
            client.set_missing_host_key_policy(_RejectUnknown(self.host, self.settings))
        return client

    def _changed_key(self, exc: paramiko.BadHostKeyException) -> HostKeyRejected:
        s = self.settings
        name = s.address if s.port == 22 else f"[{s.address}]:{s.port}"
        where = s.known_hosts or str(user_known_hosts())
        return HostKeyRejected(
            self.host,
            f"the SSH host key for {name} CHANGED: expected {fingerprint(exc.expected_key)}, "
            f"got {fingerprint(exc.key)}. This may be an attack; not connecting. If the host "
            f"was really re-keyed, remove the old key (`ssh-keygen -R '{name}' -f {where}`) "
            "and trust the new one after checking its fingerprint",
        )

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _shutdown(self) -> None:
        self._discard()

    # -- one round trip
    def _exchange(self, command_line: str, stdin: bytes, deadline: float) -> Exchanged:
        assert self._client is not None
        transport = self._client.get_transport()
        try:
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("the SSH connection is closed")
            channel = transport.open_session(timeout=self.settings.connect_timeout)
        except Exception as exc:  # no channel, so no command
            raise Interrupted(classify(self.host, exc), b"", b"", started=False) from None
        try:
            channel.exec_command(command_line)
        except Exception as exc:
            # The server refused the exec request if it closed the channel while the
            # connection lives on: nothing ran. Any other failure may have come after it.
            refused = transport.is_active()
            channel.close()
            raise Interrupted(classify(self.host, exc), b"", b"", started=not refused) from None
        try:
            return _pump(channel, stdin, deadline, self.host)
        finally:
            channel.close()


def _pump(channel: paramiko.Channel, stdin: bytes, deadline: float, host: str) -> Exchanged:
    """Feed stdin and read both streams until the command ends (or the deadline)."""
    out: list[bytes] = []
    err: list[bytes] = []
    pending = memoryview(stdin)
    channel.settimeout(0.0)
    while True:
        if pending:
            pending = _send_some(channel, pending)
            if not pending:
                channel.shutdown_write()
        progressed = _drain(channel, out, err)
        if (
            channel.exit_status_ready()
            and not channel.recv_ready()
            and not channel.recv_stderr_ready()
        ):
            return _finish(channel, out, err, host)
        if time.monotonic() >= deadline:
            raise TimedOut(b"".join(out), b"".join(err))
        if not progressed:
            # The channel's fd turns readable on stdout or stderr data and on close.
            wait = _POLL if pending else min(0.2, max(deadline - time.monotonic(), 0.0))
            select.select([channel], [], [], wait)


def _send_some(channel: paramiko.Channel, pending: memoryview) -> memoryview:
    try:
        sent = channel.send(pending[:32768].tobytes())
    except TimeoutError:
        return pending
    except (OSError, paramiko.SSHException, EOFError):
        return memoryview(b"")  # the channel is gone; _finish reports the drop
    return pending[sent:]


def _drain(channel: paramiko.Channel, out: list[bytes], err: list[bytes]) -> bool:
    progressed = False
    while channel.recv_ready():
        out.append(channel.recv(65536))
        progressed = True
    while channel.recv_stderr_ready():
        err.append(channel.recv_stderr(65536))
        progressed = True
    return progressed


def _finish(channel: paramiko.Channel, out: list[bytes], err: list[bytes], host: str) -> Exchanged:
    rc = channel.recv_exit_status()
    stdout, stderr = b"".join(out), b"".join(err)
    if rc == -1:  # closed without an exit status: the session was cut
        dropped = ConnectionResetError("the SSH channel closed without an exit status")
        cause = classify(host, dropped)
        raise Interrupted(cause, stdout, stderr, started=True)
    return Exchanged(stdout, stderr, rc)
