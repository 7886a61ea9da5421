"""Seeded generator of odd-but-plausible INI/YAML inventories and host patterns (test helper)."""

from __future__ import annotations

import json
import random
from typing import Any

import yaml

HOSTS = [
    "web",
    "db",
    "all",
    "ungrouped",
    "h1",
    "h2",
    "mail[1:3]",
    "x[a:c]",
    "h1:22",
    "10.0.0.[1:2]",
    "g-1",
    "g.1",
    "web*",
    "[::1]:22",
    "fe80::1",
    "h[01:02]",
    "a[1:2]b[1:2]",
    "h[1:3:2]",
    "h[3:1]",
]
GROUPS = ["web", "db", "all", "ungrouped", "g-1", "p", "c"]
VALUES = [
    "1",
    "-2",
    "0x1f",
    "1.5",
    "True",
    "None",
    "[1, 2",
    "[1, 'a']",
    "{'a': 1}",
    "'quoted'",
    '"dq"',
    "1+2j",
    "...",
    "",
    "a=b",
    "(1,)",
    "yes",
    "hello world",
    "{'k': [1, {'n': None}]}",
    "1_0",
    "b'x'",
]
KEYS = ["x", "y", "ansible_port", "ansible_password", "ansible_group_priority", "x.y", "z"]
PATTERN_ATOMS = [
    "all",
    "*",
    "web",
    "db",
    "p",
    "c",
    "h1",
    "ungrouped",
    "~h[12]",
    "*.1",
    "mail*",
    "h?",
    "web[0]",
    "db[1:]",
    "x[a:c]",
    "g-1",
    "nothing",
]


class InventoryGenerator:
    """Deterministic random inventories: same seed, same files."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def ini(self) -> str:
        r = self.random
        lines = []
        for _ in range(r.randint(0, 14)):
            roll = r.random()
            if roll < 0.25:
                lines.append(f"[{r.choice(GROUPS)}{r.choice(['', ':vars', ':children', ''])}]")
            elif roll < 0.65:
                pairs = " ".join(self._assignment() for _ in range(r.randint(0, 2)))
                lines.append(f"{r.choice(HOSTS)} {pairs}".strip())
            elif roll < 0.85:
                key = r.choice(KEYS)
                value = r.choice(["1", "5", "x", "-1"]) if "priority" in key else r.choice(VALUES)
                lines.append(f"{key}={value}")
            else:
                lines.append(r.choice(["# c", "; c", "p", "c", "web", "db"]))
        return "\n".join(lines) + "\n"

    def _assignment(self) -> str:
        value = self.random.choice(VALUES)
        quoted = json.dumps(value) if self.random.random() < 0.3 else value.replace(" ", "")
        return f"{self.random.choice(KEYS)}={quoted}"

    def yaml(self) -> str:
        r = self.random
        document = {r.choice(GROUPS): self._group(0) for _ in range(r.randint(1, 4))}
        return yaml.safe_dump(document)

    def _scalar(self) -> Any:
        return self.random.choice([None, True, 1, "s", "a b", 2.5, [1, 2], {"n": 1}, "", 0])

    def _group(self, depth: int) -> dict[str, Any] | None:
        r = self.random
        group: dict[str, Any] = {}
        for key in r.sample(["hosts", "vars", "children", "other"], r.randint(0, 3)):
            if key == "hosts":
                hosts = {r.choice(HOSTS): self._host_vars() for _ in range(r.randint(0, 3))}
                group["hosts"] = r.choice([r.choice(HOSTS), hosts])
            elif key == "vars":
                group["vars"] = {r.choice(KEYS): self._var() for _ in range(r.randint(0, 3))}
            elif key == "children" and depth < 3:
                children = {
                    r.choice(GROUPS[:2] + GROUPS[3:]): (
                        self._group(depth + 1) if r.random() < 0.8 else None
                    )
                    for _ in range(r.randint(0, 3))
                }
                group["children"] = r.choice([r.choice(["web", "db", "p"]), children])
            elif key == "other":
                group["other"] = self._scalar()
        return group if group or r.random() < 0.5 else None

    def _host_vars(self) -> Any:
        return self.random.choice([None, {self.random.choice(KEYS): self._scalar()}, {}])

    def _var(self) -> Any:
        return self.random.choice([1, 5, "2"]) if self.random.random() < 0.2 else self._scalar()

    def pattern(self) -> str:
        r = self.random
        prefixes = ["", "", "!", "&"]
        parts = [r.choice(prefixes) + r.choice(PATTERN_ATOMS) for _ in range(r.randint(1, 3))]
        return r.choice([":", ","]).join(parts)

    def vars_files(self) -> dict[str, str]:
        """Some group_vars/ and host_vars/ files (relative path -> YAML text), maybe none."""
        r = self.random
        files: dict[str, str] = {}
        for _ in range(r.randint(0, 4)):
            kind, names = r.choice([("group_vars", GROUPS + ["all"]), ("host_vars", HOST_NAMES)])
            name = r.choice(names)
            suffix = r.choice(["", ".yml", ".yaml", ".json", "/10.yml", "/20"])
            # Few keys, so files for different groups often compete for the same variable.
            variables = {r.choice(["x", "y"]): self._scalar() for _ in range(2)}
            files[f"{kind}/{name}{suffix}"] = yaml.safe_dump(variables)
        return files


HOST_NAMES = ["web", "db", "h1", "h2", "mail1", "xa", "g.1", "10.0.0.1", "fe80::1", "h01"]
