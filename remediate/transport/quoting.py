"""Turn an argv into one command line for cmd.exe + MSVCRT or for POSIX sh, or refuse it.

cmd dialect, the line as cmd reads it from its stdin (how every Connection sends it):

- argv[0], the program path, goes in real double quotes (so `Program Files (x86)` works);
  it may not hold `"`, `%`, `!`, a trailing backslash or a control character.
- every later argument is first quoted for the program's C runtime (CommandLineToArgvW
  rules: `\\"` for a quote, backslashes doubled only before a quote), then every cmd
  metacharacter, including each `"`, is caret-escaped, so cmd never enters a quoted
  run and no `& | < > ( )` can end the command.
- `%` cannot be caret-escaped (percent expansion runs before carets are read), so every
  `%` is followed by a caret: each name cmd tries to expand then starts with `^` and is
  undefined, and cmd keeps it as typed. `!` is literal: every session runs with delayed
  expansion forced off (`cmd /v:off`), whatever the registry says.

Control characters (C0 but TAB, and DEL) are refused, not escaped: NUL, CR and LF end or
corrupt a line, and cmd reading a pipe takes Ctrl-Z (0x1A) for a line end, which would
start a second command. So is a line longer than cmd's 8191 UTF-16 code units.
"""

from __future__ import annotations

from collections.abc import Sequence

from remediate.errors import UnsafeArgument

CMD_MAX_LINE = 8191
DIALECTS = ("cmd", "powershell", "sh")

_NAMES = {"\x00": "NUL", "\r": "CR", "\n": "LF", "\x1a": "Ctrl-Z (0x1A)", "\x7f": "DEL"}
_CMD_META = frozenset('^"&|<>()!%')
_MSVCRT_NEEDS_QUOTES = frozenset(' \t"')
_PROGRAM_REFUSED = frozenset('"%!')
_POSIX_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def quote_argv(dialect: str, argv: Sequence[str]) -> str:
    """One command line running `argv` in `dialect`; raises UnsafeArgument if it cannot."""
    if isinstance(argv, str):
        raise TypeError("argv must be a sequence of strings, not one string")
    if not argv:
        raise UnsafeArgument("an empty argv has no program to run")
    for position, arg in enumerate(argv):
        check_line_safe(arg, what=f"argv[{position}]")
    if dialect == "cmd":
        return quote_cmd(argv)
    if dialect == "sh":
        return " ".join(quote_posix(arg) for arg in argv)
    raise UnsafeArgument(f"no quoting rules for the {dialect!r} dialect (use cmd or sh)")


def check_line_safe(text: str, what: str = "command") -> None:
    """Refuse text holding a control character (TAB aside): it could end the line or start
    another command (NUL, CR, LF, Ctrl-Z), or reach the program other than as typed."""
    for index, char in enumerate(text):
        if (ord(char) < 0x20 and char != "\t") or char == "\x7f":
            name = _NAMES.get(char, f"control character U+{ord(char):04X}")
            raise UnsafeArgument(
                f"{what} contains {name} at offset {index}, which no command line can carry"
            )


def quote_cmd(argv: Sequence[str]) -> str:
    """cmd.exe + MSVCRT line for argv (already checked for NUL/CR/LF)."""
    line = _quote_program(argv[0])
    if len(argv) > 1:
        # Escaped as one string: a `%` ending one argument must escape the blank after it.
        line += " " + _cmd_escape(" ".join(msvcrt_quote(arg) for arg in argv[1:]))
    check_cmd_length(line)
    return line


def check_cmd_length(line: str) -> None:
    """Refuse a line cmd.exe would cut: it reads at most 8191 UTF-16 code units (a character
    outside the BMP, an emoji say, takes two)."""
    units = len(line.encode("utf-16-le")) // 2
    if units > CMD_MAX_LINE:
        raise UnsafeArgument(
            f"command line is {units} UTF-16 code units; cmd.exe accepts at most {CMD_MAX_LINE}"
        )


def _quote_program(program: str) -> str:
    bad = sorted(set(program) & _PROGRAM_REFUSED)
    if bad:
        raise UnsafeArgument(
            f"program path {program!r} contains {' '.join(bad)}, which cmd cannot take in a path"
        )
    if not program or program.endswith("\\"):
        raise UnsafeArgument(f"program path {program!r} is empty or ends with a backslash")
    return f'"{program}"'


def msvcrt_quote(arg: str) -> str:
    """Quote one argument for CommandLineToArgvW / the MSVC runtime (never emits `""`)."""
    if arg and not (_MSVCRT_NEEDS_QUOTES & set(arg)):
        return arg
    out = ['"']
    backslashes = 0
    for char in arg:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + char)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)


def _cmd_escape(text: str) -> str:
    """Caret-escape text so cmd passes it through unchanged, outside any quoted run."""
    out: list[str] = []
    after_percent = False
    for char in text:
        if after_percent or char in _CMD_META and char != "%":
            out.append("^" + char)
        else:
            out.append(char)
        after_percent = char == "%"
    return "".join(out)


def quote_posix(arg: str) -> str:
    """Single-quote one word for POSIX sh (NUL, CR and LF already refused)."""
    if arg and not (set(arg) - _POSIX_SAFE):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"
