"""One selector thread over every listening socket and idle connection, feeding a worker pool."""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_log = logging.getLogger(__name__)
Callback = Callable[[socket.socket], None]


class Reactor:
    """One thread selecting over every listening socket and idle keep-alive connection.

    Accepted sockets and readable connections are handed to a bounded pool of I/O workers;
    the selector itself is only touched from the loop thread (other threads queue requests).
    """

    def __init__(self, io_workers: int = 32) -> None:
        self.io = ThreadPoolExecutor(io_workers, thread_name_prefix="lab-io")
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._ops: queue.SimpleQueue[tuple[str, socket.socket, Any]] = queue.SimpleQueue()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="lab-reactor", daemon=True)
        self._thread.start()

    def listen(self, port: int, on_accept: Callback) -> socket.socket:
        """Bind 127.0.0.1:port (0: any free port) and hand every accepted socket to on_accept."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        sock.listen(256)
        sock.setblocking(False)
        self._queue("listen", sock, on_accept)
        return sock

    def unlisten(self, sock: socket.socket) -> None:
        """Close a listening socket (new connections are refused); returns once it is closed."""
        done = threading.Event()
        self._queue("unlisten", sock, done)
        done.wait(5.0)

    def watch(self, sock: socket.socket, on_readable: Callable[[], None]) -> None:
        """Call on_readable (in a worker) once the socket has data or is closed by the peer."""
        self._queue("watch", sock, on_readable)

    def sync(self, timeout: float = 10.0) -> None:
        """Return once every listener queued so far is being selected on."""
        done = threading.Event()
        self._queue("sync", self._wake_r, done)
        done.wait(timeout)

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join(5.0)
        self.io.shutdown(wait=False, cancel_futures=True)

    def _queue(self, op: str, sock: socket.socket, arg: Any) -> None:
        self._ops.put((op, sock, arg))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self._step()
            except Exception:  # keep serving the other hosts whatever one socket did
                _log.exception("lab reactor step failed")
        self._close_all()

    def _step(self) -> None:
        for key, _ in self._selector.select(timeout=1.0):
            kind, callback = key.data
            if kind == "listen":
                self._accept(key.fileobj, callback)  # type: ignore[arg-type]
            elif kind == "watch":
                self._selector.unregister(key.fileobj)
                self._submit(callback)
            else:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
        self._apply_ops()

    def _apply_ops(self) -> None:
        while True:
            try:
                op, sock, arg = self._ops.get_nowait()
            except queue.Empty:
                return
            try:
                if op == "sync":
                    arg.set()
                elif op == "unlisten":
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
                    sock.close()
                    arg.set()
                else:
                    self._selector.register(sock, selectors.EVENT_READ, (op, arg))
            except (OSError, ValueError, KeyError):
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self, listener: socket.socket, on_accept: Callback) -> None:
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._submit(lambda conn=conn: on_accept(conn))  # type: ignore[misc]

    def _submit(self, task: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # shutting down
            self.io.submit(_logged, task)

    def _close_all(self) -> None:
        for key in list(self._selector.get_map().values()):
            with contextlib.suppress(OSError):
                key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        self._wake_w.close()


def _logged(task: Callable[[], None]) -> None:
    """Run a worker task; a failure is logged instead of vanishing into an unread future."""
    try:
        task()
    except Exception:
        _log.exception("lab worker task failed")
