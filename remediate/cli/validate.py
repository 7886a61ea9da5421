"""CLI: `remediate validate` loads a playbook and inventory, renders every task, lists hosts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from remediate.cli.common import add_selection, split_words
from remediate.engine.core import select_hosts
from remediate.engine.hostwork import resolve_settings
from remediate.errors import EXIT_OK, InputError
from remediate.model import Host
from remediate.playbook import (
    Play,
    Playbook,
    TaskCall,
    check_tags,
    groups_from_inventory_json,
    parse_extra_vars,
    render_hosts,
    render_task,
    select_tasks,
)
from remediate.tasks import default_registry


def register(sub: Any) -> None:
    """Add this module's subcommands to the top-level parser."""
    parser = sub.add_parser(
        "validate",
        help="check a playbook against an inventory without connecting to any host",
        description="Load the playbook and inventory, render every task's arguments for "
        "every matched host, and print each play with its hosts. Exit 0 when valid, "
        "5 with one 'path:line:col: message' line when not.",
    )
    add_selection(parser)
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from remediate.inventory import Inventory

    extra_vars = parse_extra_vars(args.extra_vars)
    registry = default_registry()
    playbook = Playbook.load(args.playbook, registry)
    inventory = Inventory.load(list(args.inventory))
    listing = inventory.list_json()
    if isinstance(listing, str):
        listing = json.loads(listing)
    groups = groups_from_inventory_json(listing)
    tags, skip_tags = split_words(args.tags), split_words(args.skip_tags)
    check_tags(playbook.plays, tags, skip_tags)
    lines = [f"playbook: {playbook.path}"]
    all_hosts: set[str] = set()
    rendered = 0
    for number, play in enumerate(playbook.plays, 1):
        pattern = render_hosts(play, extra_vars)
        hosts: list[Host] = list(select_hosts(inventory, play, pattern, args.limit))
        calls = select_tasks(play, tags, skip_tags)
        for host in hosts:
            resolve_settings(host, extra_vars)  # connection variables hold, as plan needs
            for call in calls:
                render_task(call, play, host, registry, extra_vars, groups)
                rendered += 1
        all_hosts.update(host.name for host in hosts)
        lines.extend(_describe(number, play, pattern, hosts, calls))
    if args.limit is not None and not all_hosts:
        raise InputError(f"--limit {args.limit!r} leaves no hosts to target")
    if not all_hosts:
        raise InputError("no play matches any host of the inventory", str(playbook.path))
    plays = len(playbook.plays)
    lines.append("")
    lines.append(
        f"valid: {plays} play{'s' * (plays != 1)}, {len(all_hosts)} host"
        f"{'s' * (len(all_hosts) != 1)}, {rendered} task{'s' * (rendered != 1)} rendered"
    )
    print("\n".join(lines))
    return EXIT_OK


def _describe(
    number: int, play: Play, pattern: str, hosts: list[Host], calls: list[TaskCall]
) -> list[str]:
    """One play in the shape of `ansible-playbook --list-hosts --list-tasks`."""
    lines = ["", f"  play #{number} ({pattern}): {play.name}{_tags(play.tags)}"]
    lines.append(f"    hosts ({len(hosts)}):")
    lines.extend(f"      {host.name}" for host in hosts)
    if not hosts:
        lines.append("      (no host matches; this play would do nothing)")
    lines.append(f"    tasks ({len(calls)}):")
    lines.extend(f"      {call.name} ({call.type_name}){_tags(call.tags)}" for call in calls)
    return lines


def _tags(tags: Sequence[str]) -> str:
    return f"    TAGS: [{', '.join(tags)}]" if tags else ""
