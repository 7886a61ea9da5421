"""CLI: `remediate inventory` prints what `ansible-inventory` prints (--list, --graph, --host)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from remediate.inventory import Inventory


def register(sub: Any) -> None:
    """Add this module's subcommands to the top-level parser."""
    parser = sub.add_parser(
        "inventory",
        help="show an Ansible-compatible inventory (like ansible-inventory)",
        description=(
            "Show an inventory the way ansible-inventory does. Secret values (ansible_password, "
            "*_password, *_pass) are masked unless --show-secrets is given."
        ),
    )
    parser.add_argument(
        "-i",
        "--inventory",
        action="append",
        required=True,
        metavar="INV",
        help="inventory file or directory (repeat to merge several, in order)",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="all groups and host vars as JSON")
    action.add_argument("--graph", action="store_true", help="the group tree as text")
    action.add_argument("--host", metavar="NAME", help="one host's variables as JSON")
    parser.add_argument(
        "group", nargs="?", default="all", help="with --graph: the group to start at (default all)"
    )
    parser.add_argument(
        "-l",
        "--limit",
        metavar="PATTERN",
        help="with --list: only hosts matching PATTERN (@FILE reads patterns from a file)",
    )
    parser.add_argument(
        "--show-secrets", action="store_true", help="print secret values instead of ********"
    )
    parser.set_defaults(func=run_inventory)


def run_inventory(args: argparse.Namespace) -> int:
    inventory = Inventory.load(args.inventory)
    if args.graph:
        # ansible-inventory ignores --limit for --graph; so do we.
        _write(inventory.graph(args.group))
    elif args.host is not None:
        _write(_dump(inventory.host_json(args.host, show_secrets=args.show_secrets)))
    else:
        if args.limit is not None:
            inventory = inventory.filter("all", limit=args.limit)
        _write(_dump(inventory.list_json(show_secrets=args.show_secrets)))
    return 0


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False)


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")
