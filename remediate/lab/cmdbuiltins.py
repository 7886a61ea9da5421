"""cmd.exe internal commands: echo, set, type, dir, cd, exit, ver, call (and harmless no-ops).

ERRORLEVEL follows dbenham's measurements on Windows 10 (command-line context): ECHO, REM,
CLS, TITLE and ENDLOCAL never change it; SET changes it only on failure; CD/CHDIR, DIR,
TYPE, VER and SETLOCAL set 0 on success and 1 on failure; CALL clears it unless the called
command sets it; `(call)` (CALL with nothing at all) sets 1, `(call )` sets 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remediate.lab.cmdexec import Interpreter

Builtin = Callable[["Interpreter", str], int]
VERSION_LINE = "\r\nMicrosoft Windows [Version 10.0.17763.5576]\r\n"
_BLANK = " \t"
NOT_FOUND = "The system cannot find the file specified.\r\n"


def words(text: str) -> list[str]:
    """Blank-separated arguments as cmd's internal commands see them, quotes removed."""
    out: list[str] = []
    current: list[str] = []
    quoted = started = False
    for c in text:
        if c == '"':
            quoted = not quoted
            started = True
        elif c in _BLANK and not quoted:
            if started:
                out.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
            started = True
    if started:
        out.append("".join(current))
    return out


def echo(cmd: Interpreter, rest: str) -> int:
    if not rest.strip(_BLANK):
        cmd.out.write(f"ECHO is {'on' if cmd.echo else 'off'}.\r\n")
        return 0
    text = rest[1:]
    if rest[0] in _BLANK + ",;=" and text.strip(_BLANK).lower() in ("on", "off"):
        cmd.echo = text.strip(_BLANK).lower() == "on"
        return 0
    cmd.out.write(text + "\r\n")
    return 0


def set_command(cmd: Interpreter, rest: str) -> int:
    body = rest[1:] if rest[:1] in _BLANK else rest
    body = body.lstrip(_BLANK)
    if body.startswith('"'):
        last = body.rfind('"')
        body = body[1:last] if last > 0 else body[1:]
    if "=" not in body:
        return _show_vars(cmd, body)
    name, _, value = body.partition("=")
    if not name:
        cmd.err.write("The syntax of the command is incorrect.\r\n")
        cmd.errorlevel = 1
        return 1
    if value:
        cmd.env[name.upper()] = value
    else:
        cmd.env.pop(name.upper(), None)
    return 0


def _show_vars(cmd: Interpreter, prefix: str) -> int:
    shown = [f"{k}={v}" for k, v in sorted(cmd.env.items()) if k.startswith(prefix.upper())]
    if not shown:
        cmd.out.write(f"Environment variable {prefix} not defined\r\n")
        cmd.errorlevel = 1
        return 1
    cmd.out.write("".join(s + "\r\n" for s in shown))
    return 0


def type_command(cmd: Interpreter, rest: str) -> int:
    names = words(rest)
    if not names:
        cmd.err.write("The syntax of the command is incorrect.\r\n")
        cmd.errorlevel = 1
        return 1
    rc = 0
    for name in names:
        data = cmd.state.fs.read(cmd.abspath(name))
        if data is None:
            cmd.err.write(NOT_FOUND)
            if len(names) > 1:
                cmd.err.write(f"Error occurred while processing: {name}.\r\n")
            rc = 1
            continue
        if len(names) > 1:
            cmd.err.write(f"\r\n{name}\r\n\r\n\r\n")
        cmd.out.write_bytes(data)  # the file's bytes as they are, whatever the code page
    cmd.errorlevel = rc
    return rc


def dir_command(cmd: Interpreter, rest: str) -> int:
    args = [w for w in words(rest.replace("/", " /")) if not w.startswith("/")]
    target = cmd.abspath(args[0]) if args else cmd.cwd
    fs = cmd.state.fs
    if fs.is_dir(target):
        names = fs.listdir(target)
    else:
        directory, _, pattern = target.rpartition("\\")
        names = fs.listdir(directory, pattern) if any(c in pattern for c in "*?") else []
        if not names and fs.read(target) is not None:
            names = [pattern]
    if not names:
        cmd.err.write("File Not Found\r\n")
        cmd.errorlevel = 1
        return 1
    cmd.out.write("".join(n + "\r\n" for n in names))
    cmd.errorlevel = 0
    return 0


def cd(cmd: Interpreter, rest: str) -> int:
    args = [w for w in words(rest) if w.lower() != "/d"]
    if not args:
        cmd.out.write(cmd.cwd + "\r\n")
        cmd.errorlevel = 0
        return 0
    target = " ".join(args)
    if target == "..":
        new = cmd.cwd.rsplit("\\", 1)[0]
        target = new + "\\" if len(new) == 2 else new
    else:
        target = cmd.abspath(target).rstrip("\\")
    if not cmd.state.fs.is_dir(target) and len(target) > 3:
        cmd.err.write("The system cannot find the path specified.\r\n")
        cmd.errorlevel = 1
        return 1
    cmd.cwd = target
    cmd.errorlevel = 0
    return 0


def exit_command(cmd: Interpreter, rest: str) -> int:
    from remediate.lab.cmdexec import ExitCmd

    args = words(rest)
    if args and args[0].lower() == "/b":
        args = args[1:]
    code = cmd.errorlevel
    if args:
        try:
            code = int(args[0])
        except ValueError:
            code = 0
    cmd.errorlevel = code
    raise ExitCmd(code)


def ver(cmd: Interpreter, rest: str) -> int:
    cmd.out.write(VERSION_LINE)
    cmd.errorlevel = 0
    return 0


def setlocal(cmd: Interpreter, rest: str) -> int:
    cmd.errorlevel = 0
    return 0


def call(cmd: Interpreter, rest: str) -> int:
    """`(call)` fails with 1, `(call )` succeeds with 0, `call COMMAND` runs COMMAND."""
    if not rest:
        cmd.errorlevel = 1
        return 1
    body = rest[1:] if rest[0] in _BLANK + ",;=" else rest
    if not body.strip(_BLANK + ",;="):
        cmd.errorlevel = 0
        return 0
    if body.lstrip(_BLANK).startswith(":"):
        cmd.err.write("Invalid attempt to call batch label outside of batch script.\r\n")
        cmd.errorlevel = 1
        return 1
    return cmd.run_called(body)


def noop(cmd: Interpreter, rest: str) -> int:
    return 0


BUILTINS: dict[str, Builtin] = {
    "echo": echo,
    "set": set_command,
    "type": type_command,
    "dir": dir_command,
    "cd": cd,
    "chdir": cd,
    "exit": exit_command,
    "ver": ver,
    "rem": noop,
    "cls": noop,
    "title": noop,
    "setlocal": setlocal,
    "call": call,
    "endlocal": noop,
}
