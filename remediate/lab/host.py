"""A simulated Windows host: its state behind a cmd.exe-faithful interpreter, with counters."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import attrs

from remediate.lab import msbox, netsh
from remediate.lab.cmdexec import (
    CODEPAGES,
    DEFAULT_CODEPAGE,
    Console,
    Interpreter,
    Listener,
    Program,
    Sink,
    Stdin,
)
from remediate.lab.state import HostState, ProgramResult, lines

SYSTEM32 = "C:\\Windows\\System32"


class CommandDropped(Exception):
    """Raised by a command hook to abort execution (fault injection)."""


@attrs.frozen
class ExecResult:
    """What a command line gave back: bytes in the console's code page(s), CRLF line ends,
    and the exit code."""

    stdout: bytes
    stderr: bytes
    rc: int


def _hostname(state: HostState, argv: list[str]) -> ProgramResult:
    return ProgramResult(0, lines(state.hostname))


def _whoami(state: HostState, argv: list[str]) -> ProgramResult:
    return ProgramResult(0, lines(f"{state.hostname}\\{state.user}".lower()))


def _cmd_placeholder(state: HostState, argv: list[str]) -> ProgramResult:
    raise AssertionError("cmd.exe is run by the interpreter itself")


PROGRAMS: dict[str, Program] = {
    "msbox.exe": msbox.run,
    "netsh.exe": netsh.run,
    "hostname.exe": _hostname,
    "whoami.exe": _whoami,
    "cmd.exe": _cmd_placeholder,
    "chcp.com": _cmd_placeholder,
}
OPERATOR_CODEPAGE = 65001  # `console`: lab tooling reads its output as UTF-8


class LabHost:
    """One lab machine: `execute` for remote clients (counted, hooked), `console` for operators."""

    def __init__(self, state: HostState) -> None:
        self.state = state
        self.name = state.hostname
        self.kind = state.kind
        self.counters: dict[str, int] = {"commands": 0}
        self.lock = threading.RLock()
        self.command_hook: Callable[[str], None] | None = None

    def execute(
        self,
        command_line: str,
        stdin: bytes | None = None,
        codepage: int = DEFAULT_CODEPAGE,
        stdout: Listener | None = None,
        stderr: Listener | None = None,
    ) -> ExecResult:
        """Run LINE as `cmd /c LINE`; a bare `cmd` reads commands from `stdin` (noisy).

        The console starts at `codepage` (437 unless the client asked for another, e.g.
        WINRS_CODEPAGE); `stdout`/`stderr` see output as it is produced.
        """
        with self.lock:
            return self._run(
                command_line, stdin, self.command_hook, self._count, codepage, (stdout, stderr)
            )

    def execute_openssh(
        self,
        command: str,
        stdin: bytes | None = None,
        stdout: Listener | None = None,
        stderr: Listener | None = None,
    ) -> ExecResult:
        """An SSH exec request as Win32-OpenSSH runs it with cmd as the default shell:
        `cmd.exe /c "COMMAND"` (quotes added, nothing escaped), so the `/c` rule strips
        exactly that added pair and COMMAND itself keeps its quotes. Code page 437."""
        return self.execute(f'"{command}"', stdin, DEFAULT_CODEPAGE, stdout, stderr)

    def console(self, command_line: str, codepage: int = OPERATOR_CODEPAGE) -> ExecResult:
        """The same interpreter for an operator at the console: not counted, no hook;
        output in UTF-8 (code page 65001) unless another code page is given."""
        with self.lock:
            return self._run(command_line, None, None, None, codepage, (None, None))

    @contextlib.contextmanager
    def unlocked(self) -> Iterator[None]:
        """Let other clients at the host while this command waits (a hung process)."""
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()

    def _count(self) -> None:
        self.counters["commands"] = self.counters.get("commands", 0) + 1

    def _run(
        self,
        line: str,
        stdin: bytes | None,
        hook: Callable[[str], None] | None,
        count: Callable[[], None] | None,
        codepage: int,
        listeners: tuple[Listener | None, Listener | None],
    ) -> ExecResult:
        if codepage not in CODEPAGES:
            codepage = DEFAULT_CODEPAGE
        console = Console(codepage)
        interp = Interpreter(self.state, PROGRAMS, hook, count, console=console)
        interp.out = Sink(console, listener=listeners[0])
        interp.err = Sink(console, listener=listeners[1])
        if stdin is not None:
            interp.stdin = Stdin(stdin)
        rc = interp.run_slash_c(line)
        return ExecResult(interp.out.data(), interp.err.data(), rc)

    def to_json(self) -> dict[str, object]:
        """Canonical state (json.dumps(..., sort_keys=True) gives stable text)."""
        with self.lock:
            data = self.state.to_json()
            data["name"] = self.name
            data["counters"] = dict(self.counters)
            sorted_data = _sorted(data)
            assert isinstance(sorted_data, dict)
            return sorted_data


def _sorted(value: object) -> object:
    """Dicts with their keys in sorted order, all the way down (lists keep their order)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def install_windows(state: HostState) -> None:
    """The files and environment every lab Windows machine has."""
    for exe in ("cmd.exe", "chcp.com", "netsh.exe", "hostname.exe", "whoami.exe"):
        state.fs.write(f"{SYSTEM32}\\{exe}", b"MZ")
    home = f"C:\\Users\\{state.user}"
    state.fs.write(home + "\\NTUSER.DAT", b"")
    state.cwd = home
    path = [SYSTEM32, "C:\\Windows", SYSTEM32 + "\\Wbem"]
    if state.kind == "mailsite":
        state.fs.write(msbox.MSBOX_PATH, b"MZ")
        path.append(msbox.MSBOX_DIR)
    env = {
        "COMPUTERNAME": state.hostname.upper(),
        "USERNAME": state.user,
        "USERPROFILE": home,
        "HOMEDRIVE": "C:",
        "HOMEPATH": f"\\Users\\{state.user}",
        "SYSTEMROOT": "C:\\Windows",
        "WINDIR": "C:\\Windows",
        "COMSPEC": SYSTEM32 + "\\cmd.exe",
        "PATH": ";".join(path),
        "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
        "PROGRAMFILES": "C:\\Program Files",
        "OS": "Windows_NT",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "TEMP": home + "\\AppData\\Local\\Temp",
        "TMP": home + "\\AppData\\Local\\Temp",
    }
    for key, value in env.items():
        state.setenv(key, value)
