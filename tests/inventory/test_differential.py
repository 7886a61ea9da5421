"""Differential test: `remediate inventory` prints what ansible-inventory prints for the same files.

Every case under corpus/ is run through ansible-core (in one helper process, clean environment,
only the ini and yaml inventory plugins, no ansible.cfg) and through our CLI: `--list` JSON, the
`--graph` text, `--host` JSON, `ansible PATTERN --list-hosts` order (with and without --limit) and
`--list --limit`. Every file under corpus_errors/ must fail in both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.cli import main
from remediate.errors import InputError
from remediate.inventory import Inventory

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
ERRORS = HERE / "corpus_errors"
ANSIBLE_BIN = Path(sys.executable).parent / "ansible-inventory"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ANSIBLE_BIN.exists(), reason="ansible-core (test extra) not installed"),
]


def _case_config(case: Path) -> dict[str, Any]:
    config_file = case / "case.yml"
    config: dict[str, Any] = yaml.safe_load(config_file.read_text()) if config_file.exists() else {}
    if "sources" not in config:
        config["sources"] = sorted(
            p.name for p in case.iterdir() if p.is_file() and p.name != "case.yml"
        )
    config.setdefault("graph", ["all"])
    for key in ("hosts", "patterns", "limits", "list_limits"):
        config.setdefault(key, [])
    return config


CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
ERROR_CASES = sorted(ERRORS.iterdir())


def _inventory_args(case: Path, config: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for source in config["sources"]:
        args += ["-i", str(case / source)]
    return args


def _jobs() -> dict[str, dict[str, Any]]:
    """Every ansible invocation the tests need, keyed by a readable id."""
    jobs: dict[str, dict[str, Any]] = {}
    for case in CASES:
        config = _case_config(case)
        inv = _inventory_args(case, config)
        cwd = str(case)
        jobs[f"{case.name}/list"] = {"cwd": cwd, "argv": ["ansible-inventory", *inv, "--list"]}
        for group in config["graph"]:
            argv = ["ansible-inventory", *inv, "--graph", group]
            jobs[f"{case.name}/graph/{group}"] = {"cwd": cwd, "argv": argv}
        for host in config["hosts"]:
            argv = ["ansible-inventory", *inv, "--host", host]
            jobs[f"{case.name}/host/{host}"] = {"cwd": cwd, "argv": argv}
        for pattern in config["patterns"]:
            argv = ["ansible", *inv, pattern, "--list-hosts"]
            jobs[f"{case.name}/pattern/{pattern}"] = {"cwd": cwd, "argv": argv}
        for pattern, limit in config["limits"]:
            argv = ["ansible", *inv, pattern, "--limit", limit, "--list-hosts"]
            jobs[f"{case.name}/limit/{pattern}/{limit}"] = {"cwd": cwd, "argv": argv}
        for limit in config["list_limits"]:
            argv = ["ansible-inventory", *inv, "--list", "--limit", limit]
            jobs[f"{case.name}/list_limit/{limit}"] = {"cwd": cwd, "argv": argv}
    for path in ERROR_CASES:
        argv = ["ansible-inventory", "-i", str(path), "--list"]
        jobs[f"error/{path.name}"] = {"cwd": str(ERRORS), "argv": argv}
    return jobs


def ansible_env(home: Path) -> dict[str, str]:
    """A clean environment: only the ini and yaml plugins, an empty config, a private home."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "empty.cfg"
    config.write_text("")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_INVENTORY_ENABLED": "yaml,ini",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }


@pytest.fixture(scope="module")
def ansible_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    env = ansible_env(tmp_path_factory.mktemp("ansible-home"))
    jobs = _jobs()
    completed = subprocess.run(
        [sys.executable, str(HERE / "ansible_driver.py")],
        input=json.dumps(list(jobs.values())),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return dict(zip(jobs, json.loads(completed.stdout), strict=True))


def _ours(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc = main(["inventory", *argv])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return captured.out


def _ansible_ok(results: dict[str, dict[str, Any]], key: str) -> str:
    result = results[key]
    assert result["rc"] == 0, f"ansible failed on {key}: {result['stdout']}"
    return str(result["stdout"])


def _listed_hosts(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("hosts ("))
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_list_matches(
    case: Path, ansible_results: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _case_config(case)
    inv = _inventory_args(case, config)
    expected_text = _ansible_ok(ansible_results, f"{case.name}/list")
    ours_text = _ours(capsys, *inv, "--list", "--show-secrets")
    assert json.loads(ours_text) == json.loads(expected_text)
    assert ours_text == expected_text  # byte for byte, indentation and key order included
    for limit in config["list_limits"]:
        expected = json.loads(_ansible_ok(ansible_results, f"{case.name}/list_limit/{limit}"))
        cwd = os.getcwd()
        os.chdir(case)  # @file limits are relative to the working directory
        try:
            ours = _ours(capsys, *inv, "--list", "--show-secrets", "--limit", limit)
        finally:
            os.chdir(cwd)
        assert json.loads(ours) == expected, f"--limit {limit}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_graph_and_host_match(
    case: Path, ansible_results: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _case_config(case)
    inv = _inventory_args(case, config)
    for group in config["graph"]:
        expected = _ansible_ok(ansible_results, f"{case.name}/graph/{group}")
        assert _ours(capsys, *inv, "--graph", group) == expected
    for host in config["hosts"]:
        expected = _ansible_ok(ansible_results, f"{case.name}/host/{host}")
        ours = _ours(capsys, *inv, "--host", host, "--show-secrets")
        assert json.loads(ours) == json.loads(expected)
        assert ours == expected


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_patterns_select_the_same_hosts_in_the_same_order(
    case: Path, ansible_results: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _case_config(case)
    monkeypatch.chdir(case)
    inventory = Inventory.load([str(case / s) for s in config["sources"]])
    for pattern in config["patterns"]:
        expected = _listed_hosts(_ansible_ok(ansible_results, f"{case.name}/pattern/{pattern}"))
        assert [h.name for h in inventory.select(pattern)] == expected, pattern
    for pattern, limit in config["limits"]:
        key = f"{case.name}/limit/{pattern}/{limit}"
        expected = _listed_hosts(_ansible_ok(ansible_results, key))
        assert [h.name for h in inventory.select(pattern, limit)] == expected, (pattern, limit)


@pytest.mark.parametrize("path", ERROR_CASES, ids=lambda p: p.name)
def test_bad_inventories_fail_in_both(
    path: Path, ansible_results: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert ansible_results[f"error/{path.name}"]["rc"] != 0, "ansible accepted it"
    with pytest.raises(InputError):
        Inventory.load([str(path)])
    assert main(["inventory", "-i", str(path), "--list"]) == 5
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(str(path))  # a directory case reports the file inside it


def test_secrets_are_masked_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    case = CORPUS / "secrets"
    out = _ours(capsys, "-i", str(case / "hosts.ini"), "--list")
    for clear in ("S3cret!", "p4ss", "become-me", "inner"):
        assert clear not in out
    host = json.loads(_ours(capsys, "-i", str(case / "hosts.ini"), "--host", "mail1"))
    assert host["ansible_password"] == "********"
    assert host["db_password"] == "********"
    assert host["ansible_user"] == "Administrator"


def test_in_process_driver_agrees_with_the_real_binary(
    ansible_results: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The batching helper must not change what ansible-inventory prints."""
    case = CORPUS / "precedence"
    completed = subprocess.run(
        [str(ANSIBLE_BIN), "-i", str(case / "hosts.ini"), "--list"],
        cwd=case,
        capture_output=True,
        text=True,
        env=ansible_env(tmp_path / "home"),
        timeout=60,
        check=True,
    )
    assert completed.stdout == ansible_results["precedence/list"]["stdout"]
