"""Arguments shared by the commands that select hosts and tasks of a playbook."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def add_selection(p: argparse.ArgumentParser) -> None:
    """PLAYBOOK -i INV [-l LIMIT] [-t TAGS] [--skip-tags TAGS] [-e KEY=VALUE]."""
    p.add_argument("playbook", metavar="PLAYBOOK")
    p.add_argument(
        "-i",
        "--inventory",
        action="append",
        required=True,
        metavar="INV",
        help="inventory file or directory (repeat to merge, in order)",
    )
    p.add_argument(
        "-l", "--limit", metavar="PATTERN", help="further limit hosts (pattern, or @file of names)"
    )
    p.add_argument(
        "-t",
        "--tags",
        action="append",
        default=[],
        metavar="TAGS",
        help="only tasks with these tags (a,b; repeatable)",
    )
    p.add_argument(
        "--skip-tags",
        action="append",
        default=[],
        metavar="TAGS",
        help="skip tasks with these tags (a,b; repeatable)",
    )
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra variables: KEY=VALUE, a YAML mapping, or @file.yml (repeatable)",
    )


def split_words(values: Sequence[str]) -> tuple[str, ...]:
    """Tags given as `-t a,b -t c`."""
    return tuple(word.strip() for value in values for word in value.split(",") if word.strip())
