"""The lab's WS-Management (WinRM) service: SOAP shells and commands as pywinrm speaks them."""

from __future__ import annotations

import base64
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Executor
from xml.sax.saxutils import escape, quoteattr

import attrs

from remediate.lab.cmdexec import CODEPAGES, DEFAULT_CODEPAGE
from remediate.lab.faults import HostKnobs
from remediate.lab.host import CommandDropped, ExecResult
from remediate.lab.http11 import DROP, HttpRequest, Reply

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE = f"{SHELL_URI}/cmd"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_COMMAND = f"{SHELL_URI}/Command"
ACTION_SEND = f"{SHELL_URI}/Send"
ACTION_RECEIVE = f"{SHELL_URI}/Receive"
ACTION_SIGNAL = f"{SHELL_URI}/Signal"
STATE_DONE = f"{SHELL_URI}/CommandState/Done"
STATE_RUNNING = f"{SHELL_URI}/CommandState/Running"

# WSManFault codes. 2150858793 (operation timed out) is the one clients act on; the others
# only need to be distinct numbers for the lab.
FAULT_TIMED_OUT = 2150858793  # ERROR_WSMAN_OPERATION_TIMEDOUT: Receive found no output yet
FAULT_INVALID_SELECTORS = 2150858843  # shell id unknown
FAULT_INVALID_COMMAND = 2150858754  # command id unknown
FAULT_ACTION_NOT_SUPPORTED = 2150858771
FAULT_BAD_MESSAGE = 2150858817

# MS-WSMV 2.2.4.10: MaxEnvelopeSizekb defaults to 500 and also bounds request size.
MAX_ENVELOPE = 500 * 1024
FAULT_ENCODING_LIMIT = 2150858818
MAX_SHELLS = 30  # winrm/config/winrs MaxShellsPerUser default
FAULT_QUOTA_LIMIT = 2150859174
SETTLE = 0.05  # seconds a Receive that found output waits for the command to finish
CHUNK = 96 * 1024  # raw output bytes per Receive reply, kept under MaxEnvelopeSize (153600)


class WSManFault(Exception):
    """A SOAP fault to return with HTTP 500."""

    def __init__(self, code: int, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason


class _Command:
    """One Command of a shell: its line, stdin so far, output as produced, its result once run."""

    def __init__(self, command_id: str, line: str, codepage: int = DEFAULT_CODEPAGE) -> None:
        self.id = command_id
        self.line = line
        self.codepage = codepage
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.progress = threading.Condition()
        self.stdin = bytearray()
        self.stdin_sent = False
        self.stdin_done = False
        self.started = False
        self.finished = threading.Event()
        self.result: ExecResult | None = None
        self.dropped = False
        self.sent = {"stdout": 0, "stderr": 0}  # output bytes already returned by Receive

    def produced(self, stream: str, data: bytes) -> None:
        """Interpreter output listener: keep it for Receive and wake a waiting Receive."""
        with self.progress:
            self.output[stream] += data
            self.progress.notify_all()

    def has_unsent(self) -> bool:
        return any(self.sent[name] < len(data) for name, data in self.output.items())

    def wait(self, seconds: float) -> bool:
        """Wait until there is output not yet returned, or the command ended; once output
        is there, give the command a moment (SETTLE) to finish so one reply carries it."""
        with self.progress:
            ready = self.progress.wait_for(
                lambda: self.finished.is_set() or self.has_unsent(), seconds
            )
            if ready and not self.finished.is_set():
                self.progress.wait_for(self.finished.is_set, SETTLE)
            return ready

    def finish(self) -> None:
        with self.progress:
            self.finished.set()
            self.progress.notify_all()


@attrs.define
class _Shell:
    id: str
    codepage: int = DEFAULT_CODEPAGE  # WINRS_CODEPAGE of the Create request
    commands: dict[str, _Command] = attrs.field(factory=dict)


@attrs.frozen
class _Request:
    action: str
    message_id: str
    shell_id: str | None
    timeout: float
    body: ET.Element
    options: dict[str, str] = attrs.field(factory=dict)  # w:OptionSet (Create)


class WSManService:
    """The WinRM endpoint of one lab host: shells, commands, Receive with operation timeouts."""

    def __init__(
        self, knobs: HostKnobs, executor: Executor, port: int, receive_wait_cap: float = 5.0
    ) -> None:
        self.knobs = knobs
        self.executor = executor
        self.port = port
        self.receive_wait_cap = receive_wait_cap
        self._shells: dict[str, _Shell] = {}
        self._lock = threading.Lock()

    def answer(self, request: HttpRequest) -> Reply:
        """Answer one HTTP request to the host's WinRM port: counters, latency, faults, auth."""
        knobs = self.knobs
        knobs.count("requests")
        knobs.delay()
        if knobs.faults.request_fails():
            return Reply(500, b"")
        if not self._authorized(request):
            return Reply(401)
        if request.path.split("?")[0].rstrip("/").lower() != "/wsman":
            return Reply(404)
        if request.method != "POST":
            return Reply(405)
        return self.handle(request.body)

    def _authorized(self, request: HttpRequest) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
            user, sep, password = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return bool(sep) and self.knobs.credentials_ok(user, password)

    def handle(self, body: bytes) -> Reply:
        """Answer one authenticated POST /wsman body."""
        if len(body) > MAX_ENVELOPE:
            fault = WSManFault(
                FAULT_ENCODING_LIMIT,
                "w:EncodingLimit",
                f"The request of {len(body)} bytes exceeds MaxEnvelopeSizekb (500).",
            )
            return Reply(500, _fault_envelope(fault, "", self.knobs.name))
        try:
            request = _parse(body)
        except WSManFault as fault:
            return Reply(500, _fault_envelope(fault, "", self.knobs.name))
        handler = self._handlers().get(request.action)
        try:
            if handler is None:
                raise WSManFault(
                    FAULT_ACTION_NOT_SUPPORTED,
                    "a:ActionNotSupported",
                    f"The action is not supported by the service: {request.action}",
                )
            return handler(request)
        except WSManFault as fault:
            return Reply(500, _fault_envelope(fault, request.message_id, self.knobs.name))

    def shell_count(self) -> int:
        """Open shells (Created, not yet Deleted)."""
        with self._lock:
            return len(self._shells)

    def _handlers(self) -> dict[str, Callable[[_Request], Reply]]:
        return {
            ACTION_CREATE: self._create,
            ACTION_COMMAND: self._command,
            ACTION_SEND: self._send,
            ACTION_RECEIVE: self._receive,
            ACTION_SIGNAL: self._signal,
            ACTION_DELETE: self._delete,
        }

    def _create(self, request: _Request) -> Reply:
        shell_id = str(uuid.uuid4()).upper()
        with self._lock:
            if len(self._shells) >= MAX_SHELLS:
                raise WSManFault(
                    FAULT_QUOTA_LIMIT,
                    "w:QuotaLimit",
                    "The WS-Management service cannot process the request. This user is allowed "
                    f"a maximum number of {MAX_SHELLS} concurrent shells, which has been exceeded.",
                )
            self._shells[shell_id] = _Shell(shell_id, _codepage(request.options))
        self.knobs.count("connections")
        body = (
            f"<x:ResourceCreated><a:Address>http://127.0.0.1:{self.port}/wsman</a:Address>"
            f"<a:ReferenceParameters><w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI>"
            f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector>'
            "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
            f"<rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(self.knobs.user)}</rsp:Owner>"
            "<rsp:InputStreams>stdin</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        return self._ok(request, f"{TRANSFER}/CreateResponse", body)

    def _command(self, request: _Request) -> Reply:
        shell = self._shell(request)
        line_node = request.body.find("rsp:CommandLine", NS)
        command = None if line_node is None else line_node.find("rsp:Command", NS)
        if command is None or line_node is None:
            raise WSManFault(FAULT_BAD_MESSAGE, "w:InvalidBody", "CommandLine/Command is missing")
        line = (command.text or "").strip()
        arguments = [node.text or "" for node in line_node.findall("rsp:Arguments", NS)]
        if arguments:
            line = " ".join([line, *arguments])
        cmd = _Command(str(uuid.uuid4()).upper(), line, shell.codepage)
        with self._lock:
            shell.commands[cmd.id] = cmd
        self.knobs.count("round_trips")
        body = f"<rsp:CommandResponse><rsp:CommandId>{cmd.id}</rsp:CommandId></rsp:CommandResponse>"
        return self._ok(request, f"{SHELL_URI}/CommandResponse", body)

    def _send(self, request: _Request) -> Reply:
        stream = request.body.find("rsp:Send/rsp:Stream", NS)
        if stream is None:
            raise WSManFault(FAULT_BAD_MESSAGE, "w:InvalidBody", "Send/Stream is missing")
        cmd = self._find_command(request, stream.get("CommandId", ""))
        try:
            data = base64.b64decode(stream.text or "", validate=True)
        except ValueError:
            raise WSManFault(FAULT_BAD_MESSAGE, "w:InvalidBody", "stdin is not base64") from None
        with self._lock:
            if cmd.stdin_done or cmd.started:
                raise WSManFault(
                    FAULT_BAD_MESSAGE, "w:InvalidBody", "stdin of this command is already closed"
                )
            cmd.stdin += data
            cmd.stdin_sent = True
            cmd.stdin_done = stream.get("End", "false").lower() == "true"
        if cmd.stdin_done:
            self._start(cmd)
        return self._ok(request, f"{SHELL_URI}/SendResponse", "<rsp:SendResponse/>")

    def _receive(self, request: _Request) -> Reply:
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        if desired is None:
            raise WSManFault(FAULT_BAD_MESSAGE, "w:InvalidBody", "Receive/DesiredStream is missing")
        cmd = self._find_command(request, desired.get("CommandId", ""))
        if not cmd.stdin_sent:
            self._start(cmd)  # nothing to feed it: cmd /c runs with stdin at EOF
        wait = max(0.0, min(request.timeout, self.receive_wait_cap))
        if not cmd.wait(wait):
            raise WSManFault(
                FAULT_TIMED_OUT,
                "w:TimedOut",
                "The WS-Management service cannot complete the operation within the time "
                "specified in OperationTimeout.",
            )
        with cmd.progress:
            dropped = cmd.dropped and not cmd.has_unsent()
        if dropped:  # what was produced before the drop has been returned: now hang up
            return DROP
        body = self._output(cmd)
        return self._ok(request, f"{SHELL_URI}/ReceiveResponse", body)

    def _signal(self, request: _Request) -> Reply:
        signal = request.body.find("rsp:Signal", NS)
        if signal is None:
            raise WSManFault(FAULT_BAD_MESSAGE, "w:InvalidBody", "Signal is missing")
        shell = self._shell(request)
        command_id = signal.get("CommandId", "")
        with self._lock:
            if shell.commands.pop(command_id, None) is None:
                raise _unknown_command(command_id)
        return self._ok(request, f"{SHELL_URI}/SignalResponse", "<rsp:SignalResponse/>")

    def _delete(self, request: _Request) -> Reply:
        shell = self._shell(request)
        with self._lock:
            self._shells.pop(shell.id, None)
        return self._ok(request, f"{TRANSFER}/DeleteResponse", "")

    def _shell(self, request: _Request) -> _Shell:
        with self._lock:
            shell = self._shells.get(request.shell_id or "")
        if shell is None:
            raise WSManFault(
                FAULT_INVALID_SELECTORS,
                "w:InvalidSelectors",
                f"The request for the Windows Remote Shell with ShellId {request.shell_id} failed "
                "because the shell was not found on the server.",
            )
        return shell

    def _find_command(self, request: _Request, command_id: str) -> _Command:
        shell = self._shell(request)
        with self._lock:
            cmd = shell.commands.get(command_id)
        if cmd is None:
            raise _unknown_command(command_id)
        return cmd

    def _start(self, cmd: _Command) -> None:
        with self._lock:
            if cmd.started:
                return
            cmd.started = True
        stdin = bytes(cmd.stdin) if cmd.stdin_sent else None
        self.executor.submit(self._run, cmd, stdin)

    def _run(self, cmd: _Command, stdin: bytes | None) -> None:
        try:
            cmd.result = self.knobs.execute(
                cmd.line,
                stdin,
                cmd.codepage,
                lambda data: cmd.produced("stdout", data),
                lambda data: cmd.produced("stderr", data),
            )
        except CommandDropped:
            cmd.dropped = True
        except Exception as exc:  # an interpreter bug must not hang the client
            message = f"lab interpreter error: {type(exc).__name__}\r\n".encode()
            cmd.produced("stderr", message)
            cmd.result = ExecResult(stdout=b"", stderr=message, rc=1)
        finally:
            cmd.finish()

    def _output(self, cmd: _Command) -> str:
        """Output produced and not yet returned (at most CHUNK bytes); Done once all is out."""
        parts: list[str] = []
        budget = CHUNK
        with cmd.progress:  # big output goes out in chunks, over several Receives
            streams = cmd.output
            done = cmd.finished.is_set() and cmd.result is not None
            for name, data in streams.items():
                piece = data[cmd.sent[name] : cmd.sent[name] + budget]
                cmd.sent[name] += len(piece)
                budget -= len(piece)
                if piece:
                    encoded = base64.b64encode(bytes(piece)).decode("ascii")
                    parts.append(
                        f'<rsp:Stream Name="{name}" CommandId="{cmd.id}">{encoded}</rsp:Stream>'
                    )
            more = any(cmd.sent[name] < len(data) for name, data in streams.items())
        result = cmd.result
        if more or not done or result is None:
            state = f'<rsp:CommandState CommandId="{cmd.id}" State="{STATE_RUNNING}"/>'
        else:
            parts.extend(
                f'<rsp:Stream Name="{name}" CommandId="{cmd.id}" End="true"></rsp:Stream>'
                for name in ("stdout", "stderr")
            )
            state = (
                f'<rsp:CommandState CommandId="{cmd.id}" State="{STATE_DONE}">'
                f"<rsp:ExitCode>{result.rc}</rsp:ExitCode></rsp:CommandState>"
            )
        return f"<rsp:ReceiveResponse>{''.join(parts)}{state}</rsp:ReceiveResponse>"

    def _ok(self, request: _Request, action: str, body: str) -> Reply:
        return Reply(200, _envelope(action, request.message_id, body))


def _unknown_command(command_id: str) -> WSManFault:
    return WSManFault(
        FAULT_INVALID_COMMAND,
        "w:InvalidSelectors",
        f"The command with CommandId {command_id} was not found in the shell.",
    )


_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def _seconds(duration: str | None, default: float = 60.0) -> float:
    match = _DURATION.match((duration or "").strip())
    if not match or not any(match.groups()):
        return default
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _parse(body: bytes) -> _Request:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise WSManFault(
            FAULT_BAD_MESSAGE,
            "w:InvalidMessageInformationHeader",
            "The request is not well-formed XML.",
        ) from None
    header, soap_body = root.find("s:Header", NS), root.find("s:Body", NS)
    if root.tag != f"{{{NS['s']}}}Envelope" or header is None or soap_body is None:
        raise WSManFault(
            FAULT_BAD_MESSAGE,
            "w:InvalidMessageInformationHeader",
            "The request is not a SOAP 1.2 envelope.",
        )
    selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
    options = {
        node.get("Name", ""): (node.text or "").strip()
        for node in root.iter(f"{{{NS['w']}}}Option")  # OptionSet: header (pywinrm) or body
    }
    return _Request(
        action=(header.findtext("a:Action", "", NS)).strip(),
        message_id=(header.findtext("a:MessageID", "", NS)).strip(),
        shell_id=None if selector is None else (selector.text or "").strip(),
        timeout=_seconds(header.findtext("w:OperationTimeout", None, NS)),
        body=soap_body,
        options=options,
    )


def _codepage(options: dict[str, str]) -> int:
    """WINRS_CODEPAGE of a Create request: the shell's console code page (437 if absent)."""
    raw = options.get("WINRS_CODEPAGE", "")
    try:
        page = int(raw)
    except ValueError:
        return DEFAULT_CODEPAGE
    if page not in CODEPAGES:
        raise WSManFault(
            FAULT_BAD_MESSAGE,
            "w:InvalidOptions",
            f"The code page {page} is not supported by the lab.",
        )
    return page


def _namespaces() -> str:
    return " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items() if prefix != "f")


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    text = (
        f'<s:Envelope xml:lang="en-US" {_namespaces()}><s:Header>'
        f"<a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
    return text.encode("utf-8")


def _fault_envelope(fault: WSManFault, relates_to: str, machine: str) -> bytes:
    body = (
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value>"
        f"<s:Subcode><s:Value>{escape(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.code}" '
        f"Machine={quoteattr(machine)}><f:Message>{escape(fault.reason)}</f:Message>"
        "</f:WSManFault></s:Detail></s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)
