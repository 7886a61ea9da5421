"""The lab's cmd.exe: what a client sees from command lines and stdin sessions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediate.lab.argv import argv, split_args
from remediate.lab.host import CommandDropped, ExecResult, LabHost, install_windows
from remediate.lab.msbox import MSBOX_PATH
from remediate.lab.state import HostState, Mailbox

NOT_RECOGNIZED = (
    b"'{}' is not recognized as an internal or external command,\r\n"
    b"operable program or batch file.\r\n"
)


def make_host() -> LabHost:
    state = HostState("mail001", "mailsite", "10.0.1.1")
    install_windows(state)
    domain = state.add_domain("example.com")
    domain.template.properties["ReplyOnce"] = 1
    domain.add(Mailbox("sales", {"Password": "s3cret-Pass", "ReplyOnce": 0}))
    domain.add(Mailbox("a & b", {"FullName": "Hostile"}))
    return LabHost(state)


@pytest.fixture
def host() -> LabHost:
    return make_host()


def run(host: LabHost, line: str) -> ExecResult:
    return host.execute(line)


def out(host: LabHost, line: str) -> str:
    return host.execute(line).stdout.decode("utf-8")


# ---------------------------------------------------------------- MSVCRT


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"a b c" d e', ["a b c", "d", "e"]),
        ('"ab\\"c" "\\\\" d', ['ab"c', "\\", "d"]),
        ('a\\\\\\b d"e f"g h', ["a\\\\\\b", "de fg", "h"]),
        ('a\\\\\\"b c d', ['a\\"b', "c", "d"]),
        ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]),
        ('a"b"" c d', ['ab" c d']),
    ],
)
def test_microsoft_table(line: str, expected: list[str]) -> None:
    assert split_args(line) == expected


def test_argv0_takes_no_backslash_rules() -> None:
    assert argv('"C:\\Program Files\\x.exe" a\\"b') == ["C:\\Program Files\\x.exe", 'a"b']


def test_program_sees_msvcrt_arguments(host: LabHost) -> None:
    # The mailbox name reaches msbox as one argv item through quotes.
    assert out(host, 'msbox -get "a & b@example.com"') == "FullName=Hostile\r\n"


# ---------------------------------------------------------------- operators and quoting


def test_quoted_ampersand_runs_no_second_command(host: LabHost) -> None:
    result = run(host, 'echo "x & whoami"')
    assert result.stdout == b'"x & whoami"\r\n'
    assert host.counters["commands"] == 1


def test_unquoted_ampersand_runs_both(host: LabHost) -> None:
    result = run(host, "echo x & whoami")
    assert result.stdout == b"x \r\nmail001\\labadmin\r\n"
    assert host.counters["commands"] == 2


def test_carets_escape_operators_and_vanish(host: LabHost) -> None:
    assert out(host, "echo a^&b ^| c^^d ^<e^>") == "a&b | c^d <e>\r\n"
    assert host.counters["commands"] == 1


def test_caret_is_literal_inside_quotes(host: LabHost) -> None:
    assert out(host, 'echo "a^&b"') == '"a^&b"\r\n'


def test_escaped_quote_does_not_open_a_quoted_run(host: LabHost) -> None:
    assert out(host, 'echo ^"a & echo b') == '"a \r\nb\r\n'


def test_percent_expands_inside_quotes(host: LabHost) -> None:
    assert out(host, 'echo "%COMPUTERNAME%" %USERNAME%') == '"MAIL001" labadmin\r\n'


def test_undefined_variable_stays_as_typed(host: LabHost) -> None:
    assert out(host, "echo %NOPE% 100%") == "%NOPE% 100%\r\n"
    # cmd rescans from the closing % of an undefined name.
    assert out(host, "echo %a %USERNAME% c%") == "%a labadmin c%\r\n"


def test_caret_after_percent_defeats_expansion(host: LabHost) -> None:
    assert out(host, "echo x%^PATH%^y") == "x%PATH%y\r\n"


def test_substring_and_replace_modifiers(host: LabHost) -> None:
    assert out(host, "echo %USERNAME:~0,3% %USERNAME:admin=user%") == "lab labuser\r\n"


def test_and_or_follow_exit_codes(host: LabHost) -> None:
    assert out(host, "msbox -get nobody@example.com && echo yes || echo no") == (
        "Mailbox not found\r\nno\r\n"
    )
    assert out(host, "msbox -domains && echo yes || echo no") == "example.com\r\nyes \r\n"


def test_errorlevel_is_expanded_when_the_line_is_read(host: LabHost) -> None:
    session = host.execute("cmd /q", b"msbox -get x@example.com\r\necho %ERRORLEVEL%\r\n")
    assert session.stdout.decode().endswith("Mailbox not found\r\n1\r\n")
    same_line = run(host, "msbox -get x@example.com & echo %ERRORLEVEL%")
    assert same_line.stdout.endswith(b"\r\n0\r\n")


def test_exit_b_sets_exit_code(host: LabHost) -> None:
    assert run(host, "exit /b 7").rc == 7
    assert run(host, "(echo a & exit /b 3) & echo never").stdout == b"a \r\n"


def test_if_errorlevel_and_comparisons(host: LabHost) -> None:
    line = "msbox -get x@example.com & if errorlevel 1 echo failed"
    assert out(host, line).endswith("failed\r\n")
    assert out(host, 'if "a"=="a" (echo same) else (echo differ)') == "same\r\n"
    assert out(host, 'if not "a"=="b" echo one & echo two') == "one \r\ntwo\r\n"
    assert out(host, 'if "a"=="b" echo one & echo two') == ""


def test_set_variants_and_expansion_in_later_lines(host: LabHost) -> None:
    session = host.execute(
        "cmd /q", b'set A=x y \r\nset "B=q"uo"ted" tail\r\necho [%A%] [%B%]\r\nset B\r\n'
    )
    assert '[x y ] [q"uo"ted]\r\nB=q"uo"ted\r\n' in session.stdout.decode()


def test_expanded_variable_is_parsed_again(host: LabHost) -> None:
    # Phase 1 runs before operators are read: a value holding `&` starts a command.
    session = host.execute("cmd /q", b"set A=x ^& whoami\r\necho %A%\r\n")
    assert "x \r\nmail001\\labadmin\r\n" in session.stdout.decode()


def test_set_does_not_survive_the_process(host: LabHost) -> None:
    run(host, "set LABVAR=1")
    assert out(host, "echo %LABVAR%") == "%LABVAR%\r\n"


def test_echo_forms(host: LabHost) -> None:
    assert out(host, "echo.") == "\r\n"
    assert out(host, "echo(hello") == "hello\r\n"
    assert out(host, "echo") == "ECHO is on.\r\n"
    assert out(host, "@echo   spaced") == "  spaced\r\n"


def test_redirection_to_nul_and_files(host: LabHost) -> None:
    assert run(host, "msbox -get x@example.com >nul").stdout == b""
    result = run(host, "whoami>out.txt & type out.txt")
    assert result.stdout == b"mail001\\labadmin\r\n"
    err = run(host, "nosuch 2>&1")
    assert err.stdout == NOT_RECOGNIZED.replace(b"{}", b"nosuch") and err.stderr == b""


def test_ver_hostname_whoami_cd(host: LabHost) -> None:
    assert out(host, "ver") == "\r\nMicrosoft Windows [Version 10.0.17763.5576]\r\n"
    assert out(host, "hostname") == "mail001\r\n"
    assert out(host, "whoami") == "mail001\\labadmin\r\n"
    assert out(host, "cd") == "C:\\Users\\labadmin\r\n"


def test_unknown_program(host: LabHost) -> None:
    result = run(host, "frobnicate now")
    assert result.rc == 9009 and result.stdout == b""
    assert result.stderr == NOT_RECOGNIZED.replace(b"{}", b"frobnicate")


def test_quoted_internal_command_name_is_a_program(host: LabHost) -> None:
    assert host.execute("cmd /q", b'"echo" hi\r\n').stderr.startswith(b"'echo' is not")
    # On a `cmd /c` line the two quotes go first (no blank inside them).
    assert run(host, '"echo" hi').stdout == b"hi\r\n"


def test_syntax_error_runs_nothing(host: LabHost) -> None:
    result = run(host, "whoami & | echo x")
    assert result.stdout == b""
    assert result.stderr == b"| was unexpected at this time.\r\n"
    assert host.counters["commands"] == 0


def test_full_path_and_path_search(host: LabHost) -> None:
    expected = out(host, "msbox -domains")
    assert out(host, f'"{MSBOX_PATH}" -domains') == expected == "example.com\r\n"
    assert out(host, "msbox.exe -domains") == expected


def test_slash_c_strips_outer_quotes_of_a_complex_line(host: LabHost) -> None:
    # Like `cmd /c`: more than two quotes, so the first and the last are removed ...
    broken = run(host, f'"{MSBOX_PATH}" -get "sales@example.com"')
    assert broken.rc == 9009 and b"'C:\\Program'" in broken.stderr
    # ... and one more pair around the whole line is the usual cure.
    fixed = run(host, f'""{MSBOX_PATH}" -get "sales@example.com""')
    assert fixed.rc == 0 and b"ReplyOnce=0" in fixed.stdout


def test_dir_and_type(host: LabHost) -> None:
    fs = host.state.fs
    fs.write("C:\\Data\\Logs\\SMTP-20261120.log", b"line1\r\n")
    fs.write("C:\\Data\\Logs\\POP3-20261120.log", b"pop\r\n")
    assert out(host, "dir /b C:\\Data\\Logs") == "POP3-20261120.log\r\nSMTP-20261120.log\r\n"
    assert out(host, "dir /b C:\\Data\\Logs\\SMTP-*.log") == "SMTP-20261120.log\r\n"
    assert out(host, 'type "C:\\Data\\Logs\\SMTP-20261120.log"') == "line1\r\n"
    missing = run(host, "type C:\\nope.txt")
    assert missing.rc == 1 and missing.stderr == b"The system cannot find the file specified.\r\n"
    assert run(host, "dir /b C:\\nope").stderr == b"File Not Found\r\n"


# ---------------------------------------------------------------- FOR /F


def test_for_f_iterates_command_output(host: LabHost) -> None:
    line = "for /f \"delims=\" %X in ('msbox -list example.com') do @echo [%X]"
    assert out(host, line) == "[MailboxTemplate]\r\n[sales]\r\n[a & b]\r\n"


def test_for_f_value_is_not_reparsed(host: LabHost) -> None:
    line = 'for /f "delims=" %X in (\'msbox -list example.com\') do @msbox -get "%X@example.com"'
    result = run(host, line)
    assert result.rc == 0
    assert "FullName=Hostile" in result.stdout.decode()
    # 1 listing + 3 gets; the `&` in "a & b" ran nothing.
    assert host.counters["commands"] == 4
    assert result.stderr == b""


def test_for_f_hostile_value_with_quote_goes_to_msvcrt_as_text(host: LabHost) -> None:
    host.state.domain("example.com").add(Mailbox('q"x & whoami', {"FullName": "Q"}))  # type: ignore[union-attr]
    line = "for /f \"delims=\" %X in ('msbox -list example.com') do @echo <%X>"
    line = line.replace("<", "^<").replace(">", "^>")
    result = run(host, line)
    assert '<q"x & whoami>' in result.stdout.decode()
    assert "labadmin" not in result.stdout.decode()
    assert host.counters["commands"] == 5


def test_for_f_tokens_and_delims(host: LabHost) -> None:
    line = "for /f \"tokens=1,2 delims==\" %A in ('msbox -get sales@example.com') do @echo %B:%A"
    assert out(host, line) == "s3cret-Pass:Password\r\n0:ReplyOnce\r\n"


def test_for_f_literal_string_and_plain_for(host: LabHost) -> None:
    assert out(host, 'for /f "tokens=2" %A in ("a b c") do @echo %A') == "b\r\n"
    assert out(host, "for %A in (x y) do @echo %A") == "x\r\ny\r\n"


def test_for_body_includes_the_rest_of_the_line(host: LabHost) -> None:
    assert out(host, "for %A in (1 2) do @echo %A & echo done") == "1 \r\ndone\r\n2 \r\ndone\r\n"
    assert out(host, "(for %A in (1 2) do @echo %A) & echo done") == "1\r\n2\r\ndone\r\n"


def test_percent_expansion_happens_before_for_substitution(host: LabHost) -> None:
    host.state.setenv("X", "env")
    line = "for /f \"delims=\" %X in ('echo val') do @echo %X %X%"
    # Phase 1 keeps `%X in (...) do @echo ` and `%X ` (undefined names) and expands `%X%`.
    assert out(host, line) == "val env\r\n"


# ---------------------------------------------------------------- sessions


def test_stdin_session_is_noisy(host: LabHost) -> None:
    result = host.execute("cmd", b"echo hello\r\nmsbox -domains\r\nexit\r\n")
    assert result.stdout.decode() == (
        "Microsoft Windows [Version 10.0.17763.5576]\r\n"
        "(c) Microsoft Corporation. All rights reserved.\r\n"
        "\r\n"
        "C:\\Users\\labadmin>echo hello\r\n"
        "hello\r\n"
        "\r\n"
        "C:\\Users\\labadmin>msbox -domains\r\n"
        "example.com\r\n"
        "\r\n"
        "C:\\Users\\labadmin>exit\r\n"
    )
    assert result.rc == 0


def test_session_exit_code_and_echo_off(host: LabHost) -> None:
    result = host.execute("cmd.exe /q /d", b"@echo off\r\necho hi\r\nexit /b 5\r\necho never\r\n")
    assert result.stdout.endswith(b"\r\n\r\nhi\r\n")
    assert b"never" not in result.stdout and result.rc == 5


def test_session_ends_at_eof_with_last_errorlevel(host: LabHost) -> None:
    result = host.execute("cmd", b"msbox -get nobody@example.com")
    assert result.rc == 1
    assert result.stdout.endswith(b"Mailbox not found\r\n\r\nC:\\Users\\labadmin>")


def test_hook_sees_each_simple_command_and_can_abort(host: LabHost) -> None:
    seen: list[str] = []

    def hook(text: str) -> None:
        seen.append(text)
        if len(seen) == 2:
            raise CommandDropped("drop")

    host.command_hook = hook
    with pytest.raises(CommandDropped):
        host.execute(
            "cmd /q",
            b"msbox -set sales@example.com FullName One\r\nmsbox -set "
            b"sales@example.com FullName Two\r\n",
        )
    assert seen == [
        "msbox -set sales@example.com FullName One",
        "msbox -set sales@example.com FullName Two",
    ]
    sales = host.state.domain("example.com").find("sales")  # type: ignore[union-attr]
    assert sales is not None and sales.properties["FullName"] == "One"


def test_console_is_not_counted_and_not_hooked(host: LabHost) -> None:
    def hook(text: str) -> None:
        raise CommandDropped(text)

    host.command_hook = hook
    assert host.console("hostname").stdout == b"mail001\r\n"
    assert host.counters["commands"] == 0


def test_session_speed(host: LabHost) -> None:
    import time

    script = b"@echo off\r\n" + b"msbox -get sales@example.com\r\n" * 500 + b"exit\r\n"
    host.execute("cmd /q", script)  # warm up
    start = time.perf_counter()
    result = host.execute("cmd /q", script)
    elapsed = time.perf_counter() - start
    assert result.stdout.count(b"Password=") == 500
    assert elapsed < 0.25  # ~25 ms measured; generous for a loaded machine


def test_colon_in_an_undefined_name_ends_it(host: LabHost) -> None:
    assert out(host, "echo %x:%USERNAME%") == "%x:labadmin\r\n"
    assert out(host, "echo %USERNAME:~-5%") == "admin\r\n"


def test_nested_for_substitutes_outer_first(host: LabHost) -> None:
    host.state.domain("example.com").add(Mailbox("p%Dq", {}))  # type: ignore[union-attr]
    line = "for %D in (example.com) do @for /f \"delims=\" %M in ('msbox -list %D') do @echo %M@%D"
    assert out(host, line).splitlines()[-1] == "p%Dq@example.com"
    # A value of the outer loop is still text the inner loop substitutes in.
    assert out(host, "for %D in (a%M) do @for %M in (z) do @echo %D") == "az\r\n"


_PIECES = [
    "echo ",
    "msbox ",
    "-get ",
    "example.com",
    '"',
    "'",
    "^",
    "&",
    "&&",
    "||",
    "|",
    "(",
    ")",
    "%",
    "PATH",
    " ",
    ">",
    "<",
    "2>&1",
    "nul",
    "for ",
    "/f ",
    "%X ",
    "in ",
    "do ",
    "if ",
    "errorlevel ",
    "1 ",
    "not ",
    "==",
    "set ",
    "=",
    "exit ",
    "/b ",
    "cmd ",
    "/c ",
    "type ",
    "dir ",
    "netsh advfirewall firewall ",
    "show rule name=",
    "@",
    "else ",
    ":",
    "~",
    ",",
    ";",
    "`",
    "*",
    '"delims="',
    "\t",
    "é",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=14).map("".join))
def test_any_line_gives_a_windows_answer_never_a_python_error(line: str) -> None:
    host = make_host()
    result = host.execute(line, b"echo hi\r\nexit\r\n")
    assert isinstance(result.rc, int)
    assert b"Traceback" not in result.stdout + result.stderr


def test_slash_s_always_strips_the_outer_pair(host: LabHost) -> None:
    line = f'cmd /s /c ""{MSBOX_PATH}" -domains"'
    assert out(host, line) == "example.com\r\n"
    kept = f'cmd /c "{MSBOX_PATH}" -domains'
    assert out(host, kept) == "example.com\r\n"
    assert run(host, f'cmd /s /c "{MSBOX_PATH}" -domains').rc == 9009


def test_if_comparison_operators(host: LabHost) -> None:
    line = "msbox -get x@example.com >nul & if %ERRORLEVEL% NEQ 0 echo failed"
    assert out(host, line) == ""  # expanded before msbox ran: 0
    session = host.execute(
        "cmd /q",
        b"msbox -get x@example.com >nul\r\n"
        b"if %ERRORLEVEL% NEQ 0 echo failed\r\nif 10 GTR 9 echo num\r\n",
    )
    assert session.stdout.endswith(b"failed\r\nnum\r\n")


def test_openssh_exec_keeps_the_commands_own_quotes(host: LabHost) -> None:
    line = f'"{MSBOX_PATH}" -get "sales@example.com"'
    assert run(host, line).rc == 9009  # WinRM: cmd /c LINE strips
    assert host.execute_openssh(line).stdout.startswith(b"Password=")  # OpenSSH: cmd /c "LINE"
    session = host.execute_openssh("cmd /q", b"hostname\r\n")
    assert session.stdout.endswith(b"mail001\r\n")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=' \t"\\ab&^%é', max_size=8), max_size=5))
def test_msvcrt_split_inverts_pythons_list2cmdline(args: list[str]) -> None:
    # subprocess.list2cmdline quotes by the same Microsoft rules (never emits `""` inside).
    import subprocess

    assert split_args(subprocess.list2cmdline(args)) == args
