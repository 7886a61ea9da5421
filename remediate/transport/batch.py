"""The pipelined batch protocol: many commands in one shell session fed through stdin.

cmd dialect: the session is `cmd /q /d /v:off /e:on` (no AutoRun; delayed expansion off and
extensions on whatever the registry says, so quoting and %ERRORLEVEL% mean what we expect),
echo off so no prompt or echoed line, UTF-8 code page so names travel intact:

    @echo off
    chcp 65001 >nul
    echo TOKEN:go          echo TOKEN:go 1>&2
    (call )                resets ERRORLEVEL to 0: built-ins like echo never set it
    <command 0>
    echo TOKEN:0:%ERRORLEVEL%
    echo TOKEN:0 1>&2
    ...
    exit

A command may not leave a parenthesis open: cmd would read the following lines (our
markers) into its block.

sh dialect (the session is `sh -s`): every command runs as `sh -c '<command>' </dev/null`
so a syntax error, an `exit` or a read of stdin stays inside that command, and each marker
is printed after a newline of its own that the parser removes again.

The token is random per batch, so no command output can forge a marker. A command's
stdout is the text between the previous stdout marker and its own, its stderr the text
between the stderr markers. Anything before the `go` markers (banner, prompt) is ignored.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence

import attrs

from remediate.errors import UnsafeArgument
from remediate.transport.base import CommandResult
from remediate.transport.quoting import check_cmd_length, check_line_safe, quote_posix

# One round trip carries at most this much stdin; a larger batch is split.
MAX_SCRIPT_BYTES = 1024 * 1024

SESSION_COMMAND = {"cmd": "cmd /q /d /v:off /e:on", "sh": "sh -s"}


@attrs.frozen
class BatchScript:
    """The stdin of one batch session and what its parser needs."""

    dialect: str
    token: str
    count: int
    stdin: bytes


@attrs.frozen
class ParsedBatch:
    """The results read back, in order; `complete` when every command reported."""

    results: list[CommandResult]
    count: int

    @property
    def complete(self) -> bool:
        return len(self.results) == self.count


def check_command(dialect: str, command: str) -> None:
    """Refuse a command that cannot travel as one line of a batch."""
    check_line_safe(command)
    if dialect == "cmd":
        check_cmd_length(command)
        carets = len(command) - len(command.rstrip("^"))
        if carets % 2:
            raise UnsafeArgument(
                "command ends with a caret, which would join it to the next line of the batch"
            )
        if open_parentheses(command) > 0:
            raise UnsafeArgument(
                "command leaves a parenthesis open, which would join the next "
                "lines of the batch to it"
            )


def open_parentheses(command: str) -> int:
    """Unquoted, unescaped `(` minus `)` as cmd counts them for a block."""
    depth, quoted, escaped = 0, False, False
    for char in command:
        if escaped:
            escaped = False
        elif char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "^":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
    return depth


def new_token() -> str:
    return "rmb" + secrets.token_hex(12)


def build_script(dialect: str, commands: Sequence[str], token: str | None = None) -> BatchScript:
    """The stdin that runs `commands` in one session of `dialect`."""
    if dialect not in SESSION_COMMAND:
        raise UnsafeArgument(f"no batch protocol for the {dialect!r} dialect (use cmd or sh)")
    token = token or new_token()
    for command in commands:
        check_command(dialect, command)
    lines = _cmd_lines(commands, token) if dialect == "cmd" else _sh_lines(commands, token)
    newline = "\r\n" if dialect == "cmd" else "\n"
    text = newline.join(lines) + newline
    return BatchScript(dialect, token, len(commands), text.encode("utf-8"))


def _cmd_lines(commands: Sequence[str], token: str) -> list[str]:
    lines = ["@echo off", "chcp 65001 >nul", f"echo {token}:go", f"echo {token}:go 1>&2"]
    for index, command in enumerate(commands):
        lines += [
            "(call )",
            command,
            f"echo {token}:{index}:%ERRORLEVEL%",
            f"echo {token}:{index} 1>&2",
        ]
    lines.append("exit")
    return lines


def _sh_lines(commands: Sequence[str], token: str) -> list[str]:
    lines = [f"printf '\\n%s\\n' {token}:go; printf '\\n%s\\n' {token}:go >&2"]
    for index, command in enumerate(commands):
        lines.append(f"sh -c {quote_posix(command)} </dev/null")
        lines.append(
            f"printf '\\n%s:%d:%d\\n' {token} {index} $?; printf '\\n%s:%d\\n' {token} {index} >&2"
        )
    lines.append("exit 0")
    return lines


def split_commands(
    dialect: str, commands: Sequence[str], max_bytes: int = MAX_SCRIPT_BYTES
) -> Iterator[list[str]]:
    """Cut `commands` into runs whose scripts stay under `max_bytes` (never an empty run)."""
    chunk: list[str] = []
    size = 0
    for command in commands:
        check_command(dialect, command)
        cost = len(command.encode("utf-8")) + 80  # the command plus its markers
        if chunk and size + cost > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(command)
        size += cost
    if chunk:
        yield chunk


def parse_output(script: BatchScript, stdout: bytes, stderr: bytes) -> ParsedBatch:
    """Results of the commands whose stdout marker arrived, in order (stops at a gap)."""
    out_text = stdout.decode("utf-8", errors="replace")
    err_text = stderr.decode("utf-8", errors="replace")
    lead = "\n" if script.dialect == "sh" else ""
    out_pieces = _pieces(out_text, script.token, lead, with_rc=True)
    err_pieces = _pieces(err_text, script.token, lead, with_rc=False)
    results: list[CommandResult] = []
    for index in range(script.count):
        found = out_pieces.get(index)
        if found is None:
            break
        text, rc = found
        err = err_pieces.get(index, ("", 0))[0]
        results.append(CommandResult(rc=rc, stdout=_normalise(text), stderr=_normalise(err)))
    return ParsedBatch(results, script.count)


def _pieces(text: str, token: str, lead: str, with_rc: bool) -> dict[int, tuple[str, int]]:
    """Map command index -> (its text, its rc) from the markers in one stream."""
    tail = r":(?P<index>\d+):(?P<rc>-?\d+)" if with_rc else r":(?P<index>\d+)"
    # `(?<!echo )`: if a command turned echo on, cmd echoes our marker commands too.
    prefix = re.escape(lead) if lead else "(?<!echo )"
    marker = re.compile(rf"{prefix}{token}(?::go|{tail})[ \t]*\r?\n")
    pieces: dict[int, tuple[str, int]] = {}
    start: int | None = None
    for match in marker.finditer(text):
        if match.group("index") is None:
            start = match.end()
            continue
        if start is None:
            continue
        rc = int(match.group("rc")) if with_rc else 0
        pieces[int(match.group("index"))] = (text[start : match.start()], rc)
        start = match.end()
    return pieces


def _normalise(text: str) -> str:
    """Windows line ends become `\n`, so parsers see the same text from every transport."""
    return text.replace("\r\n", "\n")
