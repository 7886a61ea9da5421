"""Which tasks of a play run under --tags / --skip-tags, with Ansible's exact rules."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from remediate.errors import InputError
from remediate.playbook.loader import Play, TaskCall

UNTAGGED = frozenset({"untagged"})


def effective_tags(play: Play, call: TaskCall) -> frozenset[str]:
    """A task's own tags plus the tags it inherits from its play."""
    return frozenset(play.tags) | frozenset(call.tags)


def should_run(
    tags: frozenset[str], only_tags: Iterable[str] = ("all",), skip_tags: Iterable[str] = ()
) -> bool:
    """Ansible's Taggable.evaluate_tags: 'always', 'never', 'all', 'tagged', 'untagged'."""
    only = frozenset(only_tags)
    skip = frozenset(skip_tags)
    tags = tags or UNTAGGED
    run = True
    if only:
        run = (
            "always" in tags
            or ("all" in only and "never" not in tags)
            or not tags.isdisjoint(only)
            or ("tagged" in only and tags != UNTAGGED and "never" not in tags)
        )
    if run and skip:
        if "all" in skip:
            run = "always" in tags and "always" not in skip
        elif not tags.isdisjoint(skip) or ("tagged" in skip and tags != UNTAGGED):
            run = False
    return run


def select_tasks(
    play: Play, tags: Sequence[str] = (), skip_tags: Sequence[str] = ()
) -> list[TaskCall]:
    """The play's tasks that run for these --tags (none means 'all') and --skip-tags."""
    only = tuple(tags) or ("all",)
    return [call for call in play.tasks if should_run(effective_tags(play, call), only, skip_tags)]


SPECIAL_TAGS = frozenset({"all", "tagged", "untagged", "always", "never"})


def check_tags(plays: Sequence[Play], tags: Sequence[str], skip_tags: Sequence[str]) -> None:
    """Refuse a --tags/--skip-tags name no play or task carries: a typo would otherwise select
    nothing, and an empty plan reads as a clean fleet."""
    known = {tag for play in plays for tag in play.tags}
    known |= {tag for play in plays for call in play.tasks for tag in call.tags}
    for flag, names in (("--tags", tags), ("--skip-tags", skip_tags)):
        for name in names:
            if name in known or name in SPECIAL_TAGS:
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(sorted(known)) or "none"
            raise InputError(
                f"{flag}: no play or task has the tag {name!r}{hint} "
                f"(tags in this playbook: {listing})"
            )
