"""Runs parsed cmd.exe lines against a HostState: builtins, programs, FOR /F, IF, sessions."""

from __future__ import annotations

import re
from collections.abc import Callable

from remediate.lab import argv as msvcrt
from remediate.lab.cmdparse import (
    Block,
    Chain,
    CmdSyntaxError,
    For,
    If,
    NeedMore,
    Node,
    Redirect,
    Rem,
    Simple,
    parse,
)
from remediate.lab.cmdpercent import expand_delayed, expand_percent
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
_DYNAMIC = {
    "ERRORLEVEL": "",
    "CD": "",
    "DATE": "Fri 11/27/2026",
    "TIME": "12:00:00.00",
    "RANDOM": "4711",
    "CMDEXTVERSION": "2",
}
ForVars = tuple[dict[str, str], ...]
# The code pages `chcp` accepts in the lab (Python codec of each). 437 is the OEM code page
# of an en-US Windows console, so it is where every cmd starts unless told otherwise.
CODEPAGES = {437: "cp437", 850: "cp850", 1252: "cp1252", 65001: "utf-8"}
DEFAULT_CODEPAGE = 437
_LINE_END = re.compile(rb"[\n\x1a]")
Listener = Callable[[bytes], None]


class ExitCmd(Exception):
    """`exit [/b] [N]`: leaves the current cmd instance."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Console:
    """What a cmd instance shares with the children it starts: the active code page."""

    def __init__(self, codepage: int = DEFAULT_CODEPAGE) -> None:
        if codepage not in CODEPAGES:
            raise ValueError(f"unsupported code page {codepage}")
        self.codepage = codepage

    @property
    def codec(self) -> str:
        return CODEPAGES[self.codepage]


class Sink:
    """An output stream of bytes, or nowhere (NUL); text is encoded with the active code page.

    Characters the code page cannot encode come out as `?`, as on Windows. A `listener`
    sees every piece as it is written (the servers stream output with it).
    """

    def __init__(
        self, console: Console, discard: bool = False, listener: Listener | None = None
    ) -> None:
        self.parts: list[bytes] = []
        self.console = console
        self.discard = discard
        self.listener = listener

    def write(self, text: str) -> None:
        if not self.discard and text:
            self.write_bytes(text.encode(self.console.codec, errors="replace"))

    def write_bytes(self, data: bytes) -> None:
        if self.discard or not data:
            return
        self.parts.append(data)
        if self.listener is not None:
            self.listener(data)

    def data(self) -> bytes:
        return b"".join(self.parts)

    def text(self) -> str:
        """The bytes written so far, decoded with the active code page."""
        return self.data().decode(self.console.codec, errors="replace")


class Stdin:
    """cmd's standard input: lines read one at a time, each decoded with the code page
    active when it is read. LF and Ctrl-Z (0x1A) both end a line; CRs are dropped later
    (phase 1.5). A child cmd reads from the same position and leaves the rest."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = data
        self.pos = 0

    def readline(self, console: Console) -> str | None:
        if self.pos >= len(self.data):
            return None
        match = _LINE_END.search(self.data, self.pos)
        end = len(self.data) if match is None else match.start()
        raw = self.data[self.pos : end]
        self.pos = end + 1
        return raw.decode(console.codec, errors="replace")


class Interpreter:
    """One cmd.exe instance: environment, ERRORLEVEL, echo state, output streams."""

    def __init__(
        self,
        state: HostState,
        programs: dict[str, Program],
        hook: Hook | None = None,
        count: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
        console: Console | None = None,
    ) -> None:
        self.state = state
        self.programs = programs
        self.hook = hook
        self.count = count
        self.env = dict(state.env) if env is None else env
        self.cwd = state.cwd
        self.errorlevel = 0
        self.echo = True
        self.delayed = False  # `cmd /v:on`: phase 5, !NAME! expansion
        self.extensions = True  # `cmd /e:off` turns off dynamic variables and %NAME:~a,b%
        self.console = Console() if console is None else console
        self.out = Sink(self.console)
        self.err = Sink(self.console)
        self.stdin = Stdin()

    # ------------------------------------------------------------ variables
    def lookup(self, name: str) -> str | None:
        """A variable as `%NAME%` sees it: the environment, then cmd's dynamic names."""
        key = name.upper()
        value = self.env.get(key)
        if value is not None or key not in _DYNAMIC or not self.extensions:
            return value
        if key == "ERRORLEVEL":
            return str(self.errorlevel)
        if key == "CD":
            return self.cwd
        return _DYNAMIC[key]

    # ------------------------------------------------------------ entry points
    def phase1(self, line: str) -> str:
        """Percent expansion, then (phase 1.5) every CR removed."""
        return expand_percent(line, self.lookup, self.extensions).replace("\r", "")

    def run_line(self, line: str, more: Callable[[], str | None] | None = None) -> None:
        """Phase 1, phase 2 and execution of one line (a syntax error runs nothing).

        `more` reads the next stdin line: a line ending in an escaping caret, or holding a
        block whose `(` is not closed yet, continues on the next lines (each expanded
        when read), as cmd does at its `More?` prompt. At end of input the open block is
        dropped without running.
        """
        expanded = self.phase1(line)
        while True:
            if more is not None and _escapes_newline(expanded):
                following = more()
                if following is None:
                    return
                expanded += self.phase1(following)
                continue
            try:
                node = parse(expanded, continued=more is not None)
            except NeedMore:
                assert more is not None
                following = more()
                if following is None:
                    return
                expanded += "\n" + self.phase1(following)
                continue
            except CmdSyntaxError as exc:
                self.err.write(f"{exc}\r\n")
                self.errorlevel = 255
                return
            break
        if node is not None:
            self.run(node, ())

    def run_slash_c(self, text: str, slash_s: bool = False) -> int:
        """`cmd /c TEXT`: the leading-quote rule, then the line; returns the exit code."""
        try:
            self.run_line(strip_slash_c(text, self.is_executable, slash_s))
        except ExitCmd as done:
            return done.code
        return self.errorlevel

    def run_session(self) -> int:
        """cmd reading commands from stdin, noisy: banner, prompts, echoed commands.

        Each line is decoded with the code page active when it is read, so a `chcp`
        changes how the following lines read.
        """
        self.out.write(BANNER + "\r\n")
        while True:
            if self.echo:
                self.out.write(self.prompt())
            raw = self.stdin.readline(self.console)
            if raw is None:
                break
            line = raw.rstrip("\r")
            if self.echo and not line.lstrip(" \t").startswith("@"):
                self.out.write(line + "\r\n")
            if not line.strip(" \t"):
                continue
            try:
                self.run_line(line, self.read_more)
            except ExitCmd as done:
                return done.code
            if self.echo:
                self.out.write("\r\n")
        return self.errorlevel

    def read_more(self) -> str | None:
        """The next stdin line for a command that continues on it."""
        raw = self.stdin.readline(self.console)
        return None if raw is None else raw.rstrip("\r")

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
            self.out = Sink(self.console)
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
        text = self.phase5(substitute(node.text, fv))
        return self.redirected(node.redirects, fv, lambda: self.command(text))

    def phase5(self, text: str) -> str:
        """Delayed expansion (only with /v:on, only of text holding a `!`)."""
        if not self.delayed:
            return text
        return expand_delayed(text, self.lookup, self.extensions)

    def announce(self, text: str) -> None:
        """Hook and count one simple command (a cmd.exe starting a session is not one)."""
        if self.hook is not None:
            self.hook(text)
        if self.count is not None:
            self.count()

    def redirected(
        self, redirects: tuple[Redirect, ...], fv: ForVars, action: Callable[[], int]
    ) -> int:
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
            data = sink.data()
            old = self.state.fs.read(path) if append else None
            self.state.fs.write(path, (old or b"") + data)
        return rc

    def apply_redirect(self, r: Redirect, fv: ForVars, files: list[tuple[str, Sink, bool]]) -> bool:
        if r.op == "<":
            return True
        if r.op == ">&":
            sink = self.out if r.target == "1" else self.err
        else:
            target = self.phase5(substitute(r.target, fv)).replace('"', "")
            if target.lower() in ("nul", "nul:"):
                sink = Sink(self.console, discard=True)
            else:
                sink = Sink(self.console)
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
        argv = [token, *msvcrt.split_args(rest)]
        if base == "chcp.com":
            return self.chcp(argv[1:])
        program = self.programs[base]
        result = program(self.state, argv)
        self.out.write(result.stdout)
        self.err.write(result.stderr)
        self.errorlevel = result.rc
        return result.rc

    def nested_cmd(self, rest: str) -> int:
        """`cmd [switches] [/c|/k TEXT]`; with no /c the child reads commands from stdin.

        Switches come in any order and case: /q (echo off), /d (no AutoRun), /s (quote
        rule of /c), /a /u /t:XX (ignored), /e:on|off (/x, /y), /v:on|off, /f:on|off.
        The child starts with delayed expansion off and extensions on unless told
        otherwise (the lab has no registry defaults), shares this console (code page),
        stdin and output. Text after /c or /k is the command; the lab stops at any other
        word and reads stdin (unverified against Windows). In the lab, extensions off only
        turns off the dynamic variables (%ERRORLEVEL%, %CD%, ...) and the %NAME:~a,b% and
        %NAME:a=b% forms.
        """
        child = Interpreter(
            self.state, self.programs, self.hook, self.count, dict(self.env), self.console
        )
        child.out, child.err, child.cwd, child.stdin = self.out, self.err, self.cwd, self.stdin
        mode, text, slash_s = _launcher_switches(child, rest)
        if mode == "/c":
            rc = child.run_slash_c(text, slash_s)
        else:
            if mode == "/k":
                child.run_slash_c(text, slash_s)
            rc = child.run_session()
        self.errorlevel = rc
        return rc

    def chcp(self, args: list[str]) -> int:
        """chcp.com: show or set the console's active code page (437, 850, 1252, 65001)."""
        if args:
            try:
                page = int(args[0])
            except ValueError:
                page = -1
            if page not in CODEPAGES:
                self.err.write("Invalid code page\r\n")
                self.errorlevel = 1
                return 1
            self.console.codepage = page
        self.out.write(f"Active code page: {self.console.codepage}\r\n")
        self.errorlevel = 0
        return 0

    def run_called(self, rest: str) -> int:
        """`call COMMAND`: a second percent expansion of its text, then the command runs.

        (Real CALL also re-runs phase 2 with its carets doubled; the lab stops at the
        second percent pass.) ERRORLEVEL is cleared first, so a command that sets none
        leaves 0.
        """
        self.errorlevel = 0
        return self.command(self.phase5(expand_percent(rest, self.lookup, self.extensions)))

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
        args = [self.phase5(substitute(a, fv)) for a in node.args]
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
    return {
        "equ": order == 0,
        "neq": order != 0,
        "lss": order < 0,
        "leq": order <= 0,
        "gtr": order > 0,
        "geq": order >= 0,
    }[op]


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


_SWITCH = re.compile(
    r"/(?:(?P<run>[ck])|(?P<flag>[qdsauxy])(?=[\s/]|$)"
    r"|(?P<opt>[efv]):(?P<value>on|off)(?=[\s/]|$)|t:[0-9a-f]{1,2}(?=[\s/]|$))",
    re.IGNORECASE,
)


def _launcher_switches(child: Interpreter, rest: str) -> tuple[str, str, bool]:
    """Apply cmd's switches to `child`; returns ("/c"|"/k"|"", the text after it, /s)."""
    i, n = 0, len(rest)
    slash_s = False
    while True:
        while i < n and rest[i] in " \t":
            i += 1
        match = _SWITCH.match(rest, i)
        if match is None:
            return "", "", slash_s
        i = match.end()
        if match.group("run"):
            return "/" + match.group("run").lower(), rest[i:], slash_s
        flag = (match.group("flag") or "").lower()
        if flag == "q":
            child.echo = False
        elif flag == "s":
            slash_s = True
        elif flag in ("x", "y"):
            child.extensions = flag == "x"
        option = (match.group("opt") or "").lower()
        if option == "v":
            child.delayed = match.group("value").lower() == "on"
        elif option == "e":
            child.extensions = match.group("value").lower() == "on"


def _escapes_newline(line: str) -> bool:
    """Whether the line ends in an unquoted caret that escapes its newline."""
    carets = len(line) - len(line.rstrip("^"))
    return carets % 2 == 1 and line[: len(line) - carets].count('"') % 2 == 0
