"""What a task type is (DESIGN.md section 4) and the registry that names them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from remediate.model import Change, Finding, Host
from remediate.transport.base import CommandResult, Connection


class ArgumentError(ValueError):
    """A task argument is wrong. `key` names the argument (None: the whole mapping)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class Fact(Protocol):
    """A read of remote state, gathered by the engine in one batch per host.

    `key` identifies the fact so that tasks asking for the same one share it.
    `commands` are sent in the host's batch; `process` turns their results into a
    plain value. `refine` may ask for a second batch when the first could not say
    everything (return no commands when it did); `process_refined` folds it in.
    """

    key: str

    def commands(self, host: Host) -> Sequence[str]: ...

    def process(self, host: Host, results: Sequence[CommandResult]) -> Any: ...

    def refine(self, host: Host, value: Any) -> Sequence[str]: ...

    def process_refined(self, host: Host, value: Any, results: Sequence[CommandResult]) -> Any: ...


Facts = Mapping[str, Any]


class Task(Protocol):
    """One configured task (its arguments already rendered for a host)."""

    name: ClassVar[str]
    argument_names: ClassVar[frozenset[str]]

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Task:
        """Validate arguments; raise ArgumentError naming the bad key."""
        ...

    def facts(self, host: Host) -> Sequence[Fact]: ...

    def plan(self, host: Host, facts: Facts) -> Iterable[Change | Finding]:
        """Pure: facts in, Changes and Findings out."""
        ...

    def relevant(self, host: Host, facts: Facts) -> Any:
        """The JSON view of the facts this task's plan depends on, and nothing else.

        The engine hashes it into every Change's fingerprint, so a saved plan goes
        stale exactly when this view moves. It must hold no secret (a hash of a
        weak password is a leak too).
        """
        ...

    def apply(self, conn: Connection, host: Host, change: Change) -> None:
        """Ensure the change's `after` state on the host."""
        ...

    def revert(self, conn: Connection, host: Host, change: Change) -> None:
        """Ensure the change's `before` state on the host."""
        ...


@runtime_checkable
class PipelinedWrites(Protocol):
    """Optional for a task whose apply and revert are each exactly one command.

    The engine then journals every intent of a host, sends all the writes in ONE round
    trip, and journals each outcome from its own result. `apply`/`revert` must do the
    same as `check_write(conn.run(write_command(...)))`.
    """

    def write_command(self, host: Host, change: Change, revert: bool) -> str:
        """The one command that ensures `after` (or `before` when reverting)."""
        ...

    def check_write(self, host: Host, change: Change, result: CommandResult, revert: bool) -> None:
        """Raise HostFailed (never echoing a secret) if the write did not succeed."""
        ...


@runtime_checkable
class ObservedChanges(Protocol):
    """Optional: a task that can read, from facts, the value a change's address holds now.

    Rollback then reverts a change only while the host still holds its `after`; a value
    moved since by someone else is left alone and reported, and an in-flight change is
    resolved exactly (applied when the host holds `after`).
    """

    def observe(self, host: Host, facts: Facts, change: Change) -> Any:
        """The current value in the form of `before`/`after` (None: not set)."""
        ...


@attrs.define
class TaskRegistry:
    """Task types by name. An instance, so tests and plug-ins can build their own."""

    _types: dict[str, type[Task]] = attrs.field(factory=dict)

    def register(self, task_type: type[Task]) -> type[Task]:
        if task_type.name in self._types:
            raise ValueError(f"task type {task_type.name!r} is registered twice")
        self._types[task_type.name] = task_type
        return task_type

    def get(self, name: str) -> type[Task] | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def closest(self, name: str) -> str | None:
        """The registered name most like `name`, for 'did you mean' messages."""
        matches = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.5)
        return matches[0] if matches else None


def closest_word(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None
