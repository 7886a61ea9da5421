"""Bad input lines are echoed back without their secrets, and alias bombs are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "S3cr3t-Canary-91"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remediate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "text",
    [
        f"[g:vars]\nansible_password {CANARY}\n[g]\nh1\n",
        f'[g]\nmail001 ansible_password="{CANARY} more\n',
    ],
)
def test_a_bad_inventory_line_is_shown_without_its_secret(tmp_path: Path, text: str) -> None:
    inventory = tmp_path / "bad.ini"
    inventory.write_text(text)
    done = run_cli("inventory", "-i", str(inventory), "--list")
    assert done.returncode == 5
    assert done.stderr.startswith(f"{inventory}:")
    assert CANARY not in done.stdout + done.stderr


def test_a_bad_extra_var_keeps_its_reason_but_not_its_secret(tmp_path: Path) -> None:
    done = run_cli(
        "validate",
        "playbooks/keep-off-blacklists.yml",
        "-i",
        "inventories",
        "-e",
        f'ansible_password="{CANARY}',
    )
    assert done.returncode == 5
    assert "No closing quotation" in done.stderr and CANARY not in done.stderr


def test_an_alias_bomb_in_an_inventory_is_refused_at_once(tmp_path: Path) -> None:
    levels = ['    a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        levels.append(f"    a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    inventory = tmp_path / "bomb.yml"
    inventory.write_text("all:\n  vars:\n" + "\n".join(levels) + "\n  hosts:\n    x: {}\n")
    done = run_cli("inventory", "-i", str(inventory), "--list")
    assert done.returncode == 5
    assert "too large once aliases are expanded" in done.stderr
