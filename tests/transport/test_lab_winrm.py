"""WinRM against the lab: HTTPS and the lab CA, one shell, 500 commands in one round trip."""

from __future__ import annotations

import logging
import time

import pytest

from remediate.errors import AuthFailed, CommandTimeout, TLSFailed, Unreachable
from remediate.transport import InsecureTransportRefused, UnknownBatchOutcome, connect
from remediate.transport.quoting import quote_argv

from .labfleet import FAST_RETRIES, MSBOX, Lab

pytestmark = pytest.mark.lab
HOST = "mail001"


def msbox(*args: str) -> str:
    return quote_argv("cmd", [MSBOX, *args])


def test_500_msbox_commands_cost_one_round_trip_with_per_command_output(lab: Lab) -> None:
    boxes = lab.mailboxes(HOST)
    commands = [msbox("-get", boxes[i % len(boxes)]) for i in range(499)]
    commands.append(msbox("-get", "nobody@nowhere.example"))
    with connect(lab.winrm(HOST)) as conn:
        before = lab.counters(HOST)
        results = conn.run_batch(commands, safe_to_repeat=True)
        after = lab.counters(HOST)
        assert conn.round_trips == 1
    assert after["round_trips"] - before["round_trips"] == 1
    assert len(results) == 500
    expected = lab.host(HOST).console(commands[3]).stdout.decode().replace("\r\n", "\n")
    assert results[3].rc == 0 and results[3].stdout == expected
    assert (results[-1].rc, results[-1].stdout) == (1, "Mailbox not found\n")


def test_writes_apply_and_hostile_values_stay_literal(lab: Lab) -> None:
    box = lab.mailboxes(HOST)[0]
    value = 'x & whoami %PATH% "q" ^ !x! <y>'
    with connect(lab.winrm(HOST)) as conn:
        result = conn.run(msbox("-set", box, "FullName", value))
        assert result.rc == 0, result
        assert f"FullName={value}\n" in conn.run(msbox("-get", box), safe_to_repeat=True).stdout


def test_connection_reuses_one_shell(lab: Lab) -> None:
    before = lab.counters(HOST)
    with connect(lab.winrm(HOST)) as conn:
        for _ in range(3):
            assert conn.run("hostname").stdout == f"{HOST}\n"
    after = lab.counters(HOST)
    assert after["connections"] - before["connections"] == 1
    assert after["round_trips"] - before["round_trips"] == 3


def test_certificate_from_an_untrusted_ca_is_refused_without_retry(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    settings = lab.winrm(HOST, ansible_winrm_ca_trust_path="")
    with caplog.at_level(logging.WARNING), pytest.raises(TLSFailed, match="verif"):
        connect(settings, FAST_RETRIES)
    assert "retrying" not in caplog.text


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_an_unusable_ca_file_is_a_tls_failure_tried_once(
    lab: Lab, caplog: pytest.LogCaptureFixture, tmp_path: object, content: str | None
) -> None:
    from pathlib import Path

    bundle = Path(str(tmp_path)) / "ca.pem"
    if content is not None:
        bundle.write_text(content)
    before = lab.counters(HOST)
    settings = lab.winrm(HOST, ansible_winrm_ca_trust_path=str(bundle))
    with caplog.at_level(logging.WARNING), pytest.raises(TLSFailed, match="not a usable CA"):
        connect(settings, FAST_RETRIES)
    assert "retrying" not in caplog.text
    assert lab.counters(HOST)["requests"] == before["requests"]  # nothing was sent


def test_wrong_password_is_tried_exactly_once(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    before = lab.counters(HOST)
    settings = lab.winrm(HOST, ansible_password="wrong-Secret-123")
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthFailed) as caught:
        connect(settings, FAST_RETRIES)
    assert lab.counters(HOST)["requests"] - before["requests"] == 1
    assert "wrong-Secret-123" not in str(caught.value) + caplog.text


def test_basic_over_plain_http_is_refused_before_any_request(lab: Lab) -> None:
    before = lab.counters(HOST)
    settings = lab.winrm(HOST, ansible_winrm_scheme="http")
    with pytest.raises(InsecureTransportRefused, match="remediate_allow_insecure_winrm"):
        connect(settings)
    assert lab.counters(HOST)["requests"] == before["requests"]


@pytest.mark.usefixtures("clean_faults")
def test_http_500_on_shell_creation_is_retried(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    lab.fleet.set_fault(HOST, "http500=1")
    with caplog.at_level(logging.WARNING), connect(lab.winrm(HOST), FAST_RETRIES) as conn:
        assert conn.run("hostname").rc == 0
    assert "HTTP 500" in caplog.text and "retrying" in caplog.text


@pytest.mark.usefixtures("clean_faults")
def test_refused_connection_is_unreachable_after_bounded_retries(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    lab.fleet.set_fault(HOST, "refuse")
    with caplog.at_level(logging.WARNING), pytest.raises(Unreachable, match="refused"):
        connect(lab.winrm(HOST), FAST_RETRIES)
    assert caplog.text.count("retrying") == FAST_RETRIES.attempts - 1


@pytest.mark.usefixtures("clean_faults")
def test_drop_mid_batch_of_writes_is_not_resent(lab: Lab) -> None:
    boxes = lab.mailboxes("mail003")[:6]
    commands = [msbox("-set", box, "FullName", "dropped-batch") for box in boxes]
    with connect(lab.winrm("mail003"), FAST_RETRIES) as conn:
        # The session's 4 opening lines, then 4 per write ((call ), the write, 2 markers):
        # two writes and their markers run, the third write's line is where it drops.
        lab.fleet.set_fault("mail003", f"drop-after={4 + 4 * 2}")
        before = lab.counters("mail003")
        with pytest.raises(UnknownBatchOutcome, match="4 of 6 commands in doubt") as caught:
            conn.run_batch(commands)
        assert lab.counters("mail003")["round_trips"] - before["round_trips"] == 1
    assert [r.rc for r in caught.value.completed] == [0, 0]  # streamed before the drop
    names = [lab.host("mail003").console(msbox("-get", b)).stdout.decode() for b in boxes]
    applied = ["FullName=dropped-batch" in text for text in names]
    assert applied == [True, True, False, False, False, False]


@pytest.mark.usefixtures("clean_faults")
def test_drop_mid_batch_of_reads_is_retried(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    boxes = lab.mailboxes("mail003")
    commands = [msbox("-get", box) for box in boxes]
    with connect(lab.winrm("mail003"), FAST_RETRIES) as conn:
        lab.fleet.set_fault("mail003", "drop-after=20")
        with caplog.at_level(logging.WARNING):
            results = conn.run_batch(commands, safe_to_repeat=True)
        assert conn.round_trips == 2
    assert [r.rc for r in results] == [0] * len(boxes)
    assert "connection reset or dropped" in caplog.text


@pytest.mark.slow
@pytest.mark.usefixtures("clean_faults")
def test_hang_ends_within_the_deadline(lab: Lab) -> None:
    with connect(lab.winrm("mail004", remediate_command_timeout=2), FAST_RETRIES) as conn:
        lab.fleet.set_fault("mail004", "hang=6")
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="within 2s"):
            conn.run("hostname", safe_to_repeat=True)
        assert time.monotonic() - started < 3.5
