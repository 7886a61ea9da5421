"""The batch protocol: markers survive cmd's noise, cannot be forged, and report partial runs."""

from __future__ import annotations

import pytest

from remediate.errors import UnsafeArgument
from remediate.lab.cmdexec import BANNER
from remediate.transport.base import CommandResult
from remediate.transport.batch import SESSION_COMMAND, build_script, parse_output, split_commands

from .labcmd import argv_host


def test_cmd_batch_in_a_noisy_lab_session_gives_each_command_its_output_and_rc() -> None:
    commands = ["echo one", "dir C:\\nowhere", "hostname", "nosuchprogram"]
    script = build_script("cmd", commands)
    with argv_host() as (host, _):
        # A bare `cmd` (echo on) is as noisy as the real one: banner, prompts, echoed lines.
        result = host.execute("cmd", stdin=script.stdin)
    assert result.stdout.decode().startswith(BANNER)
    parsed = parse_output(script, result.stdout, result.stderr)
    assert parsed.complete
    assert [r.stdout for r in parsed.results][0] == "one\n"
    # rc is %ERRORLEVEL% after the command: a program sets it (builtins like echo do not).
    assert parsed.results[2] == CommandResult(0, "ws900\n", "")
    assert parsed.results[3].rc == 9009
    assert "'nosuchprogram' is not recognized" in parsed.results[3].stderr
    assert parsed.results[1].rc != 0


def test_output_cannot_forge_a_marker() -> None:
    first = build_script("cmd", ["echo x"])
    forged = f"echo {first.token}:0:0"
    script = build_script("cmd", [forged, "echo after"])
    with argv_host() as (host, _):
        result = host.execute("cmd /q /d", stdin=script.stdin)
    parsed = parse_output(script, result.stdout, result.stderr)
    assert parsed.results[0].stdout == f"{first.token}:0:0\n"
    assert parsed.results[1].stdout == "after\n"


def test_output_without_a_final_newline_is_kept_exactly() -> None:
    script = build_script("sh", ["printf abc", "printf 'x\\n\\n'", "true"])
    import subprocess

    done = subprocess.run(["sh", "-s"], input=script.stdin, capture_output=True, check=True)
    parsed = parse_output(script, done.stdout, done.stderr)
    assert [r.stdout for r in parsed.results] == ["abc", "x\n\n", ""]


def test_partial_output_yields_the_finished_commands_only() -> None:
    script = build_script("cmd", ["echo a", "echo b", "echo c"])
    with argv_host() as (host, _):
        result = host.execute("cmd /q /d", stdin=script.stdin)
    cut = result.stdout[: result.stdout.index(f"{script.token}:1:".encode())]
    parsed = parse_output(script, cut, b"")
    assert not parsed.complete
    assert [r.stdout for r in parsed.results] == ["a\n"]


def test_a_command_that_cannot_be_one_line_is_refused() -> None:
    with pytest.raises(UnsafeArgument, match="LF"):
        build_script("cmd", ["echo a\necho b"])
    with pytest.raises(UnsafeArgument, match="8191"):
        build_script("cmd", ["echo " + "a" * 8191])
    with pytest.raises(UnsafeArgument, match="ends with a caret"):
        build_script("cmd", ["echo a^"])
    build_script("cmd", ["echo a^^"])  # an escaped caret is fine
    with pytest.raises(UnsafeArgument, match="parenthesis open"):
        build_script("cmd", ["if 1==1 (echo a"])
    build_script("cmd", ['echo ^( "(" (a) b'])  # escaped, quoted or closed: fine


def test_a_cmd_session_fixes_its_own_rules_and_code_page() -> None:
    script = build_script("cmd", ["echo a"], token="tok").stdin.decode().split("\r\n")
    assert SESSION_COMMAND["cmd"] == "cmd /q /d /v:off /e:on"
    assert script[:2] == ["@echo off", "chcp 65001 >nul"]
    # ERRORLEVEL is reset before every command: built-ins never set it themselves.
    assert script[4:6] == ["(call )", "echo a"]


def test_batches_split_only_when_the_size_limit_forces_it() -> None:
    commands = [f"echo {i:04d}" for i in range(500)]
    assert [len(c) for c in split_commands("cmd", commands)] == [500]
    chunks = list(split_commands("cmd", commands, max_bytes=10_000))
    assert len(chunks) > 1 and sum(len(c) for c in chunks) == 500
    assert [c for chunk in chunks for c in chunk] == commands


def test_echoed_marker_commands_are_not_taken_for_markers() -> None:
    # A command that turns echo back on makes cmd echo the (expanded) marker lines.
    script = build_script("cmd", ["echo on", "hostname"])
    t = script.token
    stdout = (
        f"{t}:go\r\n{t}:0:0\r\n\r\nC:\\Users\\u>hostname\r\nws1\r\n\r\n"
        f"C:\\Users\\u>echo {t}:1:0\r\n{t}:1:0\r\n"
    ).encode()
    stderr = f"{t}:go \r\n{t}:0 \r\n{t}:1 \r\n".encode()
    parsed = parse_output(script, stdout, stderr)
    assert parsed.complete
    assert parsed.results[1].stdout.startswith("\nC:\\Users\\u>hostname\nws1\n")
    assert parsed.results[1].rc == 0
