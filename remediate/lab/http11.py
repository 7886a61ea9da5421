"""A minimal HTTP/1.1 server connection (keep-alive, optional TLS) for the lab's WinRM ports."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
from collections.abc import Callable

import attrs

_log = logging.getLogger(__name__)


@attrs.frozen
class Reply:
    """What the HTTP layer sends: a status and SOAP body, or `drop` to abort the connection."""

    status: int
    body: bytes = b""
    drop: bool = False


DROP = Reply(0, drop=True)


MAX_HEADER = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
IO_TIMEOUT = 30.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


class ConnectionGone(Exception):
    """The client closed the connection or sent something that is not HTTP/1.1."""


@attrs.frozen
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


Handler = Callable[[HttpRequest], Reply]


class HttpConnection:
    """One client connection (HTTP/1.1 keep-alive; TLS already unwrapped) served by a handler."""

    def __init__(self, sock: socket.socket, handler: Handler) -> None:
        self.sock = sock
        self.handler = handler
        self._buffer = bytearray()

    def has_buffered(self) -> bool:
        """Whether a next request may already be readable without waiting on the socket."""
        pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
        return bool(self._buffer) or pending > 0

    def serve_one(self) -> bool:
        """Read one request and answer it; False when the connection is finished (closed)."""
        try:
            request = self._read_request()
        except (ConnectionGone, OSError, ValueError):
            self.close()
            return False
        try:
            reply = self.handler(request)
        except Exception:  # a lab bug answers 500 rather than leaving the client waiting
            _log.exception("lab HTTP handler failed")
            reply = Reply(500)
        if reply.drop:
            self.abort()
            return False
        headers = {"Content-Type": "application/soap+xml;charset=UTF-8"} if reply.body else {}
        if reply.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="WSMAN"'
        try:
            self._write(reply.status, headers, reply.body, request.keep_alive)
        except OSError:
            self.close()
            return False
        if not request.keep_alive:
            self.close()
        return request.keep_alive

    def _read_request(self) -> HttpRequest:
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ConnectionGone("not HTTP/1.x")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if length < 0 or length > MAX_BODY or "chunked" in headers.get("transfer-encoding", ""):
            raise ConnectionGone("unsupported request body")
        return HttpRequest(parts[0], parts[1], headers, self._read_exactly(length))

    def _read_until(self, marker: bytes) -> bytes:
        while True:
            end = self._buffer.find(marker)
            if end >= 0:
                head = bytes(self._buffer[:end])
                del self._buffer[: end + len(marker)]
                return head
            if len(self._buffer) > MAX_HEADER:
                raise ConnectionGone("header too large")
            self._fill()

    def _read_exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionGone("closed by the client")
        self._buffer += chunk

    def _write(self, status: int, headers: dict[str, str], body: bytes, keep: bool) -> None:
        reason = _REASONS.get(status, "Error")
        lines = [f"HTTP/1.1 {status} {reason}", "Server: Microsoft-HTTPAPI/2.0"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: keep-alive" if keep else "Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def abort(self) -> None:
        """Reset the connection without a reply (fault injection: the host dropped it)."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def open_connection(
    sock: socket.socket, handler: Handler, tls: ssl.SSLContext | None
) -> HttpConnection | None:
    """Take an accepted socket: TLS when the client starts a handshake, plain HTTP otherwise."""
    sock.settimeout(IO_TIMEOUT)
    try:
        first = sock.recv(1, socket.MSG_PEEK)
        if not first:
            sock.close()
            return None
        if first == b"\x16" and tls is not None:
            sock = tls.wrap_socket(sock, server_side=True)
    except (OSError, ssl.SSLError):
        with contextlib.suppress(OSError):
            sock.close()
        return None
    return HttpConnection(sock, handler)
