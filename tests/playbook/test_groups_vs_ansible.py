"""The `groups` magic variable equals ansible-core's for the same inventory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.playbook import groups_from_inventory_json

INVENTORY = """\
mail00.example.com

[mailservers]
mail01.example.com
mail02.example.com

[gateways]
gw01

[europe:children]
mailservers
dmz

[dmz]
gw01

[empty]
"""


def ansible(tool: str, *args: str, tmp_path: Path) -> str:
    binary = Path(sys.executable).parent / tool
    if not binary.exists() and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    env = {**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path), "ANSIBLE_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(binary if binary.exists() else tool), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    return result.stdout


@pytest.mark.slow
def test_groups_match_ansible(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(INVENTORY, encoding="utf-8")
    listing = json.loads(
        ansible("ansible-inventory", "-i", str(inventory), "--list", tmp_path=tmp_path)
    )
    out = ansible(
        "ansible",
        "gw01",
        "-i",
        str(inventory),
        "-m",
        "debug",
        "-a",
        "var=groups",
        tmp_path=tmp_path,
    )
    expected = json.loads(out[out.index("{") :])["groups"]
    assert groups_from_inventory_json(listing) == expected
