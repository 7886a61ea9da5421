"""Run events (run, host and change started/finished) and the sinks that receive them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from remediate.secrets import mask_dict


@attrs.frozen
class Event:
    """Something that happened during a run, for progress displays and logs."""

    # run.started | run.finished | play.started | host.started | host.finished |
    # change.started | change.finished
    kind: str
    run: str | None = None
    host: str | None = None
    address: str | None = None
    status: str | None = None
    message: str | None = None
    total: int | None = None
    time: float = attrs.field(factory=time.time)

    def to_json(self) -> dict[str, Any]:
        body = {k: v for k, v in attrs.asdict(self).items() if v is not None}
        return mask_dict(body)


EventSink = Callable[[Event], None]


class Emitter:
    """Fans events out to every sink; a sink that fails never breaks the run."""

    def __init__(self, sinks: Sequence[EventSink | None] = (), run: str | None = None) -> None:
        self._sinks = [s for s in sinks if s is not None]
        self._lock = threading.Lock()
        self.run = run

    def __call__(self, kind: str, **fields: Any) -> None:
        event = Event(kind=kind, run=self.run, **fields)
        with self._lock:
            for sink in self._sinks:
                try:
                    sink(event)
                except Exception:  # noqa: BLE001 - a display problem must not stop a change
                    continue


class JsonLinesSink:
    """Writes one JSON object per event to a file (--events FILE)."""

    def __init__(self, path: str | Path) -> None:
        self._handle: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def __call__(self, event: Event) -> None:
        self._handle.write(json.dumps(event.to_json(), sort_keys=True) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
