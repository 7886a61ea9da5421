"""Runs parsed cmd.exe lines against a HostState: builtins, programs, FOR /F, IF, sessions."""

from __future__ import annotations

from collections.abc import Callable

from remediate.lab import argv as msvcrt
from remediate.lab.cmdparse import (
    Block,
    Chain,
    CmdSyntaxError,
    For,
    If,
    Node,
    Redirect,
    Rem,
    Simple,
    parse,
)
from remediate.lab.cmdpercent import expand_percent
from remediate.lab.cmdwords import program_token, split_command_name, strip_slash_c
from remediate.lab.state import HostState, ProgramResult

BANNER = (
    "Microsoft Windows [Version 10.0.17763.5576]\r\n"
    "(c) Microsoft Corporation. All rights reserved.\r\n"
)
NOT_RECOGNIZED = (
    "'{}' is not recognized as an internal or external command,\r\n"
    "operable program or batch file.\r\n"
)
Program = Callable[[HostState, list[str]], ProgramResult]
Hook = Callable[[str], None]
# ERRORLEVEL and CD are computed; the clock and RANDOM are fixed so output is reproducible.
_DYNAMIC = {"ERRORLEVEL": "", "CD": "", "DATE": "Fri 11/27/2026", "TIME": "12:00:00.00",
            "RANDOM": "4711", "CMDEXTVERSION": "2"}
ForVars = tuple[dict[str, str], ...]


class ExitCmd(Exception):
    """`exit [/b] [N]`: leaves the current cmd instance."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Sink:
    """An output stream: a list of text pieces, or nowhere (NUL)."""

    def __init__(self, discard: bool = False) -> None:
        self.parts: list[str] = []
        self.discard = discard

    def write(self, text: str) -> None:
        if not self.discard:
            self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


class Interpreter:
    """One cmd.exe instance: environment, ERRORLEVEL, echo state, output streams."""

    def __init__(
        self,
        state: HostState,
        programs: dict[str, Program],
        hook: Hook | None = None,
        count: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.state = state
        self.programs = programs
        self.hook = hook
        self.count = count
        self.env = dict(state.env) if env is None else env
        self.cwd = state.cwd
        self.errorlevel = 0
        self.echo = True
        self.out = Sink()
        self.err = Sink()
        self.stdin_lines: list[str] = []

    # ------------------------------------------------------------ variables
    def lookup(self, name: str) -> str | None:
        """A variable as `%NAME%` sees it: the environment, then cmd's dynamic names."""
        key = name.upper()
        value = self.env.get(key)
        if value is not None or key not in _DYNAMIC:
            return value
        if key == "ERRORLEVEL":
            return str(self.errorlevel)
        if key == "CD":
            return self.cwd
        return _DYNAMIC[key]

    # ------------------------------------------------------------ entry points
    def run_line(self, line: str) -> None:
        """Phase 1, phase 2 and execution of one line (a syntax error runs nothing)."""
        expanded = expand_percent(line, self.lookup)
        try:
            node = parse(expanded)
        except CmdSyntaxError as exc:
            self.err.write(f"{exc}\r\n")
            self.errorlevel = 255
            return
        if node is not None:
            self.run(node, ())

    def run_slash_c(self, text: str, slash_s: bool = False) -> int:
        """`cmd /c TEXT`: the leading-quote rule, then the line; returns the exit code."""
        try:
            self.run_line(strip_slash_c(text, self.is_executable, slash_s))
        except ExitCmd as done:
            return done.code
        return self.errorlevel

    def run_session(self, stdin: str) -> int:
        """cmd reading commands from stdin, noisy: banner, prompts, echoed commands."""
        self.out.write(BANNER + "\r\n")
        text = stdin.replace("\r\n", "\n")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        for raw in lines:
            if self.echo:
                self.out.write(self.prompt())
            line = raw.rstrip("\r")
            if self.echo and not line.lstrip(" \t").startswith("@"):
                self.out.write(line + "\r\n")
            if not line.strip(" \t"):
                continue
            try:
                self.run_line(line)
            except ExitCmd as done:
                return done.code
            if self.echo:
                self.out.write("\r\n")
        if self.echo:
            self.out.write(self.prompt())
        return self.errorlevel

    def prompt(self) -> str:
        return f"{self.cwd}>"

    # ------------------------------------------------------------ nodes
    def run(self, node: Node, fv: ForVars) -> int:
        if isinstance(node, Simple):
            return self.simple(node, fv)
        if isinstance(node, Chain):
            return self.chain(node, fv)
        if isinstance(node, Block):
            return self.block(node, fv)
        if isinstance(node, For):
            return self.for_loop(node, fv)
        if isinstance(node, If):
            return self.if_command(node, fv)
        assert isinstance(node, Rem)
        return 0

    def chain(self, node: Chain, fv: ForVars) -> int:
        if node.op == "|":
            saved = self.out
            self.out = Sink()
            try:
                self.run(node.left, fv)
            finally:
                self.out = saved
            return self.run(node.right, fv)
        rc = self.run(node.left, fv)
        if node.op == "&" or (node.op == "&&") == (rc == 0):
            return self.run(node.right, fv)
        return rc

    def block(self, node: Block, fv: ForVars) -> int:
        if node.body is None:
            return 0
        body = node.body
        return self.redirected(node.redirects, fv, lambda: self.run(body, fv))

    def simple(self, node: Simple, fv: ForVars) -> int:
        text = substitute(node.text, fv)
        return self.redirected(node.redirects, fv, lambda: self.command(text))

    def announce(self, text: str) -> None:
        """Hook and count one simple command (a cmd.exe starting a session is not one)."""
        if self.hook is not None:
            self.hook(text)
        if self.count is not None:
            self.count()

    def redirected(self, redirects: tuple[Redirect, ...], fv: ForVars,
                   action: Callable[[], int]) -> int:
        if not redirects:
            return action()
        saved = (self.out, self.err)
        files: list[tuple[str, Sink, bool]] = []
        try:
            for r in redirects:
                if not self.apply_redirect(r, fv, files):
                    return 1
            rc = action()
        finally:
            self.out, self.err = saved
        for path, sink, append in files:
            data = sink.text().encode("utf-8")
            old = self.state.fs.read(path) if append else None
            self.state.fs.write(path, (old or b"") + data)
        return rc

    def apply_redirect(self, r: Redirect, fv: ForVars,
                       files: list[tuple[str, Sink, bool]]) -> bool:
        if r.op == "<":
            return True
        if r.op == ">&":
            sink = self.out if r.target == "1" else self.err
        else:
            target = substitute(r.target, fv).replace('"', "")
            if target.lower() in ("nul", "nul:"):
                sink = Sink(discard=True)
            else:
                sink = Sink()
                files.append((self.abspath(target), sink, r.op == ">>"))
        if r.handle == 2:
            self.err = sink
        else:
            self.out = sink
        return True

    # ------------------------------------------------------------ commands
    def command(self, text: str) -> int:
        from remediate.lab import cmdbuiltins

        name, rest, quoted = split_command_name(text)
        if not name and not quoted:
            return 0
        builtin = None if quoted else cmdbuiltins.BUILTINS.get(name.lower())
        if builtin is not None:
            self.announce(text)
            return builtin(self, rest)
        return self.external(text)

    def external(self, text: str) -> int:
        token, rest = program_token(text)
        path = self.resolve(token)
        if path is None:
            self.announce(text)
            self.err.write(NOT_RECOGNIZED.format(token))
            self.errorlevel = 9009
            return 9009
        base = path.rsplit("\\", 1)[-1].lower()
        if base == "cmd.exe":
            return self.nested_cmd(rest)
        self.announce(text)
        program = self.programs[base]
        result = program(self.state, [token, *msvcrt.split_args(rest)])
        self.out.write(result.stdout)
        self.err.write(result.stderr)
        self.errorlevel = result.rc
        return result.rc

    def nested_cmd(self, rest: str) -> int:
        """`cmd [/q] [/s] /c|/k TEXT`; with no /c the child reads commands from stdin."""
        child = Interpreter(self.state, self.programs, self.hook, self.count, dict(self.env))
        child.out, child.err, child.cwd = self.out, self.err, self.cwd
        text = rest
        slash_s = False
        while True:
            text = text.lstrip(" \t")
            switch = text[:2].lower()
            if switch == "/c":
                rc = child.run_slash_c(text[2:], slash_s)
                break
            if switch in ("/q", "/s", "/d", "/a", "/u", "/k") and (
                len(text) == 2 or text[2] in " \t/"
            ):
                child.echo = child.echo and switch != "/q"
                slash_s = slash_s or switch == "/s"
                if switch == "/k" and text[2:].strip(" \t"):
                    child.run_slash_c(text[2:], slash_s)
                    text = ""
                    continue
                text = text[2:]
                continue
            rc = child.run_session(self.take_stdin())
            break
        self.errorlevel = rc
        return rc

    def take_stdin(self) -> str:
        """What remains on this instance's stdin (a child cmd consumes all of it)."""
        text = "\n".join(self.stdin_lines)
        self.stdin_lines = []
        return text

    def resolve(self, token: str) -> str | None:
        """The full path of a program: as given (with .exe added), or searched on PATH."""
        candidates: list[str] = []
        exts = ("", ".exe", ".com")
        if "\\" in token or ":" in token:
            candidates = [self.abspath(token) + e for e in exts]
        else:
            dirs = [self.cwd] + [d for d in (self.lookup("PATH") or "").split(";") if d]
            candidates = [d.rstrip("\\") + "\\" + token + e for d in dirs for e in exts]
        for candidate in candidates:
            base = candidate.rsplit("\\", 1)[-1].lower()
            if base in self.programs and self.state.fs.read(candidate) is not None:
                return candidate
        return None

    def is_executable(self, text: str) -> bool:
        return self.resolve(text) is not None

    def abspath(self, path: str) -> str:
        if len(path) > 1 and path[1] == ":":
            return path
        if path.startswith("\\"):
            return self.cwd[:2] + path
        return self.cwd.rstrip("\\") + "\\" + path

    # ------------------------------------------------------------ FOR / IF
    def for_loop(self, node: For, fv: ForVars) -> int:
        from remediate.lab.cmdfor import iterate

        rc = 0
        for bindings in iterate(self, node, fv):
            rc = self.run(node.body, (*fv, bindings))
        return rc

    def if_command(self, node: If, fv: ForVars) -> int:
        args = [substitute(a, fv) for a in node.args]
        if node.kind == "errorlevel":
            try:
                result = self.errorlevel >= int(args[0])
            except ValueError:
                self.err.write(f"{args[0]} was unexpected at this time.\r\n")
                return 255
        elif node.kind == "exist":
            result = self.state.fs.exists(self.abspath(args[0].replace('"', "")))
        elif node.kind == "defined":
            result = self.lookup(args[0]) is not None
        elif node.kind == "==":
            left, right = (a.lower() for a in args) if node.ignore_case else args
            result = left == right
        else:
            result = compare(node.kind, args[0], args[1], node.ignore_case)
        if result != node.negate:
            return self.run(node.body, fv)
        if node.else_body is not None:
            return self.run(node.else_body, fv)
        return 0


def compare(op: str, left: str, right: str, ignore_case: bool) -> bool:
    """IF's EQU/NEQ/LSS/LEQ/GTR/GEQ: numbers when both sides are integers, else text."""
    try:
        a, b = int(left, 0), int(right, 0)
        order = (a > b) - (a < b)
    except ValueError:
        x, y = (left.lower(), right.lower()) if ignore_case else (left, right)
        order = (x > y) - (x < y)
    return {"equ": order == 0, "neq": order != 0, "lss": order < 0, "leq": order <= 0,
            "gtr": order > 0, "geq": order >= 0}[op]


def substitute(text: str, fv: ForVars) -> str:
    """FOR variables (`%X`, `%~X`) replaced by their values, as text: never re-parsed.

    Outer loops substitute first, as cmd does when it runs the inner FOR command, so only
    a value of the innermost loop is never looked at again.
    """
    for layer in fv:
        if "%" not in text:
            return text
        text = _substitute_one(text, layer)
    return text


def _substitute_one(text: str, fv: dict[str, str]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "%" and i + 1 < n:
            if text[i + 1] in fv:
                out.append(fv[text[i + 1]])
                i += 2
                continue
            if text[i + 1] == "~" and i + 2 < n and text[i + 2] in fv:
                value = fv[text[i + 2]]
                if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                    value = value[1:-1]
                out.append(value)
                i += 3
                continue
        out.append(c)
        i += 1
    return "".join(out)
