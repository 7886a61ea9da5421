"""FOR and FOR /F: the items a loop walks and the variable bindings of each iteration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from remediate.lab.cmdbuiltins import words
from remediate.lab.cmdparse import For

if TYPE_CHECKING:
    from remediate.lab.cmdexec import ForVars, Interpreter

_KEYWORDS = ("eol=", "skip=", "delims=", "tokens=", "usebackq")


@attrs.frozen
class ForOptions:
    """The `"eol=; skip=0 delims=... tokens=..."` string of FOR /F."""

    eol: str = ";"
    skip: int = 0
    delims: str = " \t"
    tokens: tuple[int, ...] = (1,)
    rest: bool = False  # a trailing `*` in tokens
    usebackq: bool = False


def parse_options(text: str) -> ForOptions:
    values: dict[str, str] = {}
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        low = text[i:].lower()
        key = next((k for k in _KEYWORDS if low.startswith(k)), None)
        if key is None:
            raise ValueError(text[i:])
        i += len(key)
        j = _value_end(text, i, key)
        values[key] = text[i:j]
        i = j
    tokens, rest = _tokens(values.get("tokens=", "1"))
    return ForOptions(
        eol=values.get("eol=", ";")[:1],
        skip=int(values.get("skip=", "0") or "0"),
        delims=values.get("delims=", " \t"),
        tokens=tokens,
        rest=rest,
        usebackq="usebackq" in values,
    )


def _value_end(text: str, i: int, key: str) -> int:
    if key == "usebackq":
        return i
    if key == "eol=":
        return min(i + 1, len(text))
    j = i
    while j < len(text):
        if text[j] == " " and (key != "delims=" or _keyword_at(text, j + 1)):
            return j
        j += 1
    return j


def _keyword_at(text: str, i: int) -> bool:
    low = text[i:].lower()
    return any(low.startswith(k) for k in _KEYWORDS)


def _tokens(spec: str) -> tuple[tuple[int, ...], bool]:
    rest = spec.endswith("*")
    spec = spec.rstrip("*").rstrip(",")
    numbers: list[int] = []
    for part in (p for p in spec.split(",") if p):
        low, _, high = part.partition("-")
        numbers.extend(range(int(low), int(high or low) + 1))
    return tuple(numbers), rest


def iterate(cmd: Interpreter, node: For, fv: ForVars) -> Iterator[dict[str, str]]:
    """The bindings of each iteration, in order."""
    from remediate.lab.cmdexec import substitute

    items = substitute(node.items, fv)
    if node.switch != "/f":
        for word in _plain_items(items):
            yield {node.var: word}
        return
    try:
        options = parse_options(substitute(node.options, fv))
    except ValueError as exc:
        cmd.err.write(f"{exc} was unexpected at this time.\r\n")
        return
    for line in _source_lines(cmd, items.strip(" \t"), options)[options.skip :]:
        if not line or line[0] == options.eol:
            continue
        bindings = _split_tokens(line, node.var, options)
        if bindings:
            yield bindings


def _plain_items(items: str) -> list[str]:
    out: list[str] = []
    for word in words(items.replace(",", " ").replace(";", " ")):
        out.append(word)
    return out


def _source_lines(cmd: Interpreter, items: str, options: ForOptions) -> list[str]:
    command_quote, string_quote = ("`", "'") if options.usebackq else ("'", '"')
    if len(items) >= 2 and items[0] == command_quote and items[-1] == command_quote:
        text = _run_command(cmd, items[1:-1])
    elif len(items) >= 2 and items[0] == string_quote and items[-1] == string_quote:
        return [items[1:-1]]
    else:
        text = _read_files(cmd, words(items))
    return text.replace("\r\n", "\n").split("\n")


def _run_command(cmd: Interpreter, command: str) -> str:
    """`cmd /c COMMAND` in a child instance; its stdout is what FOR /F reads."""
    from remediate.lab.cmdexec import Interpreter, Sink

    child = Interpreter(cmd.state, cmd.programs, cmd.hook, cmd.count, dict(cmd.env), cmd.console)
    child.err = cmd.err
    child.out = Sink(cmd.console)
    child.errorlevel = cmd.errorlevel
    child.run_slash_c(command)
    return child.out.text()


def _read_files(cmd: Interpreter, names: list[str]) -> str:
    parts = []
    for name in names:
        data = cmd.state.fs.read(cmd.abspath(name))
        if data is not None:
            parts.append(data.decode(cmd.console.codec, errors="replace"))
    return "\n".join(parts)


def _split_tokens(line: str, var: str, options: ForOptions) -> dict[str, str]:
    fields: list[tuple[int, int]] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in options.delims:
            i += 1
        if i >= n:
            break
        j = i
        while j < n and line[j] not in options.delims:
            j += 1
        fields.append((i, j))
        i = j
    bindings: dict[str, str] = {}
    letter = ord(var)
    for number in options.tokens:
        if number <= len(fields):
            start, end = fields[number - 1]
            bindings[chr(letter)] = line[start:end]
        letter += 1
    if options.rest:
        last = max(options.tokens, default=0)
        if last < len(fields):
            bindings[chr(letter)] = line[fields[last][0] :]
    return bindings
