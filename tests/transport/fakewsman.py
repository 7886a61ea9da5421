"""A scripted WS-Management peer for `responses`: HTTP faults the lab cannot produce.

Each action answers from a queue of planned replies (an int status, an exception to
raise, or None for a normal answer); normal answers run stdin through a lab host.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict, deque
from typing import Any

import requests
import responses

from .labcmd import _workstation

URL = "https://win.example:5986/wsman"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    f'xmlns:rsp="{SHELL}"'
)
TIMEOUT_FAULT = (
    f"<s:Envelope {NS}><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code>"
    '<s:Reason><s:Text xml:lang="en-US">timed out</s:Text></s:Reason><s:Detail>'
    '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
    'Code="2150858793" Machine="win"/></s:Detail></s:Fault></s:Body></s:Envelope>'
)


class FakeWSMan:
    """Counts requests per action; `plan(action, *replies)` scripts the next replies."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.host = _workstation()
        self.calls: dict[str, int] = defaultdict(int)
        self.bodies: dict[str, list[bytes]] = defaultdict(list)
        self._plans: dict[str, deque[Any]] = defaultdict(deque)
        self._stdin = b""
        self._result: tuple[bytes, bytes, int] | None = None
        mock.add_callback(responses.POST, URL, callback=self._answer)

    def plan(self, action: str, *replies: Any) -> None:
        self._plans[action].extend(replies)

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        action = re.search(rb"<a:Action[^>]*>[^<]*/(\w+)</a:Action>", body)
        name = action.group(1).decode() if action else "?"
        message_id = re.search(rb"<a:MessageID>([^<]+)</a:MessageID>", body)
        self.calls[name] += 1
        self.bodies[name].append(body)
        planned = self._plans[name].popleft() if self._plans[name] else None
        if isinstance(planned, BaseException):
            raise planned
        if isinstance(planned, int):
            return planned, {}, ""
        if planned == "timeout":
            return 500, {}, TIMEOUT_FAULT
        relates = message_id.group(1).decode() if message_id else ""
        return 200, {"Content-Type": "application/soap+xml"}, self._reply(name, body, relates)

    def _reply(self, name: str, body: bytes, relates: str) -> str:
        head = f"<s:Header><a:RelatesTo>{relates}</a:RelatesTo></s:Header>"
        inner = ""
        if name == "Create":
            inner = '<w:Selector Name="ShellId">SHELL-1</w:Selector>'
        elif name == "Command":
            self._stdin, self._result = b"", None
            inner = (
                "<rsp:CommandResponse><rsp:CommandId>CMD-1</rsp:CommandId></rsp:CommandResponse>"
            )
        elif name == "Send":
            found = re.search(rb'Name="stdin"[^>]*>([^<]*)<', body)
            self._stdin += base64.b64decode(found.group(1)) if found else b""
        elif name == "Receive":
            inner = self._output()
        return f"<s:Envelope {NS}>{head}<s:Body>{inner}</s:Body></s:Envelope>"

    def _output(self) -> str:
        if self._result is None:
            done = self.host.execute("cmd /q /d", stdin=self._stdin)
            self._result = (done.stdout, done.stderr, done.rc)
        out, err, rc = self._result
        streams = "".join(
            f'<rsp:Stream Name="{n}" CommandId="CMD-1">{base64.b64encode(d).decode()}</rsp:Stream>'
            for n, d in (("stdout", out), ("stderr", err))
            if d
        )
        state = (
            f'<rsp:CommandState CommandId="CMD-1" State="{SHELL}/CommandState/Done">'
            f"<rsp:ExitCode>{rc}</rsp:ExitCode></rsp:CommandState>"
        )
        return f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"
