"""`remediate inventory`: what the user sees (stdout, one-line errors, exit codes, masking)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.cli import main

INI = (
    "[mailsite]\nmail1 ansible_password=Tr0ub4dor admin_pass=xyzzy"
    " vault_password=\"{'k': ['plugh']}\"\n[gateways]\ngw1\n"
)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["inventory", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_masks_secrets_unless_asked(
    inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(capsys, "-i", str(inventory), "--list")
    assert rc == 0
    hostvars = json.loads(out)["_meta"]["hostvars"]["mail1"]
    assert hostvars == {
        "ansible_password": "********",
        "admin_pass": "********",
        "vault_password": "********",
    }
    assert "Tr0ub4dor" not in out and "xyzzy" not in out and "plugh" not in out
    rc, out, _ = run(capsys, "-i", str(inventory), "--list", "--show-secrets")
    assert json.loads(out)["_meta"]["hostvars"]["mail1"]["ansible_password"] == "Tr0ub4dor"


def test_graph_and_host(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "-i", str(inventory), "--graph")
    assert rc == 0
    assert out == (
        "@all:\n  |--@ungrouped:\n  |--@mailsite:\n  |  |--mail1\n  |--@gateways:\n  |  |--gw1\n"
    )
    rc, out, _ = run(capsys, "-i", str(inventory), "--graph", "gateways")
    assert out == "@gateways:\n  |--gw1\n"
    rc, out, _ = run(capsys, "-i", str(inventory), "--host", "mail1")
    assert json.loads(out)["admin_pass"] == "********"


def test_secrets_never_in_host_objects(inventory: Path) -> None:
    from remediate.inventory import Inventory

    host = Inventory.load([str(inventory)]).get_host("mail1")
    assert "plugh" not in repr(host) and "Tr0ub4dor" not in repr(host)
    assert host.vars["vault_password"]["k"][0].reveal() == "plugh"


def test_list_limit(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "-i", str(inventory), "--list", "--limit", "gateways")
    listed = json.loads(out)
    assert rc == 0 and "mailsite" not in listed and listed["gateways"] == {"hosts": ["gw1"]}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--host", "nope"], "exactly one host"),
        (["--graph", "nogroup"], "valid group name"),
    ],
)
def test_user_errors_are_one_line_exit_5(
    inventory: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    rc, out, err = run(capsys, "-i", str(inventory), *argv)
    assert rc == 5 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_bad_file_is_located_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ini"
    bad.write_text("[web]\nok\n[web:oops]\n")
    rc, _, err = run(capsys, "-i", str(bad), "--list")
    assert rc == 5
    assert err == f"{bad}:3:1: section [web:oops] has unknown type: oops\n"


def test_usage_errors_exit_5_without_traceback(inventory: Path) -> None:
    for argv in (["--list"], ["-i", str(inventory)], ["-i", str(inventory), "--list", "--graph"]):
        result = subprocess.run(
            [sys.executable, "-m", "remediate", "inventory", *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 5, argv
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
