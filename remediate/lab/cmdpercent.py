"""cmd.exe phase 1 (%VAR%) and phase 5 (!VAR!) expansion, with command-line rules (not batch)."""

from __future__ import annotations

from collections.abc import Callable


def expand_percent(line: str, lookup: Callable[[str], str | None], extensions: bool = True) -> str:
    """Command-line percent expansion (cmd /c and interactive rules, no `%%` escape).

    From each `%` the name runs to the next `%` or `:`. A defined `%NAME%` (or
    `%NAME:~a,b%`, `%NAME:old=new%`) is replaced; an undefined one is kept as typed and
    scanning resumes at its closing `%` (or just after the `:`), so that `%` may open
    the next name.
    """
    if "%" not in line:
        return line
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c != "%":
            j = line.find("%", i)
            j = n if j < 0 else j
            out.append(line[i:j])
            i = j
            continue
        end = _name_end(line, i + 1)
        if end >= n or end == i + 1:
            out.append(c)
            i += 1
            continue
        if line[end] == "%":
            value = lookup(line[i + 1 : end])
            if value is None:
                out.append(line[i:end])
                i = end
            else:
                out.append(value)
                i = end + 1
            continue
        # `%NAME:modifier%`
        value = lookup(line[i + 1 : end])
        close = line.find("%", end + 1)
        modified = (
            None
            if value is None or close < 0 or not extensions
            else _modify(value, line[end + 1 : close])
        )
        if modified is None:
            out.append(line[i : end + 1])
            i = end + 1
        else:
            out.append(modified)
            i = close + 1
    return "".join(out)


def _name_end(line: str, start: int) -> int:
    """Where a variable name starting at `start` ends: its `%`, or a `:` not followed by `%`."""
    j = start
    n = len(line)
    while j < n:
        if line[j] == "%":
            return j
        if line[j] == ":" and j > start:
            if j + 1 < n and line[j + 1] == "%":
                return j + 1
            return j
        j += 1
    return n


def _modify(value: str, mod: str) -> str | None:
    if mod.startswith("~"):
        return _substring(value, mod[1:])
    old, eq, new = mod.partition("=")
    if not eq or not old:
        return None
    return _replace_ci(value, old, new)


def _substring(value: str, spec: str) -> str | None:
    start_s, _, len_s = spec.partition(",")
    try:
        start = int(start_s or "0")
        length = int(len_s) if len_s else None
    except ValueError:
        return None
    if start < 0:
        start = max(len(value) + start, 0)
    part = value[start:]
    if length is None:
        return part
    return part[:length] if length >= 0 else part[: length or None]


def _replace_ci(value: str, old: str, new: str) -> str:
    if old.startswith("*"):
        idx = value.lower().find(old[1:].lower())
        return value if idx < 0 else new + value[idx + len(old) - 1 :]
    out, low, lold, i = [], value.lower(), old.lower(), 0
    while True:
        j = low.find(lold, i)
        if j < 0:
            out.append(value[i:])
            return "".join(out)
        out.append(value[i:j] + new)
        i = j + len(old)


def expand_delayed(text: str, lookup: Callable[[str], str | None], extensions: bool = True) -> str:
    """Phase 5, delayed expansion (`cmd /v:on`), of one command after phase 2.

    Only text holding a `!` is touched. Then every `^` escapes the next character (so a
    `!` survives only as `^^!` typed, or `^!` inside quotes) and `!NAME!` (also with
    `:~a,b` or `:old=new`) is replaced by its value. As for `%NAME%` on a command line, an
    undefined name is kept as typed and scanning resumes at its closing `!`; a lone `!`
    with no closing one is dropped.
    """
    if "!" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "^":
            out.append(text[i + 1 : i + 2])
            i += 2
            continue
        if c != "!":
            out.append(c)
            i += 1
            continue
        close = text.find("!", i + 1)
        if close < 0:
            i += 1
            continue
        value = _delayed_value(text[i + 1 : close], lookup, extensions)
        if value is None:
            out.append(text[i:close])
            i = close
        else:
            out.append(value)
            i = close + 1
    return "".join(out)


def _delayed_value(spec: str, lookup: Callable[[str], str | None], extensions: bool) -> str | None:
    if not spec:
        return None
    name, colon, mod = spec.partition(":")
    if not colon or not name:
        return lookup(spec)
    value = lookup(name)
    return None if value is None or not extensions else _modify(value, mod)
