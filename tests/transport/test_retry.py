"""Failure classification and the retry policy's bounds."""

from __future__ import annotations

import logging
import ssl

import paramiko
import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError

from remediate.errors import AuthFailed, ConnectionFailed, HostKeyRejected, TLSFailed, Unreachable
from remediate.model import ConnectionSettings
from remediate.transport.retry import RetryPolicy, classify, is_transient


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), Unreachable),
        (ConnectionResetError(104, "Connection reset by peer"), Unreachable),
        (TimeoutError("timed out"), Unreachable),
        (requests.exceptions.ConnectTimeout("x"), Unreachable),
        (requests.exceptions.ReadTimeout("x"), Unreachable),
        (requests.exceptions.ConnectionError("Max retries exceeded"), Unreachable),
        (WinRMTransportError("http", 503, ""), Unreachable),
        (EOFError(), Unreachable),
        (paramiko.SSHException("Error reading SSH protocol banner"), Unreachable),
        (InvalidCredentialsError("rejected"), AuthFailed),
        (paramiko.AuthenticationException("Authentication failed."), AuthFailed),
        (
            paramiko.BadHostKeyException(
                "h", paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
            ),
            HostKeyRejected,
        ),
        (ssl.SSLCertVerificationError("certificate verify failed"), TLSFailed),
        (
            requests.exceptions.SSLError("certificate verify failed: self-signed certificate"),
            TLSFailed,
        ),
    ],
)
def test_failures_are_classified(exc: BaseException, kind: type[ConnectionFailed]) -> None:
    found = classify("h1", exc)
    assert type(found) is kind
    assert found.host == "h1"
    assert is_transient(found) == (kind is Unreachable)


def test_client_errors_are_not_transient() -> None:
    found = classify("h1", WinRMTransportError("http", 400, ""))
    assert type(found) is ConnectionFailed and not is_transient(found)


def test_settings_bound_attempts_and_deadline() -> None:
    settings = ConnectionSettings.from_vars(
        "h", {"remediate_retries": 2, "remediate_retry_deadline": 7}
    )
    policy = RetryPolicy.from_settings(settings)
    assert (policy.attempts, policy.deadline) == (3, 7.0)


def test_only_transient_failures_are_retried_and_each_retry_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RetryPolicy(attempts=5, deadline=5, initial_backoff=0.001, max_backoff=0.002)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Unreachable("h1", "connection refused")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="remediate.transport"):
        assert policy.call("h1", "connect", flaky) == "ok"
    assert len(calls) == 3
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "h1: connect failed (attempt 1 of 5): connection refused",
        "h1: connect failed (attempt 2 of 5): connection refused",
    ]

    def denied() -> None:
        calls.append(1)
        raise AuthFailed("h1", "credentials refused")

    calls.clear()
    with pytest.raises(AuthFailed):
        policy.call("h1", "connect", denied)
    assert len(calls) == 1
