"""cmd.exe details the client's batch protocol leans on: switches, CALL, ERRORLEVEL, code pages,
Ctrl-Z and open blocks on stdin."""

from __future__ import annotations

import time

import pytest

from remediate.lab.host import ExecResult, LabHost, install_windows
from remediate.lab.state import HostState, Mailbox

SESSION = "cmd /q /d /v:off /e:on"


@pytest.fixture
def host() -> LabHost:
    state = HostState("mail001", "mailsite", "10.0.1.1")
    install_windows(state)
    domain = state.add_domain("example.com")
    domain.add(Mailbox("sales", {"FullName": "Sales"}))
    domain.add(Mailbox("josé.müller", {"FullName": "José"}))
    domain.add(Mailbox("sales & marketing", {"FullName": "Both"}))
    return LabHost(state)


def session(
    host: LabHost, *lines: str, start: str = SESSION, encoding: str = "utf-8", codepage: int = 437
) -> ExecResult:
    script = "".join(line + "\r\n" for line in lines).encode(encoding)
    return host.execute(start, script, codepage)


def text(result: ExecResult, encoding: str = "utf-8") -> str:
    return result.stdout.decode(encoding)


# ---------------------------------------------------------------- 1. launcher switches


def test_v_on_with_c_runs_the_command_with_delayed_expansion(host: LabHost) -> None:
    host.state.setenv("NAME", "value")
    assert text(host.execute("cmd /v:on /c echo ^!NAME^! and !NAME!")) == "value and value\r\n"
    # the reviewer's line used to open a stdin session (banner and prompt) and ignore /c
    assert b"Microsoft" not in host.execute("cmd /V:ON /C echo x").stdout


@pytest.mark.parametrize(
    "switches", ["/q /d /v:on /c", "/D /V:on /Q /c", "/e:on/v:on /c", "/s /v:on /c"]
)
def test_switches_in_any_order_and_case(host: LabHost, switches: str) -> None:
    host.state.setenv("NAME", "v")
    assert text(host.execute(f"cmd {switches} echo !NAME!")) == "v\r\n"


def test_delayed_expansion_is_off_by_default_and_with_v_off(host: LabHost) -> None:
    host.state.setenv("NAME", "v")
    assert text(host.execute("cmd /c echo !NAME!")) == "!NAME!\r\n"
    assert text(host.execute("cmd /v:on /v:off /c echo !NAME!")) == "!NAME!\r\n"
    assert text(session(host, "echo !NAME! ^!NAME^!", "exit")).endswith("!NAME! !NAME!\r\n")


def test_with_delayed_expansion_one_caret_does_not_protect_a_bang(host: LabHost) -> None:
    host.state.setenv("PATHX", "C:\\bin")
    # `^!` loses its caret in phase 2; phase 5 then expands: the quoter's escape is not enough
    assert text(host.execute("cmd /v:on /c echo x^!PATHX^!y")) == "xC:\\biny\r\n"
    # read from stdin (one cmd, not two): `^^^!` survives phase 2 as `^!`, which phase 5
    # turns into a literal `!`
    literal = session(host, "echo x^^^!PATHX^^^!y", "exit", start="cmd /q /v:on")
    assert text(literal).endswith("x!PATHX!y\r\n")
    # inside quotes phase 2 keeps carets, phase 5 still eats them
    assert text(host.execute('cmd /v:on /c echo "a^!PATHX^!b"')) == '"a!PATHX!b"\r\n'


def test_phase5_touches_carets_only_when_a_bang_is_present(host: LabHost) -> None:
    assert text(host.execute('cmd /v:on /c echo "a^b"')) == '"a^b"\r\n'
    assert text(host.execute('cmd /v:on /c echo "a^b!"')) == '"ab"\r\n'


def test_delayed_expansion_sees_values_set_earlier_on_the_line(host: LabHost) -> None:
    line = 'cmd /v:on /c "set X=new& echo %X% !X!"'
    assert text(host.execute(line)) == "%X% new\r\n"


def test_extensions_off_makes_errorlevel_literal(host: LabHost) -> None:
    result = session(host, "(call)", "echo [%ERRORLEVEL%]", "exit", start="cmd /q /e:off")
    assert text(result).endswith("[%ERRORLEVEL%]\r\n")
    on = session(host, "(call)", "echo [%ERRORLEVEL%]", "exit", start="cmd /q /e:on")
    assert text(on).endswith("[1]\r\n")


def test_extensions_off_uses_a_variable_named_errorlevel(host: LabHost) -> None:
    result = session(host, "set ERRORLEVEL=7", "echo [%ERRORLEVEL%]", "exit", start="cmd /q /y")
    assert text(result).endswith("[7]\r\n")


# ---------------------------------------------------------------- 2. CALL


def test_call_with_a_blank_resets_and_without_sets_one(host: LabHost) -> None:
    result = session(
        host,
        "@echo off",
        "(call)",
        "echo a:%ERRORLEVEL%",
        "(call )",
        "echo b:%ERRORLEVEL%",
        "exit",
        start="cmd /d",
    )
    assert text(result).endswith("a:1\r\nb:0\r\n")


def test_call_runs_a_program_with_a_second_percent_pass(host: LabHost) -> None:
    host.state.setenv("BOX", "sales@example.com")
    assert "FullName=Sales" in text(host.execute("call msbox -get %^BOX%"))
    missing = host.execute("call msbox -get nobody@example.com")
    assert (missing.rc, missing.stdout) == (1, b"Mailbox not found\r\n")


def test_call_echo_clears_errorlevel(host: LabHost) -> None:
    result = session(host, "(call)", "call echo hi", "echo [%ERRORLEVEL%]", "exit", start="cmd /q")
    assert text(result).endswith("hi\r\n[0]\r\n")


def test_call_of_a_label_is_refused_outside_a_script(host: LabHost) -> None:
    result = host.execute("call :sub")
    assert result.rc == 1
    assert b"Invalid attempt to call batch label" in result.stderr


# ---------------------------------------------------------------- 3. ERRORLEVEL


@pytest.mark.parametrize(
    "ok_command",
    [
        "type C:\\Windows\\System32\\cmd.exe",
        "dir /b C:\\Windows\\System32",
        "ver",
        "cd",
        "setlocal",
    ],
)
def test_builtins_that_clear_errorlevel_on_success(host: LabHost, ok_command: str) -> None:
    result = session(
        host, "(call)", ok_command + " >nul", "echo [%ERRORLEVEL%]", "exit", start="cmd /q"
    )
    assert text(result).endswith("[0]\r\n")


@pytest.mark.parametrize(
    "quiet_command", ["echo x", "rem x", "title x", "cls", "endlocal", "set X=1"]
)
def test_builtins_that_keep_errorlevel(host: LabHost, quiet_command: str) -> None:
    result = session(
        host, "(call)", quiet_command + " >nul", "echo [%ERRORLEVEL%]", "exit", start="cmd /q"
    )
    assert text(result).endswith("[1]\r\n")


def test_type_and_dir_set_one_on_failure(host: LabHost) -> None:
    for failing in ("type C:\\no\\such.txt", "dir C:\\no\\such.txt"):
        result = session(host, "(call )", failing, "echo [%ERRORLEVEL%]", "exit", start="cmd /q")
        assert text(result).endswith("[1]\r\n"), failing


# ---------------------------------------------------------------- 4. code pages


def test_chcp_shows_and_sets_the_code_page(host: LabHost) -> None:
    result = session(host, "chcp", "chcp 65001", "chcp 1252", "chcp 850", "exit", start="cmd /q")
    assert text(result).endswith(
        "Active code page: 437\r\nActive code page: 65001\r\n"
        "Active code page: 1252\r\nActive code page: 850\r\n"
    )


def test_chcp_refuses_other_code_pages(host: LabHost) -> None:
    result = session(host, "chcp 932", "echo [%ERRORLEVEL%]", "chcp", "exit", start="cmd /q")
    assert b"Invalid code page\r\n" in result.stderr
    assert text(result).endswith("[1]\r\nActive code page: 437\r\n")


def test_utf8_before_chcp_reads_as_oem_mojibake(host: LabHost) -> None:
    name = "josé.müller@example.com"
    result = session(
        host, f"msbox -get {name}", "chcp 65001 >nul", f"msbox -get {name}", "exit", start="cmd /q"
    )
    # first read in 437: the UTF-8 bytes name another (missing) mailbox
    assert result.stdout.count(b"Mailbox not found") == 1
    assert result.stdout.count(b"FullName=Jos") == 1
    assert b"FullName=Jos\xc3\xa9" in result.stdout  # output after chcp is UTF-8


def test_each_line_is_encoded_in_the_code_page_in_force(host: LabHost) -> None:
    script = (
        "echo é\r\nchcp 65001 >nul\r\n".encode("cp437")
        + "echo é\r\n".encode()
        + b"chcp 1252 >nul\r\n"
        + "echo é 日本\r\n".encode("cp1252", errors="replace")
    )
    result = host.execute("cmd /q", script)
    # 437 reads 0x82 as é and prints it as 0x82; 65001 and 1252 likewise in their own bytes
    assert result.stdout.endswith(b"\r\n\r\n\x82\r\n\xc3\xa9\r\n\xe9 ??\r\n")


def test_unencodable_output_becomes_question_marks(host: LabHost) -> None:
    result = host.execute("cmd /c echo 日本", codepage=437)
    assert result.stdout == b"??\r\n"
    assert host.execute("cmd /c echo 日本", codepage=65001).stdout == "日本\r\n".encode()


def test_console_exec_is_utf8(host: LabHost) -> None:
    assert (
        host.console("msbox -get josé.müller@example.com").stdout.count("FullName=José".encode())
        == 1
    )


# ---------------------------------------------------------------- 5. Ctrl-Z


def test_ctrl_z_ends_a_stdin_line(host: LabHost) -> None:
    result = session(host, "echo a\x1aecho b", "exit", start="cmd /q")
    assert text(result).endswith("a\r\nb\r\n")


def test_ctrl_z_in_an_argument_starts_a_second_command(host: LabHost) -> None:
    result = session(host, "msbox -get x\x1awhoami", "exit", start="cmd /q")
    assert text(result).endswith("mail001\\labadmin\r\n")


# ---------------------------------------------------------------- 6. open blocks


def test_an_open_block_swallows_the_following_lines(host: LabHost) -> None:
    result = session(
        host,
        "(call)",
        "(echo x",
        "echo m:%ERRORLEVEL%",
        "echo y)",
        "echo after",
        "exit",
        start="cmd /q",
    )
    # the marker line joined the block; its %ERRORLEVEL% was expanded when read
    assert text(result).endswith("x\r\nm:1\r\ny\r\nafter\r\n")


def test_an_open_if_block_continues_and_else_can_follow(host: LabHost) -> None:
    result = session(
        host, "if 1==2 (", "echo no", ") else (", "echo yes", ")", "exit", start="cmd /q"
    )
    assert text(result).endswith("yes\r\n")


def test_an_open_block_at_end_of_input_runs_nothing(host: LabHost) -> None:
    result = session(host, "(echo x", "echo y", start="cmd /q")
    assert b"x" not in result.stdout and b"y" not in result.stdout


def test_a_trailing_caret_joins_the_next_line(host: LabHost) -> None:
    result = session(host, "echo a^", "b", "exit", start="cmd /q")
    assert text(result).endswith("ab\r\n")


def test_slash_c_line_with_an_open_block_still_runs(host: LabHost) -> None:
    assert text(host.execute("cmd /c (echo x")) == "x\r\n"


# ---------------------------------------------------------------- the client's script


def test_the_client_batch_script_reads_back_clean(host: LabHost) -> None:
    token = "rmbtok"
    lines = ["@echo off", "chcp 65001 >nul", f"echo {token}:go", f"echo {token}:go 1>&2"]
    commands = [
        '"msbox" -get josé.müller@example.com',
        "echo hi",
        "type C:\\nope",
        'dir /b "C:\\Windows\\System32"',
    ]
    for i, command in enumerate(commands):
        lines += ["(call )", command, f"echo {token}:{i}:%ERRORLEVEL%", f"echo {token}:{i} 1>&2"]
    lines.append("exit")
    result = session(host, *lines)
    out = text(result)
    assert "FullName=José" in out
    assert [f"{token}:{i}:{rc}" in out for i, rc in enumerate([0, 0, 1, 0])] == [True] * 4


def test_500_command_session_stays_fast(host: LabHost) -> None:
    lines = ["@echo off", "chcp 65001 >nul"]
    for i in range(500):
        lines += [
            "(call )",
            '"msbox" -get sales@example.com',
            f"echo T:{i}:%ERRORLEVEL%",
            f"echo T:{i} 1>&2",
        ]
    script = ("\r\n".join(lines) + "\r\nexit\r\n").encode()
    host.execute(SESSION, script)  # warm up
    start = time.perf_counter()
    result = host.execute(SESSION, script)
    elapsed = time.perf_counter() - start
    assert result.stdout.count(b"FullName=Sales") == 500
    assert b"T:499:0" in result.stdout
    assert elapsed < 0.5  # ~0.1 s measured


def test_line_limit_counts_utf16_units(host: LabHost) -> None:
    fits = "echo " + "é" * 8186  # 8191 units, 8191 characters
    assert host.execute(fits, codepage=65001).rc == 0
    emoji = "echo " + "\U0001f600" * 4094  # 4099 characters, but 8193 WCHARs
    refused = host.execute(emoji, codepage=65001)
    assert refused.stderr == b"The command line is too long.\r\n"
    assert refused.stdout == b""


def test_slash_k_runs_its_command_then_reads_stdin(host: LabHost) -> None:
    result = host.execute("cmd /q /k echo first", b"echo second\r\nexit /b 4\r\n")
    assert result.stdout.startswith(b"first\r\n")
    assert result.stdout.endswith(b"second\r\n")
    assert result.rc == 4
