"""The runs directory: one folder per run with run.json and the journal, private to the owner."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from remediate.engine.journal import JOURNAL_NAME, Journal, Record, fsync_dir, open_private
from remediate.engine.journal import read_journal as _read_journal
from remediate.errors import InputError, JournalCorrupt

RUN_FILE = "run.json"
ENV_RUNS_DIR = "REMEDIATE_RUNS_DIR"


def runs_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--runs-dir, else $REMEDIATE_RUNS_DIR, else ./runs."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(ENV_RUNS_DIR) or "runs")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


@attrs.frozen
class RunInfo:
    """What run.json says about a run."""

    run_id: str
    path: Path
    meta: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", "apply"))

    def journal(self) -> list[Record]:
        """The run's records; JournalCorrupt if damaged or shorter than when it finished."""
        journal = self.path / JOURNAL_NAME
        summary = self.meta.get("summary")
        expected = summary.get("journal_records") if isinstance(summary, dict) else None
        if not journal.exists():
            if expected:
                raise JournalCorrupt(f"{journal}: missing, but its run wrote {expected} records")
            return []
        return _read_journal(journal, expected if isinstance(expected, int) else None)


class Runs:
    """Creates and finds runs under one root directory."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = runs_root(root)

    def create(self, kind: str, meta: Mapping[str, Any]) -> tuple[RunInfo, Journal]:
        run_id = new_run_id()
        path = self.root / run_id
        try:
            _private_dir(self.root)
            _private_dir(path)
        except OSError as exc:
            raise InputError(
                f"cannot use the runs directory {self.root}: "
                f"{exc.strerror or exc} (set --runs-dir or "
                f"${ENV_RUNS_DIR})"
            ) from None
        body = {
            "run_id": run_id,
            "kind": kind,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "user": _who(),
            "control_host": socket.gethostname(),
            "pid": os.getpid(),
            **meta,
        }
        _write_private_json(path / RUN_FILE, body)
        fsync_dir(self.root)
        return RunInfo(run_id, path, body), Journal(path, run_id)

    def finish(self, info: RunInfo, summary: Mapping[str, Any]) -> None:
        body = dict(info.meta)
        body["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body["summary"] = dict(summary)
        _write_private_json(info.path / RUN_FILE, body)

    def get(self, run_id: str) -> RunInfo:
        path = self.root / run_id
        if "/" in run_id or run_id.startswith(".") or not (path / RUN_FILE).is_file():
            known = ", ".join(r.run_id for r in self.list()[-3:]) or "none"
            raise InputError(f"no run {run_id!r} in {self.root} (latest: {known})")
        meta = _read_meta(path / RUN_FILE)
        if "damaged" in meta:
            raise InputError(str(meta["damaged"]), str(path / RUN_FILE))
        return RunInfo(run_id, path, meta)

    def list(self) -> list[RunInfo]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if (path / RUN_FILE).is_file():
                found.append(RunInfo(path.name, path, _read_meta(path / RUN_FILE)))
        return found


def _read_meta(path: Path) -> dict[str, Any]:
    """run.json as a mapping; a damaged one says so under "damaged" instead of vanishing."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"damaged": f"run.json cannot be read: {exc}"}
    if not isinstance(meta, dict):
        return {"damaged": "run.json is not a JSON object"}
    return meta


def _write_private_json(path: Path, body: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
