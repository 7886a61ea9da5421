"""CLI: `remediate lab up/down/state/exec/fault`, a simulated MailSite fleet on loopback."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from remediate.errors import InputError

READY_FILE = "ready"
_PLAIN_WORD = re.compile(r"[A-Za-z0-9._-]+")
LOG_FILE = "lab.log"


def register(sub: Any) -> None:
    """Add `lab` and its subcommands to the top-level parser."""
    lab = sub.add_parser("lab", help="run a simulated MailSite fleet on loopback")
    actions = lab.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(lab))
    actions.required = True

    up = actions.add_parser("up", help="start a lab and write DIR/inventory.yml")
    _fleet_options(up)
    up.add_argument("--detach", action="store_true", help="run in the background and return")
    up.set_defaults(func=_up)

    serve = actions.add_parser("serve", help="(internal) the detached lab process")
    _fleet_options(serve)
    serve.set_defaults(func=_serve)

    down = actions.add_parser("down", help="stop the lab serving DIR")
    _dir_option(down)
    down.set_defaults(func=_down)

    state = actions.add_parser("state", help="print a host's canonical JSON state and counters")
    _dir_option(state)
    state.add_argument("host")
    state.set_defaults(func=_state)

    run = actions.add_parser(
        "exec",
        help="run a command at a host's console: exec HOST -- CMD",
        description="Run a command at a lab host's console (cmd /c; output in UTF-8). One "
        "word after `--` is a raw cmd command line; several words are an argv, quoted for "
        'cmd (so `-- msbox -get "a & b@x"` runs one command). Exits with the command\'s '
        "exit code; a code above 255 cannot be a process status, so it is printed as "
        "`remediate lab exec: exit code N` on stderr and the exit status is 1.",
    )
    _dir_option(run)
    run.add_argument("host")
    run.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: one raw command line, or several words (an argv)",
    )
    run.set_defaults(func=_exec)

    fault = actions.add_parser("fault", help="set or clear a fault on a host")
    _dir_option(fault)
    fault.add_argument("host")
    fault.add_argument("spec", help="drop-after=N, http500=N, hang=SECONDS, refuse or clear")
    fault.set_defaults(func=_fault)


def _dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, type=Path, help="the lab directory")


def _fleet_options(parser: argparse.ArgumentParser) -> None:
    _dir_option(parser)
    parser.add_argument("--hosts", type=int, default=3, help="MailSite servers (default 3)")
    parser.add_argument(
        "--workstations", type=int, default=None, help="workstations (default hosts/4, at least 1)"
    )
    parser.add_argument("--mailboxes", type=int, default=20, help="mailboxes per server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--transport", choices=("winrm", "ssh", "both"), default="both")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="emulated RTT per request")


def _fleet_argv(args: argparse.Namespace) -> list[str]:
    argv = [
        "--dir",
        str(args.dir),
        "--hosts",
        str(args.hosts),
        "--mailboxes",
        str(args.mailboxes),
        "--seed",
        str(args.seed),
        "--transport",
        args.transport,
        "--latency-ms",
        str(args.latency_ms),
    ]
    if args.workstations is not None:
        argv += ["--workstations", str(args.workstations)]
    return argv


def _running_lab(directory: Path) -> int | None:
    """The pid of a lab answering in DIR, or None."""
    from remediate.lab.control import CONTROL_FILE, LabClient

    if not (directory / CONTROL_FILE).exists():
        return None
    try:
        return int(LabClient.open(directory).call("ping", timeout=5.0)["pid"])
    except InputError:
        return None


def _up(args: argparse.Namespace) -> int:
    from remediate.lab.fleet import check_args

    workstations = max(1, args.hosts // 4) if args.workstations is None else args.workstations
    check_args(args.hosts, workstations, args.mailboxes, args.transport, args.latency_ms)
    directory = args.dir.resolve()
    pid = _running_lab(directory)
    if pid is not None:
        raise InputError(f"a lab is already running in {directory} (pid {pid})")
    if args.detach:
        return _detach(args, directory)
    print(f"lab: starting in {directory} (Ctrl-C stops it)", file=sys.stderr)
    return _serve(args)


def _detach(args: argparse.Namespace, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    ready = directory / READY_FILE
    with contextlib.suppress(OSError):
        ready.unlink()
    with open(directory / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "remediate", "lab", "serve", *_fleet_argv(args)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120 + (args.hosts + (args.workstations or 0)) * 0.5
    while not ready.exists():
        if process.poll() is not None:
            raise InputError(f"the lab did not start: {_last_log_line(directory)}")
        if time.monotonic() > deadline:
            process.terminate()
            raise InputError(f"the lab did not come up in time (see {directory / LOG_FILE})")
        time.sleep(0.05)
    _print_summary(directory, process.pid)
    return 0


def _last_log_line(directory: Path) -> str:
    try:
        lines = (directory / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    return next((line for line in reversed(lines) if line.strip()), "no log")


def _print_summary(directory: Path, pid: int) -> None:
    info = json.loads((directory / "lab.json").read_text(encoding="utf-8"))
    print(f"lab: {len(info['ports'])} hosts up in {directory} (pid {pid})")
    print(f"inventory: {directory / 'inventory.yml'}")


def _serve(args: argparse.Namespace) -> int:
    """Run the fleet and its control endpoint in this process until down, SIGTERM or Ctrl-C."""
    from remediate.lab.control import ControlServer
    from remediate.lab.fleet import Fleet

    directory = args.dir.resolve()
    fleet = Fleet.start(
        directory,
        hosts=args.hosts,
        workstations=args.workstations,
        mailboxes=args.mailboxes,
        seed=args.seed,
        transport=args.transport,
        latency_ms=args.latency_ms,
    )
    control = ControlServer(fleet, directory)
    signal.signal(signal.SIGTERM, lambda *_: control.stop_requested.set())
    try:
        control.start()
        (directory / READY_FILE).write_text(str(os.getpid()), encoding="ascii")
        _print_summary(directory, os.getpid())
        while not control.stop_requested.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(OSError):
            (directory / READY_FILE).unlink()
        control.stop()
        fleet.stop()
    print("lab: stopped", file=sys.stderr)
    return 0


def _down(args: argparse.Namespace) -> int:
    from remediate.lab.control import LabClient
    from remediate.processes import pid_alive

    client = LabClient.open(args.dir)
    client.call("down")
    deadline = time.monotonic() + 30
    while pid_alive(client.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"lab: stopped the lab in {args.dir}")
    return 0


def _state(args: argparse.Namespace) -> int:
    from remediate.lab.control import LabClient

    state = LabClient.open(args.dir).call("state", host=args.host)["state"]
    print(json.dumps(state, indent=2, sort_keys=True))
    return 0


def _exec(args: argparse.Namespace) -> int:
    from remediate.lab.control import LabClient

    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise InputError("lab exec: give the command after `--`")
    reply = LabClient.open(args.dir).call("exec", host=args.host, command=exec_line(words))
    sys.stdout.flush()
    sys.stdout.buffer.write(base64.b64decode(reply["stdout"]))
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(base64.b64decode(reply["stderr"]))
    sys.stderr.buffer.flush()
    rc = int(reply["rc"])
    if not 0 <= rc <= 255:
        print(f"remediate lab exec: exit code {rc}", file=sys.stderr)
        return 1
    return rc


def exec_line(words: list[str]) -> str:
    """The `cmd /c` text for `lab exec`: one word as typed, several quoted as an argv.

    The argv goes through `quote_argv("cmd", ...)`. A plain first word (letters, digits,
    `.-_`) is left bare, so built-ins such as `type` and `dir` still work (a quoted name
    is never a built-in) and `msbox` is found on PATH either way. cmd /c drops a leading
    quote and the last quote of its text unless the text is exactly one quoted program
    path, so a line that starts with a quote is wrapped in one more pair for it to drop:
    the quoted program and any escaped quote in the arguments survive.
    """
    from remediate.transport.quoting import quote_argv

    if len(words) == 1:
        return words[0]
    try:
        line = quote_argv("cmd", words)
    except InputError as exc:  # UnsafeArgument: NUL, CR, LF or a bad program path
        raise InputError(f"lab exec: {exc.message}") from None
    program = words[0]
    if _PLAIN_WORD.fullmatch(program) and line.startswith(f'"{program}"'):
        return program + line[len(program) + 2 :]
    return f'"{line}"'


def _fault(args: argparse.Namespace) -> int:
    from remediate.lab.control import LabClient
    from remediate.lab.faults import FaultSpec

    FaultSpec.parse(args.spec)
    reply = LabClient.open(args.dir).call("fault", host=args.host, spec=args.spec)
    armed = ", ".join(f"{k}={v}" for k, v in sorted(reply["faults"].items()))
    print(f"{args.host}: {armed}")
    return 0
