"""WinRM under HTTP faults the lab cannot produce (scripted with `responses`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import requests
import responses
from winrm.transport import HAVE_KERBEROS

from remediate.errors import AuthFailed, CommandTimeout, InputError, TLSFailed, Unreachable
from remediate.model import ConnectionSettings
from remediate.transport import (
    InsecureTransportRefused,
    UnknownBatchOutcome,
    WinRMConnection,
    connect,
)
from remediate.transport.retry import RetryPolicy

from .fakewsman import FakeWSMan

PASSWORD = "S3cret-Pass-word!"
FAST = RetryPolicy(attempts=3, deadline=10.0, initial_backoff=0.01, max_backoff=0.05)


def settings(**overrides: object) -> ConnectionSettings:
    base = {
        "ansible_connection": "winrm",
        "ansible_host": "win.example",
        "ansible_user": "admin",
        "ansible_password": PASSWORD,
        "ansible_winrm_transport": "basic",
        "remediate_command_timeout": 5,
    }
    return ConnectionSettings.from_vars("win1", {**base, **overrides})


@pytest.fixture
def wsman() -> Iterator[FakeWSMan]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeWSMan(mock)


def test_batch_goes_through_the_scripted_peer(wsman: FakeWSMan) -> None:
    with connect(settings(), FAST) as conn:
        results = conn.run_batch(["hostname", "echo hi"])
    assert [r.stdout for r in results] == ["ws900\n", "hi\n"]
    assert wsman.calls["Command"] == 1 and wsman.calls["Delete"] == 1


def test_reset_while_connecting_is_retried_and_logged_without_secrets(
    wsman: FakeWSMan, caplog: pytest.LogCaptureFixture
) -> None:
    wsman.plan("Create", requests.exceptions.ConnectionError("reset"), 503)
    with caplog.at_level(logging.DEBUG), connect(settings(), FAST) as conn:
        assert conn.run("hostname").rc == 0
    assert wsman.calls["Create"] == 3
    assert caplog.text.count("retrying") == 2
    assert "connection reset or dropped" in caplog.text and "HTTP 503" in caplog.text
    assert PASSWORD not in caplog.text


def test_401_is_an_auth_failure_tried_once(wsman: FakeWSMan) -> None:
    wsman.plan("Create", 401)
    with pytest.raises(AuthFailed) as caught:
        connect(settings(), FAST)
    assert wsman.calls["Create"] == 1
    assert PASSWORD not in str(caught.value)


def test_tls_verification_failure_is_not_retried(wsman: FakeWSMan) -> None:
    wsman.plan(
        "Create",
        requests.exceptions.SSLError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
            "issuer certificate (_ssl.c:1006)"
        ),
    )
    with pytest.raises(TLSFailed, match="unable to get local issuer certificate"):
        connect(settings(), FAST)
    assert wsman.calls["Create"] == 1


def test_retries_stop_at_the_attempt_limit(wsman: FakeWSMan) -> None:
    wsman.plan("Create", *[500] * 10)
    with pytest.raises(Unreachable, match="HTTP 500"):
        connect(settings(), FAST)
    assert wsman.calls["Create"] == FAST.attempts


def test_retries_stop_at_the_deadline(wsman: FakeWSMan) -> None:
    wsman.plan("Create", *[502] * 1000)
    policy = RetryPolicy(attempts=1000, deadline=0.6, initial_backoff=0.1, max_backoff=0.2)
    started = time.monotonic()
    with pytest.raises(Unreachable):
        connect(settings(), policy)
    assert time.monotonic() - started < 1.0
    assert 2 <= wsman.calls["Create"] < 20


def test_5xx_on_command_start_is_retried_even_for_writes(wsman: FakeWSMan) -> None:
    with connect(settings(), FAST) as conn:
        wsman.plan("Command", 500)
        assert conn.run_batch(["echo write"])[0].stdout == "write\n"
        assert conn.round_trips == 2


def test_5xx_while_receiving_writes_is_an_unknown_outcome(wsman: FakeWSMan) -> None:
    with connect(settings(), FAST) as conn:
        wsman.plan("Receive", 502)
        with pytest.raises(UnknownBatchOutcome, match="3 of 3 commands in doubt") as caught:
            conn.run_batch(["echo a", "echo b", "echo c"])
    assert caught.value.completed == [] and caught.value.in_doubt == 3
    assert wsman.calls["Command"] == 1  # not re-sent


def test_reset_while_receiving_reads_is_retried_on_a_new_shell(wsman: FakeWSMan) -> None:
    with connect(settings(), FAST) as conn:
        wsman.plan("Receive", requests.exceptions.ConnectionError("reset by peer"))
        results = conn.run_batch(["hostname"], safe_to_repeat=True)
    assert results[0].stdout == "ws900\n"
    assert wsman.calls["Create"] == 2 and wsman.calls["Command"] == 2


def test_endless_operation_timeouts_end_at_the_command_deadline(wsman: FakeWSMan) -> None:
    # pywinrm's get_command_output would poll this forever.
    with connect(settings(remediate_command_timeout=1), FAST) as conn:
        wsman.plan("Receive", *["timeout"] * 10_000)
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            conn.run("hostname", safe_to_repeat=True)
    assert time.monotonic() - started < 2


def test_a_large_batch_is_one_command_with_several_sends_under_the_envelope_limit(
    wsman: FakeWSMan,
) -> None:
    commands = [f"echo {i:05d} {'x' * 200}" for i in range(1500)]  # ~350 KB of stdin
    with connect(settings(), FAST) as conn:
        results = conn.run_batch(commands)
        assert conn.round_trips == 1
    assert results[1234].stdout == f"01234 {'x' * 200}\n"
    assert wsman.calls["Command"] == 1 and wsman.calls["Send"] >= 4
    assert max(len(body) for body in wsman.bodies["Send"]) < 153_600


def test_basic_over_http_is_refused_unless_the_host_opts_in(wsman: FakeWSMan) -> None:
    with pytest.raises(InsecureTransportRefused, match="plain HTTP"):
        WinRMConnection(settings(ansible_winrm_scheme="http"))
    opted = WinRMConnection(
        settings(ansible_winrm_scheme="http", remediate_allow_insecure_winrm=True)
    )
    assert opted.endpoint == "http://win.example:5985/wsman"
    assert sum(wsman.calls.values()) == 0


def test_powershell_hosts_are_driven_through_cmd(wsman: FakeWSMan) -> None:
    with connect(settings(ansible_shell_type="powershell"), FAST) as conn:
        assert conn.dialect == "cmd"
        assert conn.run("hostname").stdout == "ws900\n"


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        pytest.param(
            "kerberos",
            r"pip install 'pywinrm\[kerberos\]'",
            marks=pytest.mark.skipif(HAVE_KERBEROS, reason="the kerberos extra is here"),
        ),
        ("certificate", "ansible_winrm_cert_pem and ansible_winrm_cert_key_pem"),
        ("digest", "ansible_winrm_transport=.digest. must be one of ntlm"),
    ],
)
def test_unusable_transports_are_input_errors(transport: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        WinRMConnection(settings(ansible_winrm_transport=transport))


def test_disabled_certificate_validation_is_warned_about(
    wsman: FakeWSMan, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        WinRMConnection(settings(ansible_winrm_server_cert_validation="ignore"))
    assert "certificate validation is off" in caplog.text
