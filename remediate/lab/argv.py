"""How a Windows C program (MSVCRT 2008+, like CommandLineToArgvW) splits its command line."""

from __future__ import annotations

_BLANKS = " \t"


def split_program(command_line: str) -> tuple[str, str]:
    """The argv[0] token (quotes removed, no backslash rules) and the rest of the line."""
    i = 0
    while i < len(command_line) and command_line[i] in _BLANKS:
        i += 1
    name: list[str] = []
    quoted = False
    while i < len(command_line):
        c = command_line[i]
        if c == '"':
            quoted = not quoted
        elif c in _BLANKS and not quoted:
            break
        else:
            name.append(c)
        i += 1
    return "".join(name), command_line[i:]


def split_args(text: str) -> list[str]:
    """Arguments after argv[0], by Microsoft's documented rules.

    Blanks separate arguments outside quotes; `"` toggles quoting; 2n backslashes before
    `"` give n backslashes and a delimiter, 2n+1 give n backslashes and a literal `"`;
    other backslashes are literal; inside quotes `""` is a literal `"` (quoting goes on),
    which is the table's `a"b"" c d` -> `ab" c d`.
    """
    args: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            return args
        arg, i = _one_arg(text, i)
        args.append(arg)


def _one_arg(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    quoted = False
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                out.append("\\" * (count // 2))
                if count % 2:
                    out.append('"')
                    i = j + 1
                else:
                    i = j
                continue
            out.append("\\" * count)
            i = j
            continue
        if c == '"':
            if quoted and i + 1 < n and text[i + 1] == '"':
                out.append('"')
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        if c in _BLANKS and not quoted:
            break
        out.append(c)
        i += 1
    return "".join(out), i


def argv(command_line: str) -> list[str]:
    """The whole argv of a program started with `command_line`."""
    program, rest = split_program(command_line)
    return [program, *split_args(rest)]
