"""cmd.exe phase 2: carets, quotes, operators, blocks, redirections, FOR and IF into a tree."""

from __future__ import annotations

import re

import attrs

MAX_LINE = 8191  # in UTF-16 code units (WCHARs): a character beyond U+FFFF counts twice


def utf16_units(text: str) -> int:
    """The length of text as cmd's WCHAR buffer counts it."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


class CmdSyntaxError(Exception):
    """A line cmd refuses before running any of it (`X was unexpected at this time.`)."""


class NeedMore(Exception):
    """The line ends inside an open `(` block: cmd reads the next line into it (`More?`)."""


@attrs.frozen
class Redirect:
    """`N>target`, `N>>target`, `N<target` or `N>&M` (target is then the handle digit)."""

    handle: int
    op: str  # ">" | ">>" | "<" | ">&"
    target: str


@attrs.frozen
class Simple:
    """One simple command: its text with carets consumed and quotes kept, its redirections."""

    text: str
    redirects: tuple[Redirect, ...] = ()
    at: bool = False


@attrs.frozen
class Block:
    body: Node | None
    redirects: tuple[Redirect, ...] = ()


@attrs.frozen
class Chain:
    """`left OP right` with OP one of & && || |."""

    op: str
    left: Node
    right: Node


@attrs.frozen
class For:
    switch: str  # "" | "/f"
    options: str  # text inside the options quotes
    var: str
    items: str  # text inside IN ( ... ), carets consumed
    body: Node


@attrs.frozen
class If:
    negate: bool
    kind: str  # "errorlevel" | "exist" | "defined" | "=="
    args: tuple[str, ...]
    body: Node
    else_body: Node | None = None
    ignore_case: bool = False


@attrs.frozen
class Rem:
    text: str


Node = Simple | Block | Chain | For | If | Rem


# ---------------------------------------------------------------- phase 2

_BLANK = " \t"
_CMD_DELIMS = " \t,;="
COMPARE_OPS = ("equ", "neq", "lss", "leq", "gtr", "geq")
_PLAIN = re.compile(r'[^"^&|<>)\n]+')


def _take_handle(text: list[str], default: int) -> int:
    """A single digit just before `>` (after a blank or at the start) names the handle."""
    joined = "".join(text)
    if joined and joined[-1].isdigit() and (len(joined) == 1 or joined[-2] in _BLANK):
        text[:] = [joined[:-1]]
        return int(joined[-1])
    return default


class Parser:
    """Recursive descent over one line, the way cmd's phase 2 reads it."""

    def __init__(self, line: str, continued: bool = False) -> None:
        # Lines read from stdin may be joined (an open block continues on the next line):
        # inside a block a newline separates commands like `&`; elsewhere it ends the line.
        self.s = line if continued else line.split("\n", 1)[0]
        self.s = self.s.replace("\r", "")
        self.continued = continued
        self.i = 0
        self.depth = 0

    def parse(self) -> Node | None:
        node = self.sequence()
        if self.i < len(self.s):
            raise CmdSyntaxError(f"{self.s[self.i]} was unexpected at this time.")
        return node

    # -- helpers
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def skip_blanks(self) -> None:
        while self.peek() and self.peek() in _BLANK:
            self.i += 1

    def at_end(self) -> bool:
        self.skip_blanks()
        return self.i >= len(self.s) or (self.depth > 0 and self.peek() == ")")

    # -- grammar
    def skip_newlines(self) -> None:
        """Inside a block, blank lines and line ends between commands are skipped."""
        while self.depth > 0 and self.peek() and self.peek() in _BLANK + "\n":
            self.i += 1

    def sequence(self) -> Node | None:
        self.skip_newlines()
        if self.at_end():
            return None
        left = self.and_or()
        while (self.peek() == "&" and self.peek(1) != "&") or (
            self.peek() == "\n" and self.depth > 0
        ):
            self.i += 1
            self.skip_newlines()
            if self.at_end():
                break
            left = Chain("&", left, self.and_or())
        return left

    def and_or(self) -> Node:
        left = self.pipe()
        while (self.peek(), self.peek(1)) in (("&", "&"), ("|", "|")):
            op = self.s[self.i : self.i + 2]
            self.i += 2
            if self.at_end():
                raise CmdSyntaxError(f"{op[0]} was unexpected at this time.")
            left = Chain(op, left, self.pipe())
        return left

    def pipe(self) -> Node:
        left = self.command()
        while self.peek() == "|" and self.peek(1) != "|":
            self.i += 1
            if self.at_end():
                raise CmdSyntaxError("| was unexpected at this time.")
            left = Chain("|", left, self.command())
        return left

    def command(self) -> Node:
        at = False
        while True:
            self.skip_blanks()
            if self.peek() == "@":
                at = True
                self.i += 1
                continue
            break
        c = self.peek()
        if c in ("&", "|") or c == "" or (c == ")" and self.depth > 0):
            raise CmdSyntaxError(f"{c or 'newline'} was unexpected at this time.")
        if c == "(":
            return self.block()
        word = self._keyword()
        if word == "for":
            return self.for_command()
        if word == "if":
            return self.if_command()
        if word == "rem":
            end = self.s.find("\n", self.i)
            end = len(self.s) if end < 0 else end
            rest = self.s[self.i : end]
            self.i = end
            return Rem(rest)
        return self.simple(at)

    def _keyword(self) -> str:
        j = self.i
        while j < len(self.s) and self.s[j].isalpha():
            j += 1
        word = self.s[self.i : j].lower()
        nxt = self.s[j] if j < len(self.s) else ""
        if word in ("for", "if") and nxt in _BLANK:
            self.i = j
            return word
        if word == "rem" and (nxt == "" or nxt in _BLANK + "/"):
            self.i = j
            return word
        return ""

    def block(self) -> Block:
        self.i += 1
        self.depth += 1
        body = self.sequence()
        self.skip_newlines()
        self.skip_blanks()
        if self.peek() == ")":
            self.i += 1
        elif self.continued and self.i >= len(self.s):
            raise NeedMore()
        self.depth -= 1
        redirects = self._trailing_redirects()
        return Block(body, tuple(redirects))

    def _trailing_redirects(self) -> list[Redirect]:
        found: list[Redirect] = []
        while True:
            self.skip_blanks()
            c = self.peek()
            if c in "<>" and c:
                found.append(self.redirect(1 if c == ">" else 0))
            elif c.isdigit() and self.peek(1) in "<>" and self.peek(1):
                self.i += 1
                found.append(self.redirect(int(c)))
            else:
                return found

    def simple(self, at: bool) -> Simple:
        text: list[str] = []
        redirects: list[Redirect] = []
        s, n = self.s, len(self.s)
        while self.i < n:
            plain = _PLAIN.match(s, self.i)
            if plain:
                text.append(plain.group())
                self.i = plain.end()
                continue
            c = s[self.i]
            if c == '"':
                end = s.find('"', self.i + 1)
                line_end = s.find("\n", self.i + 1)
                if line_end >= 0 and (end < 0 or end > line_end):
                    end = line_end - 1  # a quoted run ends with its line
                end = n - 1 if end < 0 else end
                text.append(s[self.i : end + 1])
                self.i = end + 1
            elif c == "\n":
                break
            elif c == "^":
                text.append(s[self.i + 1 : self.i + 2])
                self.i += 2
            elif c in "&|" or (c == ")" and self.depth > 0):
                break
            elif c in "<>":
                redirects.append(self.redirect(_take_handle(text, 1 if c == ">" else 0)))
            else:
                text.append(c)
                self.i += 1
        return Simple("".join(text), tuple(redirects), at)

    def redirect(self, handle: int) -> Redirect:
        c = self.s[self.i]
        op = c
        self.i += 1
        if c == ">" and self.peek() == ">":
            op = ">>"
            self.i += 1
        if c == ">" and self.peek() == "&" and self.peek(1).isdigit():
            self.i += 2
            return Redirect(handle, ">&", self.s[self.i - 1])
        self.skip_blanks()
        target = self.word()
        if not target:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        return Redirect(handle, op, target)

    def word(self, stop: str = "") -> str:
        """One blank-delimited token: quotes group (kept), carets escape, operators end it."""
        out: list[str] = []
        quoted = False
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\n":
                break
            if quoted:
                out.append(c)
                quoted = c != '"'
            elif c == '"':
                out.append(c)
                quoted = True
            elif c == "^":
                self.i += 1
                if self.i < len(self.s):
                    out.append(self.s[self.i])
            elif c in _BLANK or c in "&|<>" or c in stop or (c == ")" and self.depth > 0):
                break
            else:
                out.append(c)
            self.i += 1
        return "".join(out)

    # -- FOR
    def for_command(self) -> For:
        self.skip_blanks()
        switch, options = "", ""
        if self.peek() == "/":
            switch = self.word().lower()
            self.skip_blanks()
            if switch == "/f" and self.peek() == '"':
                options = self.word()[1:-1]
                self.skip_blanks()
        var = self.word()
        if len(var) != 2 or var[0] != "%":
            raise CmdSyntaxError(f"{var} was unexpected at this time.")
        self.skip_blanks()
        if self.word().lower() != "in":
            raise CmdSyntaxError(f"{var} was unexpected at this time.")
        self.skip_blanks()
        if self.peek() != "(":
            raise CmdSyntaxError(f"{var} was unexpected at this time.")
        items = self._paren_text()
        self.skip_blanks()
        if self.word().lower() != "do":
            raise CmdSyntaxError(f"{var} was unexpected at this time.")
        body = self.sequence()
        if body is None:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        return For(switch, options, var[1], items, body)

    def _paren_text(self) -> str:
        self.i += 1
        out: list[str] = []
        quoted = False
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if quoted:
                out.append(c)
                quoted = c != '"'
            elif c == '"':
                out.append(c)
                quoted = True
            elif c == "^":
                if self.i < len(self.s):
                    out.append(self.s[self.i])
                    self.i += 1
            elif c == ")":
                return "".join(out)
            elif c in "&|<>":
                raise CmdSyntaxError(f"{c} was unexpected at this time.")
            else:
                out.append(c)
        raise CmdSyntaxError("The syntax of the command is incorrect.")

    # -- IF
    def if_command(self) -> If:
        self.skip_blanks()
        ignore_case = negate = False
        token = self.word("=")
        if token.lower() == "/i":
            ignore_case = True
            self.skip_blanks()
            token = self.word("=")
        if token.lower() == "not":
            negate = True
            self.skip_blanks()
            token = self.word("=")
        kind, args = self._condition(token)
        return self._if_body(negate, kind, args, ignore_case)

    def _condition(self, token: str) -> tuple[str, tuple[str, ...]]:
        low = token.lower()
        if low in ("errorlevel", "exist", "defined"):
            self.skip_blanks()
            return low, (self.word(),)
        self.skip_blanks()
        if self.s.startswith("==", self.i):
            self.i += 2
            self.skip_blanks()
            return "==", (token, self.word())
        start = self.i
        op = self.word().lower()
        if op in COMPARE_OPS:
            self.skip_blanks()
            return op, (token, self.word())
        self.i = start
        raise CmdSyntaxError(f"{self.word() or 'newline'} was unexpected at this time.")

    def _if_body(self, negate: bool, kind: str, args: tuple[str, ...], ic: bool) -> If:
        self.skip_blanks()
        if self.peek() == "(":
            body: Node = self.block()
            self.skip_blanks()
            if self.s[self.i : self.i + 4].lower() == "else" and self.peek(4) in _BLANK + "(":
                self.i += 4
                self.skip_blanks()
                else_body = self.block() if self.peek() == "(" else self.sequence()
                return If(negate, kind, args, body, else_body, ic)
            return If(negate, kind, args, body, None, ic)
        seq = self.sequence()
        if seq is None:
            raise CmdSyntaxError("The syntax of the command is incorrect.")
        return If(negate, kind, args, seq, None, ic)


def parse(line: str, continued: bool = False) -> Node | None:
    """Phase 2 of one already percent-expanded line; raises CmdSyntaxError.

    With `continued` (lines read from stdin) a block left open at the end raises NeedMore:
    the caller appends the next line after a newline and parses again.
    """
    if len(line) > MAX_LINE // 2 and any(utf16_units(p) > MAX_LINE for p in line.split("\n")):
        raise CmdSyntaxError("The command line is too long.")
    return Parser(line, continued).parse()
