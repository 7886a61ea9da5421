"""A minimal SSH server on loopback whose exec requests run through the local `sh` (like sshd).

It lets the SSH connection's sh dialect be tested for real: streaming stdin and output both
ways at once, exit statuses, stderr. The lab's servers are Windows-only.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import paramiko
from paramiko.common import AUTH_FAILED, AUTH_SUCCESSFUL, OPEN_SUCCEEDED

USER, PASSWORD = "tester", "Local-Sshd-Pass-1"


class _Server(paramiko.ServerInterface):
    def __init__(self) -> None:
        self.execs: list[str] = []

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (USER, PASSWORD)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.execs.append(command.decode())
        threading.Thread(target=_run, args=(channel, command.decode()), daemon=True).start()
        return True


def _run(channel: paramiko.Channel, command: str) -> None:
    process = subprocess.Popen(
        ["sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout: Any = process.stdout
    stderr: Any = process.stderr
    pumps = [
        threading.Thread(target=_copy_in, args=(channel, process.stdin)),
        threading.Thread(target=_copy_out, args=(stdout.read1, channel.sendall)),
        threading.Thread(target=_copy_out, args=(stderr.read1, channel.sendall_stderr)),
    ]
    for pump in pumps:
        pump.start()
    rc = process.wait()
    for pump in pumps[1:]:
        pump.join()
    with contextlib.suppress(Exception):
        channel.send_exit_status(rc)
        channel.close()


def _copy_in(channel: paramiko.Channel, sink: object) -> None:
    with contextlib.suppress(OSError, EOFError):
        while data := channel.recv(65536):
            sink.write(data)  # type: ignore[attr-defined]
            sink.flush()  # type: ignore[attr-defined]
    with contextlib.suppress(OSError):
        sink.close()  # type: ignore[attr-defined]


def _copy_out(read: object, send: object) -> None:
    with contextlib.suppress(OSError, EOFError):
        while data := read(65536):  # type: ignore[operator]
            send(data)  # type: ignore[operator]


class LocalSSHD:
    """Accepts connections on 127.0.0.1:port until closed; `known_hosts_line` for clients."""

    def __init__(self) -> None:
        self.key = paramiko.ECDSAKey.generate()
        self.server = _Server()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.transports: list[paramiko.Transport] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(self.key)
            transport.start_server(server=self.server)
            self.transports.append(transport)

    def close(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()


@contextlib.contextmanager
def local_sshd() -> Iterator[LocalSSHD]:
    server = LocalSSHD()
    try:
        yield server
    finally:
        server.close()
