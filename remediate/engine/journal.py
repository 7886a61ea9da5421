"""The write-ahead rollback journal: append-only JSON lines, fsynced, checksum-chained."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from remediate.errors import JournalCorrupt

JOURNAL_NAME = "journal.jsonl"
GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """The one JSON spelling of a value (sorted keys, no spaces) that checksums are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _checksum(previous: str, record: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical(record)).encode()).hexdigest()


@attrs.frozen
class Record:
    """One journal line: an intent before a remote write, or its outcome after."""

    seq: int
    run: str
    host: str
    address: str
    phase: str  # "intent" | "outcome"
    before: Any
    after: Any
    time: str
    status: str | None = None  # outcome only: "applied" | "reverted" | "failed"
    error: str | None = None
    change: Mapping[str, Any] = attrs.field(factory=dict)  # the Change as planned
    task: Mapping[str, Any] = attrs.field(factory=dict)  # type, args, play, index


def open_private(path: Path, flags: int) -> int:
    """Open a file that only the owner may read (0600), whatever the umask."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Appends records durably: each `append` returns only after fsync."""

    def __init__(self, directory: Path, run_id: str) -> None:
        self.path = directory / JOURNAL_NAME
        self.run_id = run_id
        self._lock = threading.Lock()
        if self.path.exists():
            _drop_torn_tail(self.path)
        bodies = list(_iter_checked(self.path)) if self.path.exists() else []
        self._seq = int(bodies[-1]["seq"]) if bodies else 0
        self._last_sum = str(bodies[-1]["sum"]) if bodies else GENESIS
        self._fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        fsync_dir(directory)

    def record_intent(
        self, host: str, change: Mapping[str, Any], task: Mapping[str, Any], before: Any, after: Any
    ) -> Record:
        return self._append(host, change, task, "intent", before, after, None, None)

    def record_outcome(
        self,
        host: str,
        change: Mapping[str, Any],
        task: Mapping[str, Any],
        before: Any,
        after: Any,
        status: str,
        error: str | None = None,
    ) -> Record:
        return self._append(host, change, task, "outcome", before, after, status, error)

    def _append(
        self,
        host: str,
        change: Mapping[str, Any],
        task: Mapping[str, Any],
        phase: str,
        before: Any,
        after: Any,
        status: str | None,
        error: str | None,
    ) -> Record:
        with self._lock:
            self._seq += 1
            record = Record(
                seq=self._seq,
                run=self.run_id,
                host=host,
                address=str(change["address"]),
                phase=phase,
                before=before,
                after=after,
                time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                status=status,
                error=error,
                change=dict(change),
                task=dict(task),
            )
            body = attrs.asdict(record)
            body["sum"] = _checksum(self._last_sum, body)
            line = (canonical(body) + "\n").encode()
            os.write(self._fd, line)
            os.fsync(self._fd)
            self._last_sum = body["sum"]
            return record

    @property
    def records(self) -> int:
        """How many records this journal holds."""
        return self._seq

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _parse_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, complete) for every line; the last may be torn (no newline)."""
    data = path.read_bytes().decode("utf-8", errors="replace")
    lines = data.split("\n")
    last = len(lines) - 1
    for number, text in enumerate(lines, start=1):
        if text == "" and number - 1 == last:
            continue
        yield number, text, number - 1 != last


def _iter_checked(path: Path) -> Iterator[dict[str, Any]]:
    previous = GENESIS
    entries = list(_parse_lines(path))
    for position, (number, text, complete) in enumerate(entries):
        is_last = position == len(entries) - 1
        try:
            body = json.loads(text)
            stored = body.pop("sum")
            valid = isinstance(body, dict) and stored == _checksum(previous, body)
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = False
        if is_last and not complete:
            return  # a torn last line: the write in flight never got its newline
        if not valid:
            raise JournalCorrupt(
                f"{path}:{number}: journal record is damaged (checksum chain broken); "
                "refusing to use this journal"
            )
        previous = stored
        body["sum"] = stored
        yield body


def read_journal(path: Path, expected: int | None = None) -> list[Record]:
    """Every intact record in order. A torn last line (no newline: the write in flight at a
    crash) is ignored; any other damage raises, and so does a journal shorter than
    `expected`, the count its run recorded when it finished."""
    records = []
    for body in _iter_checked(path):
        body.pop("sum", None)
        try:
            records.append(Record(**body))
        except TypeError:
            raise JournalCorrupt(
                f"{path}:{len(records) + 1}: journal record has unknown "
                "fields; refusing to use this journal"
            ) from None
    if expected is not None and len(records) < expected:
        raise JournalCorrupt(
            f"{path}: holds {len(records)} records but its run finished with "
            f"{expected}; records were removed, refusing to use this journal"
        )
    return records


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that never got its newline, so new records start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
