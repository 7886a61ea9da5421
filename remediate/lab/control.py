"""The lab's loopback control endpoint (HTTP/JSON, token in DIR) and the client the CLI uses."""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remediate.errors import InputError
from remediate.lab.certs import write_private

if TYPE_CHECKING:
    from remediate.lab.fleet import Fleet

CONTROL_FILE = "control.json"
TOKEN_FILE = "control.token"
TOKEN_HEADER = "X-Lab-Token"
MAX_BODY = 1024 * 1024


class ControlServer:
    """Serves state/exec/fault/down requests for one running Fleet on 127.0.0.1."""

    def __init__(self, fleet: Fleet, directory: Path) -> None:
        self.fleet = fleet
        self.directory = directory
        self.stop_requested = threading.Event()
        self._token = secrets.token_urlsafe(32)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="lab-control", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        """Write DIR/control.token (0600) and DIR/control.json, then answer requests."""
        write_private(self.directory / TOKEN_FILE, self._token.encode("ascii"))
        info = {"port": self.port, "pid": os.getpid()}
        (self.directory / CONTROL_FILE).write_text(json.dumps(info), encoding="utf-8")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        for name in (CONTROL_FILE, TOKEN_FILE):
            with contextlib.suppress(OSError):
                (self.directory / name).unlink()

    def token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode("utf-8", "replace"), self._token.encode("ascii"))

    def dispatch(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one control operation; InputError for unknown hosts and bad specs."""
        fleet = self.fleet
        if op == "ping":
            return {"hosts": sorted(fleet.hosts), "pid": os.getpid()}
        if op == "down":
            self.stop_requested.set()
            return {}
        host = str(payload.get("host", ""))
        if op == "state":
            return {"state": fleet.state(host)}
        if op == "fault":
            fleet.set_fault(host, str(payload.get("spec", "")))
            return {"faults": fleet.state(host)["faults"]}
        if op == "exec":
            result = fleet.knobs(host).host.console(str(payload.get("command", "")))
            return {
                "stdout": base64.b64encode(result.stdout).decode("ascii"),
                "stderr": base64.b64encode(result.stderr).decode("ascii"),
                "rc": result.rc,
            }
        raise InputError(f"unknown lab control operation {op!r}")


def _handler_class(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not server.token_ok(self.headers.get(TOKEN_HEADER, "")):
                self._reply(403, {"error": "bad or missing lab control token"})
                return
            try:
                length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY)
                payload = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(payload, dict):
                    raise InputError("the request body must be a JSON object")
                self._reply(200, server.dispatch(self.path.strip("/"), payload))
            except InputError as exc:
                self._reply(400, {"error": exc.location_line()})
            except ValueError:
                self._reply(400, {"error": "the request body is not JSON"})

        def _reply(self, status: int, data: dict[str, Any]) -> None:
            body = json.dumps(data, sort_keys=True).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            del format, args  # quiet: the lab log is for the lab's own messages

    return Handler


class LabClient:
    """Talks to the lab process serving DIR; every failure is an InputError with one line."""

    def __init__(self, directory: Path, port: int, pid: int, token: str) -> None:
        self.directory = directory
        self.port = port
        self.pid = pid
        self._token = token

    @classmethod
    def open(cls, directory: Path) -> LabClient:
        directory = Path(directory)
        control = directory / CONTROL_FILE
        if not control.exists():
            if (directory / "lab.json").exists():
                raise InputError(
                    f"the lab in {directory} is not running "
                    f"(start it with `remediate lab up --dir {directory}`)"
                )
            raise InputError(f"no lab in {directory} (start one with `remediate lab up`)")
        try:
            info = json.loads(control.read_text(encoding="utf-8"))
            token = (directory / TOKEN_FILE).read_text(encoding="ascii").strip()
            return cls(directory, int(info["port"]), int(info["pid"]), token)
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"the lab control files in {directory} are unreadable") from None

    def call(self, op: str, timeout: float = 60.0, **payload: Any) -> dict[str, Any]:
        """POST one operation; the lab's own errors come back as InputError."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{op}",
            data=json.dumps(payload).encode("utf-8"),
            headers={TOKEN_HEADER: self._token, "Content-Type": "application/json"},
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            raise InputError(_error_text(exc)) from None
        except (urllib.error.URLError, OSError):
            raise InputError(
                f"the lab in {self.directory} is not running (its control endpoint on "
                f"127.0.0.1:{self.port} does not answer)"
            ) from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"the lab control endpoint answered HTTP {exc.code}"
