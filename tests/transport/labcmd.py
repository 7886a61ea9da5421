"""A lab Windows host with an argv-echo program, to check quoting against the lab's cmd parser."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest

from remediate.lab import host as labhost
from remediate.lab.host import LabHost, install_windows
from remediate.lab.state import HostState, ProgramResult

ARGV_EXE = "C:\\Program Files (x86)\\Tools & Co\\argv.exe"


class ArgvRecorder:
    """`argv.exe`: records every argv it is started with and prints it as JSON."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, state: HostState, argv: list[str]) -> ProgramResult:
        self.calls.append(list(argv))
        return ProgramResult(0, json.dumps(argv[1:]) + "\r\n")


@contextlib.contextmanager
def argv_host() -> Iterator[tuple[LabHost, ArgvRecorder]]:
    """A lab workstation whose PROGRAMS include argv.exe at ARGV_EXE (for the block only)."""
    recorder = ArgvRecorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(labhost.PROGRAMS, "argv.exe", recorder)
        yield _workstation(), recorder


def _workstation() -> LabHost:
    state = HostState("ws900", "workstation", "10.0.100.1")
    install_windows(state)
    state.fs.write(ARGV_EXE, b"MZ")
    return LabHost(state)
