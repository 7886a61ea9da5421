"""The command line exists, reports usage errors as one line with exit 5, and masks secrets."""

from __future__ import annotations

import subprocess
import sys

from remediate.secrets import Secret


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remediate", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_program() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "remediate" in result.stdout


def test_unknown_subcommand_is_exit_5_without_traceback() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 5
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_secret_never_prints() -> None:
    canary = "canary-Pw-7f3a9"
    secret = Secret(canary)
    assert canary not in str(secret)
    assert canary not in repr(secret)
    assert canary not in f"{secret} {secret!r} {[secret]} { ({'p': secret}) }"
    assert secret.reveal() == canary
