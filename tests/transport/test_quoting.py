"""quote_argv: cmd.exe + MSVCRT and POSIX lines that give back the exact argv, or a refusal."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediate.errors import UnsafeArgument
from remediate.lab.argv import split_args
from remediate.transport.batch import SESSION_COMMAND, build_script, parse_output
from remediate.transport.quoting import CMD_MAX_LINE, msvcrt_quote, quote_argv

from .labcmd import ARGV_EXE, argv_host

HOSTILE = [
    "x & whoami",
    "a&b^c%d!e\"f'g(h)",
    "%PATH%",
    "x%PATH%y",
    "%PATH:a=b%",
    "%%",
    "100%",
    "!PATH!",
    "^",
    "^^",
    '"',
    '""',
    "\\",
    "a\\",
    'a\\"',
    "a b",
    "",
    " ",
    "\t",
    "<in >out |p",
    "(paren)",
    "josé.müller",
    "日本語",
    "%",
    "%^",
    "a%",
    "%a",
    "trailing\\\\",
]

# Anything but NUL, CR and LF (and lone surrogates, which are not text).
# Any text a command line can carry: every character but the control ones (TAB aside).
CONTROLS = "".join(chr(c) for c in range(0x20) if c != 0x09) + "\x7f"
ARG = st.text(st.characters(exclude_characters=CONTROLS, exclude_categories=["Cs"]), max_size=12)


def run_in_lab_session(args: list[str]) -> tuple[list[list[str]], int, str]:
    """Quote argv.exe + args, run it in a lab cmd session; the argvs seen, commands, stdout."""
    line = quote_argv("cmd", [ARGV_EXE, *args])
    with argv_host() as (host, recorder):
        script = build_script("cmd", [line])
        result = host.execute(SESSION_COMMAND["cmd"], stdin=script.stdin)
        parsed = parse_output(script, result.stdout, result.stderr)
        return recorder.calls, host.counters["commands"], parsed.results[0].stdout


def baseline_commands() -> int:
    return run_in_lab_session(["plain"])[1]


@pytest.mark.parametrize("arg", HOSTILE)
def test_hostile_argument_reaches_the_program_unchanged(arg: str) -> None:
    calls, commands, stdout = run_in_lab_session([arg, "next"])
    assert calls == [[ARGV_EXE, arg, "next"]]
    assert json.loads(stdout) == [arg, "next"]
    assert commands == baseline_commands()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ARG, max_size=6))
def test_any_argv_round_trips_through_the_lab_cmd_parser(args: list[str]) -> None:
    calls, commands, _ = run_in_lab_session(args)
    assert calls == [[ARGV_EXE, *args]]  # exactly one program started, with exactly our argv
    assert commands == baseline_commands()  # no extra command (no `&`, `|` escaped)


@given(ARG)
def test_msvcrt_quoting_matches_the_documented_rules(arg: str) -> None:
    assert split_args(msvcrt_quote(arg)) == [arg]


def test_msvcrt_never_emits_doubled_quotes_inside_a_quoted_run() -> None:
    assert msvcrt_quote('a"b') == '"a\\"b"'
    assert msvcrt_quote('a\\"b') == '"a\\\\\\"b"'
    assert msvcrt_quote("a b\\") == '"a b\\\\"'
    assert msvcrt_quote("C:\\dir\\file") == "C:\\dir\\file"


def test_percent_cannot_expand_a_variable() -> None:
    line = quote_argv("cmd", ["C:\\x.exe", "%PATH%", "%PATH:a=b%"])
    assert line == '"C:\\x.exe" %^PATH%^ %^PATH:a=b%'


@pytest.mark.parametrize("bad", ["a\x00b", "a\rb", "a\nb", "\n"])
def test_nul_cr_lf_are_refused_with_a_clear_error(bad: str) -> None:
    for dialect in ("cmd", "sh"):
        with pytest.raises(UnsafeArgument, match=r"argv\[1\] contains (NUL|CR|LF) at offset"):
            quote_argv(dialect, ["prog", bad])


@pytest.mark.parametrize(
    "program", ['C:\\a"b.exe', "C:\\100%\\x.exe", "C:\\bang!\\x.exe", "C:\\dir\\", ""]
)
def test_program_paths_cmd_cannot_carry_are_refused(program: str) -> None:
    with pytest.raises(UnsafeArgument, match="program path"):
        quote_argv("cmd", [program, "x"])


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        ("x\x1awhoami", "Ctrl-Z"),
        ("a\x1bb", "control character U\\+001B"),
        ("a\x08b", "control character U\\+0008"),
        ("a\x7f", "DEL"),
    ],
)
def test_every_control_character_but_tab_is_refused(bad: str, name: str) -> None:
    # cmd reading a pipe takes Ctrl-Z for a line end: `whoami` would run as a command.
    for dialect in ("cmd", "sh"):
        with pytest.raises(UnsafeArgument, match=rf"argv\[1\] contains {name}"):
            quote_argv(dialect, ["prog", bad])
    assert quote_argv("cmd", ["C:\\x.exe", "a\tb"]) == '"C:\\x.exe" ^"a\tb^"'


def test_the_line_limit_counts_utf16_code_units() -> None:
    emoji = "\U0001f600"  # two UTF-16 code units each
    fits = (CMD_MAX_LINE - len('"C:\\x.exe" ')) // 2
    quote_argv("cmd", ["C:\\x.exe", emoji * fits])
    with pytest.raises(UnsafeArgument, match="UTF-16 code units; cmd.exe accepts at most 8191"):
        quote_argv("cmd", ["C:\\x.exe", emoji * (fits + 1)])


def test_cmd_line_limit_is_respected() -> None:
    fits = quote_argv("cmd", ["C:\\x.exe", "a" * (CMD_MAX_LINE - len('"C:\\x.exe" '))])
    assert len(fits) == CMD_MAX_LINE
    with pytest.raises(UnsafeArgument, match="at most 8191"):
        quote_argv("cmd", ["C:\\x.exe", "a" * (CMD_MAX_LINE - len('"C:\\x.exe" ') + 1)])


def test_unknown_dialect_and_bare_string_are_refused() -> None:
    with pytest.raises(UnsafeArgument, match="powershell"):
        quote_argv("powershell", ["x"])
    with pytest.raises(TypeError):
        quote_argv("cmd", "C:\\x.exe")
    with pytest.raises(UnsafeArgument, match="empty argv"):
        quote_argv("sh", [])


@settings(max_examples=100, deadline=None)
@given(st.lists(ARG, max_size=5))
def test_posix_quoting_round_trips_through_shlex(args: list[str]) -> None:
    assert shlex.split(quote_argv("sh", ["prog", *args])) == ["prog", *args]


@settings(max_examples=25, deadline=None)
@given(st.lists(ARG.filter(lambda a: "\x00" not in a), min_size=1, max_size=4))
def test_posix_quoting_round_trips_through_a_real_sh(args: list[str]) -> None:
    line = quote_argv("sh", ["printf", "%s\\0", *args])
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
    assert out.decode("utf-8").split("\x00")[:-1] == args
