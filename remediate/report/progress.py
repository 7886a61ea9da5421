"""A progress bar over hosts, fed by run events, shown only on a terminal."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from remediate.engine.events import Event


class HostProgress:
    """An event sink: a bar per play advancing as hosts finish."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stdout.isatty() if enabled is None else enabled
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            transient=True,
            disable=not self.enabled,
        )
        self._task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if event.kind in ("play.started", "run.started") and event.total is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(
                event.message or "hosts", total=event.total, last=""
            )
        elif event.kind == "host.finished" and self._task is not None:
            self._progress.update(
                self._task,
                advance=1,
                last=f"{event.host}: {event.status}",
            )

    def __enter__(self) -> HostProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)
