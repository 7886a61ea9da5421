"""Random differential test: generated inventories give ansible-core's answers, or fail in both.

A fixed seed keeps it reproducible. Cases have one or two sources, each with random group_vars/
and host_vars/ files beside it; every case is compared on --list (JSON, merged host vars), --graph
(text) and a few host patterns (`ansible PATTERN --list-hosts` order).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from remediate.errors import InputError
from remediate.inventory import Inventory
from tests.inventory.random_inventories import InventoryGenerator
from tests.inventory.test_differential import ANSIBLE_BIN, HERE, ansible_env

SEED = 20261127
COUNT = 160
PATTERNS_PER_FILE = 3

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ANSIBLE_BIN.exists(), reason="ansible-core (test extra) not installed"),
]


Case = tuple[list[Path], list[str]]


def _write_cases(root: Path) -> list[Case]:
    """Odd cases: one source; even cases: two sources in two directories, each with vars files."""
    generator = InventoryGenerator(SEED)
    cases = []
    for index in range(COUNT):
        case = root / f"c{index:03d}"
        sources = [_write_source(generator, case / "one", index)]
        if index % 2 == 0:
            sources.append(_write_source(generator, case / "two", index + 1))
        patterns = [generator.pattern() for _ in range(PATTERNS_PER_FILE)]
        cases.append((sources, patterns))
    return cases


def _write_source(generator: InventoryGenerator, directory: Path, index: int) -> Path:
    is_ini = index % 2 == 0
    name, text = ("inv.ini", generator.ini()) if is_ini else ("inv.yml", generator.yaml())
    for relative, content in {name: text, **generator.vars_files()}.items():
        path = directory / relative
        if path.parent.is_file() or path.is_dir():
            continue  # the generator named a file and a directory alike; keep the first
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return directory / name


def _run_ansible(cases: list[Case], home: Path) -> list[dict[str, Any]]:
    jobs = []
    for sources, patterns in cases:
        cwd = str(sources[0].parent.parent)
        inv = [arg for source in sources for arg in ("-i", str(source))]
        jobs.append({"cwd": cwd, "argv": ["ansible-inventory", *inv, "--list"]})
        jobs.append({"cwd": cwd, "argv": ["ansible-inventory", *inv, "--graph"]})
        for pattern in patterns:
            jobs.append({"cwd": cwd, "argv": ["ansible", *inv, pattern, "--list-hosts"]})
    completed = subprocess.run(
        [sys.executable, str(HERE / "ansible_driver.py")],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env=ansible_env(home),
        timeout=120,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def _listed(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("hosts ("))
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


def test_random_inventories_match_ansible(tmp_path: Path) -> None:
    cases = _write_cases(tmp_path / "cases")
    results = iter(_run_ansible(cases, tmp_path / "home"))
    mismatches: list[str] = []
    for sources, patterns in cases:
        path = sources[0].parent.parent
        listed, graphed = next(results), next(results)
        pattern_results = [next(results) for _ in patterns]
        try:
            inventory = Inventory.load([str(source) for source in sources])
        except InputError as exc:
            if listed["rc"] == 0:
                mismatches.append(f"{path}: we refused ({exc}) what ansible accepted")
            continue
        if listed["rc"] != 0:
            mismatches.append(f"{path}: ansible refused what we accepted")
            continue
        ours = json.loads(json.dumps(inventory.list_json(show_secrets=True)))
        if ours != json.loads(listed["stdout"]):
            mismatches.append(f"{path}: --list differs")
        if inventory.graph() + "\n" != graphed["stdout"]:
            mismatches.append(f"{path}: --graph differs")
        for pattern, result in zip(patterns, pattern_results, strict=True):
            _compare_pattern(inventory, path, pattern, result, mismatches)
    assert not mismatches, "\n".join(mismatches[:10])


def _compare_pattern(
    inventory: Inventory, path: Path, pattern: str, result: dict[str, Any], mismatches: list[str]
) -> None:
    try:
        ours = [h.name for h in inventory.select(pattern)]
    except InputError:
        if result["rc"] == 0:
            mismatches.append(f"{path}: pattern {pattern!r} refused by us only")
        return
    if result["rc"] != 0:
        mismatches.append(f"{path}: pattern {pattern!r} refused by ansible only")
    elif ours != _listed(result["stdout"]):
        mismatches.append(f"{path}: pattern {pattern!r} selects {ours}")
