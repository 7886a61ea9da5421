"""Classify connection failures and retry only the transient ones (tenacity).

Transient, so retried: connection refused or reset, timeouts, HTTP 5xx, a dropped
session. Never retried: refused credentials, an unknown or changed host key, a
certificate that does not verify. Retries back off exponentially with jitter, up to a
cap, and stop at whichever comes first: the attempt count or the deadline.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from typing import TypeVar

import attrs
import paramiko
import requests
import tenacity
from winrm.exceptions import (
    AuthenticationError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)

from remediate.errors import (
    AuthFailed,
    ConnectionFailed,
    HostKeyRejected,
    TLSFailed,
    Unreachable,
)
from remediate.model import ConnectionSettings

log = logging.getLogger("remediate.transport")

T = TypeVar("T")

_TLS_VERIFY_HINTS = (
    "certificate verify failed",
    "certificate_verify_failed",
    "hostname mismatch",
    "doesn't match",
    "self signed certificate",
    "self-signed certificate",
)


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    attempts: int = 4
    deadline: float = 60.0
    initial_backoff: float = 0.5
    max_backoff: float = 8.0

    @classmethod
    def from_settings(cls, settings: ConnectionSettings) -> RetryPolicy:
        """`retries` counts the tries after the first one."""
        return cls(attempts=max(1, settings.retries + 1), deadline=settings.retry_deadline)

    def retrying(self, host: str, what: str) -> tenacity.Retrying:
        """A tenacity loop retrying Unreachable failures of `what` on `host`."""
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_before_delay(self.deadline),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.initial_backoff, max=self.max_backoff, jitter=self.initial_backoff
            ),
            before_sleep=_log_retry(host, what, self.attempts),
            reraise=True,
        )

    def call(self, host: str, what: str, func: Callable[[], T]) -> T:
        """Run `func`, retrying it on transient failures."""
        return self.retrying(host, what)(func)


def is_transient(exc: BaseException) -> bool:
    """Only Unreachable (refused, reset, timeout, 5xx, dropped) is worth another try."""
    return isinstance(exc, Unreachable)


def _log_retry(host: str, what: str, attempts: int) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        reason = exc.message if isinstance(exc, ConnectionFailed) else type(exc).__name__
        sleep = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "%s: %s failed (attempt %d of %d): %s; retrying in %.1fs",
            host,
            what,
            state.attempt_number,
            attempts,
            reason,
            sleep,
        )

    return before_sleep


def classify(host: str, exc: BaseException) -> ConnectionFailed:
    """The ConnectionFailed subclass that says why `exc` happened (no secret in the text)."""
    if isinstance(exc, ConnectionFailed):
        return exc
    for check in (_classify_auth, _classify_tls, _classify_http, _classify_network):
        found = check(host, exc)
        if found is not None:
            return found
    return ConnectionFailed(host, f"{type(exc).__name__}: {_short(exc)}")


def _classify_auth(host: str, exc: BaseException) -> ConnectionFailed | None:
    if isinstance(exc, (AuthenticationError, paramiko.AuthenticationException)):
        return AuthFailed(host, "authentication failed: the credentials were refused")
    if isinstance(exc, paramiko.SSHException) and "no authentication methods" in str(exc).lower():
        return AuthFailed(
            host,
            "authentication failed: no password or key to offer (set "
            "ansible_password or ansible_ssh_private_key_file)",
        )
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyRejected(host, "the host key changed")
    return None


def _classify_tls(host: str, exc: BaseException) -> ConnectionFailed | None:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = getattr(exc, "verify_message", None) or "certificate verify failed"
        return TLSFailed(host, f"TLS certificate verification failed: {reason}")
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if any(hint in text.lower() for hint in _TLS_VERIFY_HINTS):
            return TLSFailed(host, f"TLS certificate verification failed: {_tls_reason(text)}")
        return Unreachable(host, "TLS handshake failed (connection dropped)")
    return None


def _tls_reason(text: str) -> str:
    marker = "certificate verify failed:"
    low = text.lower()
    if marker in low:
        start = low.index(marker) + len(marker)
        return text[start:].split("(")[0].strip(" )'\"") or "certificate verify failed"
    return "certificate verify failed"


def _classify_http(host: str, exc: BaseException) -> ConnectionFailed | None:
    if isinstance(exc, WinRMOperationTimeoutError):
        return Unreachable(host, "WinRM operation timed out")
    code: int | None = None
    if isinstance(exc, (WSManFaultError, WinRMTransportError)):
        code = exc.code
    elif isinstance(exc, WinRMError):
        return ConnectionFailed(host, f"WinRM error: {_short(exc)}")
    if code is None:
        return None
    if code >= 500:
        return Unreachable(host, f"HTTP {code} from the WinRM service")
    return ConnectionFailed(host, f"HTTP {code} from the WinRM service")


def _classify_network(host: str, exc: BaseException) -> ConnectionFailed | None:
    if isinstance(exc, (requests.exceptions.ConnectTimeout, socket.timeout, TimeoutError)):
        return Unreachable(host, "connection timed out")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Unreachable(host, "no reply before the read timeout")
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return Unreachable(host, "connection refused")
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError, EOFError)):
        return Unreachable(host, "connection reset or dropped")
    if isinstance(exc, paramiko.SSHException):
        return Unreachable(host, f"SSH connection failed: {_short(exc)}")
    if isinstance(exc, OSError):
        return Unreachable(host, f"connection failed: {_short(exc)}")
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
