"""How cmd.exe finds the command word of a simple command, and what `cmd /c` does to quotes."""

from __future__ import annotations

from collections.abc import Callable

_BLANK = " \t"
_CMD_DELIMS = " \t,;="


def split_command_name(text: str) -> tuple[str, str, bool]:
    """The command word, the rest of the text, and whether the word was quoted.

    Internal commands end at cmd's delimiters and also at `.`, `(`, `/`, `:`, `+`, `\\`,
    `[`, `]` (so `echo.`, `echo(`, `cd..`, `dir/b` work); programs end at a blank.
    """
    stripped = text.lstrip(_CMD_DELIMS)
    if stripped.startswith('"'):
        end = stripped.find('"', 1)
        if end < 0:
            return stripped[1:], "", True
        j = end + 1
        while j < len(stripped) and stripped[j] not in _BLANK:
            j += 1
        return stripped[:j].replace('"', ""), stripped[j:], True
    j = 0
    while j < len(stripped) and stripped[j] not in _CMD_DELIMS and stripped[j] not in ".(/:+\\[]":
        j += 1
    return stripped[:j], stripped[j:], False


def program_token(text: str) -> tuple[str, str]:
    """An external program's token (quotes removed) up to a blank, and the rest."""
    stripped = text.lstrip(_CMD_DELIMS)
    out: list[str] = []
    quoted = False
    j = 0
    while j < len(stripped):
        c = stripped[j]
        if c == '"':
            quoted = not quoted
        elif c in _BLANK and not quoted:
            break
        else:
            out.append(c)
        j += 1
    return "".join(out), stripped[j:]


def strip_slash_c(text: str, is_executable: Callable[[str], bool], slash_s: bool = False) -> str:
    """What `cmd /c TEXT` keeps: its documented rule for a leading quote (`cmd /?`).

    Quotes are kept only without /S, if there are exactly two, nothing special between
    them, a blank between them and they name an executable; otherwise a leading `"` and
    the last `"` go.
    """
    body = text.lstrip(" \t")
    if not body.startswith('"'):
        return text
    if not slash_s and body.count('"') == 2:
        inner = body[1 : body.index('"', 1)]
        if (
            not any(c in inner for c in "&<>()@^|")
            and any(c in inner for c in _BLANK)
            and is_executable(inner)
        ):
            return body
    last = body.rfind('"')
    return body[1:last] + body[last + 1 :]
