"""Which tasks of a play run under --tags / --skip-tags, with Ansible's exact rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
