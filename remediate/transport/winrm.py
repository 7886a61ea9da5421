"""WinRM connection (pywinrm's Protocol): one cmd shell per connection, batches over stdin.

Every batch is one WinRM Command (`cmd /q /d`) whose stdin carries the whole batch in as
many Send requests as the envelope size needs; output is polled with Receive under our
own deadline (pywinrm alone would poll forever). HTTPS with certificate validation is
the default; Basic credentials over plain HTTP are refused unless the host opts in.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from typing import Any, NoReturn

from winrm.exceptions import WinRMOperationTimeoutError
from winrm.protocol import Protocol
from winrm.transport import HAVE_CREDSSP, HAVE_KERBEROS, HAVE_NTLM

from remediate.errors import ConnectionFailed, InputError, TLSFailed
from remediate.model import WINRM_TRANSPORTS, ConnectionSettings
from remediate.transport.batch import MAX_SCRIPT_BYTES
from remediate.transport.retry import RetryPolicy, classify
from remediate.transport.session import Exchanged, Interrupted, ShellConnection, TimedOut

log = logging.getLogger("remediate.transport")

TRANSPORTS = WINRM_TRANSPORTS
_BASIC_FAMILY = ("basic", "plaintext", "ssl")
# Base64 stdin plus the SOAP envelope must stay under pywinrm's 153600-byte MaxEnvelopeSize.
SEND_CHUNK_BYTES = 96 * 1024
UTF8_CODEPAGE = 65001
DISCARD_SECONDS = 2.0


class InsecureTransportRefused(ConnectionFailed):
    """The inventory asks for credentials in clear text; nothing was sent."""

    kind = "insecure-transport"


class WinRMConnection(ShellConnection):
    """One WinRM shell, reused for every command of the run."""

    def __init__(
        self,
        settings: ConnectionSettings,
        policy: RetryPolicy | None = None,
        max_script_bytes: int = MAX_SCRIPT_BYTES,
    ) -> None:
        # The WinRM cmd shell runs cmd.exe whatever ansible_shell_type says (Ansible's
        # `powershell` included): every batch is a `cmd /q /d` session, so lines are cmd's.
        super().__init__(settings, "cmd", policy, max_script_bytes)
        self.endpoint = endpoint_url(settings)
        self._transport = check_transport(settings)
        if self.endpoint.startswith("https") and not settings.winrm_cert_validation:
            log.warning(
                "%s: WinRM server certificate validation is off "
                "(ansible_winrm_server_cert_validation=ignore)",
                settings.name,
            )
        self._protocol: Any = None
        self._shell_id: str | None = None

    # -- session lifecycle
    def _open(self) -> None:
        check_ca_bundle(self.settings)
        protocol = self._new_protocol()
        self._protocol = protocol
        self._shell_id = protocol.open_shell(codepage=UTF8_CODEPAGE, noprofile=True)

    def _new_protocol(self) -> Any:
        s = self.settings
        operation = max(1, int(s.operation_timeout))
        read = max(operation + 1, int(s.read_timeout))
        cert_pem = s.winrm_cert_pem
        cert_key_pem = s.winrm_cert_key_pem
        options: dict[str, Any] = {
            "transport": self._transport,
            "username": s.user,
            "password": s.password.reveal() if s.password is not None else None,
            "ca_trust_path": s.winrm_ca_trust_path,  # None: the default trust store only
            "cert_pem": cert_pem,
            "cert_key_pem": cert_key_pem,
            "server_cert_validation": "validate" if s.winrm_cert_validation else "ignore",
            "read_timeout_sec": read,
            "operation_timeout_sec": operation,
            "proxy": None,
        }
        protocol: Any = Protocol(self.endpoint, **options)
        protocol.transport.read_timeout_sec = (s.connect_timeout, read)
        return protocol

    def _discard(self) -> None:
        """After a failure: try to delete the shell briefly (servers cap shells per user)."""
        self._close_shell(min(self.settings.connect_timeout, DISCARD_SECONDS))

    def _shutdown(self) -> None:
        self._close_shell(self.settings.connect_timeout)

    def _close_shell(self, seconds: float) -> None:
        protocol, shell_id = self._protocol, self._shell_id
        self._protocol, self._shell_id = None, None
        if protocol is None:
            return
        if shell_id is None:
            protocol.transport.close_session()
            return
        self._set_timeouts(time.monotonic() + seconds, protocol)
        try:
            protocol.close_shell(shell_id)
        except Exception:  # noqa: BLE001 - closing is best effort; the shell times out
            protocol.transport.close_session()

    # -- one round trip
    def _exchange(self, command_line: str, stdin: bytes, deadline: float) -> Exchanged:
        protocol, shell_id = self._protocol, self._shell_id
        self._set_timeouts(deadline)
        try:
            # stdin is a pipe, not a console (as Ansible's winrm plugin does when it pipes).
            command_id = protocol.run_command(shell_id, command_line, console_mode_stdin=False)
        except Exception as exc:
            # The shell waits for stdin we have not sent: nothing ran.
            raise Interrupted(classify(self.host, exc), b"", b"", started=False) from None
        self._send_stdin(command_id, stdin, deadline)
        result = self._receive(command_id, deadline)
        with contextlib.suppress(Exception):
            self._set_timeouts(time.monotonic() + self.settings.connect_timeout)
            protocol.cleanup_command(shell_id, command_id)
        return result

    def _send_stdin(self, command_id: str, stdin: bytes, deadline: float) -> None:
        chunks = [stdin[i : i + SEND_CHUNK_BYTES] for i in range(0, len(stdin), SEND_CHUNK_BYTES)]
        for index, chunk in enumerate(chunks or [b""]):
            self._set_timeouts(deadline)
            try:
                self._protocol.send_command_input(
                    self._shell_id, command_id, chunk, end=index == len(chunks) - 1 or not chunks
                )
            except Exception as exc:
                self._raise_mid_command(exc, [], [], deadline)

    def _receive(self, command_id: str, deadline: float) -> Exchanged:
        out: list[bytes] = []
        err: list[bytes] = []
        while True:
            if time.monotonic() >= deadline:
                raise TimedOut(b"".join(out), b"".join(err))
            self._set_timeouts(deadline)
            try:
                stdout, stderr, rc, done = self._protocol.get_command_output_raw(
                    self._shell_id, command_id
                )
            except WinRMOperationTimeoutError:
                continue  # no output yet: poll again, within our deadline
            except Exception as exc:
                self._raise_mid_command(exc, out, err, deadline)
            out.append(stdout)
            err.append(stderr)
            if done:
                return Exchanged(b"".join(out), b"".join(err), int(rc))

    def _raise_mid_command(
        self, exc: Exception, out: list[bytes], err: list[bytes], deadline: float
    ) -> NoReturn:
        stdout, stderr = b"".join(out), b"".join(err)
        if time.monotonic() >= deadline - 0.05:
            raise TimedOut(stdout, stderr) from None
        raise Interrupted(classify(self.host, exc), stdout, stderr, started=True) from None

    def _set_timeouts(self, deadline: float, protocol: Any = None) -> None:
        """Bound the next request by the deadline: server-side wait and HTTP read timeout."""
        protocol = protocol or self._protocol
        s = self.settings
        remaining = max(deadline - time.monotonic(), 0.1)
        operation = max(1, min(int(s.operation_timeout), int(remaining) - 1))
        read = min(max(s.read_timeout, operation + 1.0), remaining)
        protocol.operation_timeout_sec = operation
        protocol.transport.read_timeout_sec = (min(s.connect_timeout, remaining), read)


def endpoint_url(settings: ConnectionSettings) -> str:
    """`scheme://address:port/wsman`, IPv6 literals bracketed."""
    scheme = settings.winrm_scheme.lower()
    if scheme not in ("http", "https"):
        raise InputError(
            f"{settings.name}: ansible_winrm_scheme must be http or https, "
            f"not {settings.winrm_scheme!r}"
        )
    address = settings.address
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{scheme}://{address}:{settings.port}/wsman"


def check_transport(settings: ConnectionSettings) -> str:
    """The pywinrm transport to use, refusing clear-text credentials and missing extras."""
    transport = settings.winrm_transport.lower()
    if transport not in TRANSPORTS:
        raise InputError(
            f"{settings.name}: unknown ansible_winrm_transport {transport!r} "
            f"(one of {', '.join(TRANSPORTS)})"
        )
    plain_http = settings.winrm_scheme.lower() == "http"
    if transport in _BASIC_FAMILY and plain_http and not settings.allow_insecure_winrm:
        raise InsecureTransportRefused(
            settings.name,
            f"refusing WinRM {transport} authentication over plain HTTP: the password would "
            "cross the network readable; use ansible_winrm_scheme=https, or set "
            "remediate_allow_insecure_winrm: true for this host to accept the risk",
        )
    if transport == "certificate" and not (settings.winrm_cert_pem and settings.winrm_cert_key_pem):
        raise InputError(
            f"{settings.name}: ansible_winrm_transport=certificate needs "
            "ansible_winrm_cert_pem and ansible_winrm_cert_key_pem"
        )
    missing = {"kerberos": HAVE_KERBEROS, "ntlm": HAVE_NTLM, "credssp": HAVE_CREDSSP}
    if not missing.get(transport, True):
        raise InputError(
            f"{settings.name}: ansible_winrm_transport={transport} needs an extra "
            f"package: pip install 'pywinrm[{transport}]'"
        )
    return transport


def check_ca_bundle(settings: ConnectionSettings) -> None:
    """A CA file named by ansible_winrm_ca_trust_path must load: a missing or broken bundle
    is a configuration error (TLSFailed, never retried), not a network fault."""
    path = settings.winrm_ca_trust_path
    if not path or settings.winrm_scheme.lower() != "https":
        return
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TLSFailed(
            settings.name,
            f"ansible_winrm_ca_trust_path {path} is not a usable CA bundle (PEM): {reason}",
        ) from None
