"""`remediate validate` as a user runs it: stdout, one-line stderr, exit codes 0 and 5."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "playbooks" / "examples" / "ping.yml"
CANARY = "canary-Pw-93be"
INVENTORY = f"""\
[mailservers]
mail01.example.com ansible_password={CANARY}
mail02.example.com

[gateways]
gw01
"""


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remediate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or REPO,
    )


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.ini"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    assert result.stderr == expected + "\n"


def test_valid_playbook_lists_plays_and_hosts(inventory: Path) -> None:
    result = run_cli("validate", EXAMPLE, "-i", inventory)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"playbook: {EXAMPLE}",
        "",
        "  play #1 (mailservers): Ping the mail servers",
        "    hosts (2):",
        "      mail01.example.com",
        "      mail02.example.com",
        "    tasks (2):",
        "      Default answer (diagnostic.ping)",
        "      Answer with the host's name (diagnostic.ping)    TAGS: [named]",
        "",
        "valid: 1 play, 2 hosts, 4 tasks rendered",
    ]
    assert CANARY not in result.stdout


def test_limit_tags_and_extra_vars(inventory: Path, tmp_path: Path) -> None:
    book = write(
        tmp_path,
        (
            '- hosts: "{{ target }}"\n  tasks:\n'
            '    - {name: a, diagnostic.ping: {data: "{{ word }}"}, tags: [a]}\n'
            "    - {name: b, diagnostic.ping: }\n"
        ),
    )
    result = run_cli(
        "validate",
        book,
        "-i",
        inventory,
        "-e",
        "target=mailservers word=hi",
        "-l",
        "mail02*",
        "--tags",
        "a",
    )
    assert result.returncode == 0, result.stderr
    assert "  play #1 (mailservers): {{ target }}" in result.stdout
    assert (
        "    hosts (1):\n      mail02.example.com\n    tasks (1):\n      a (diagnostic.ping)"
        in (result.stdout)
    )


def test_misspelt_task_type_suggests_the_real_one(inventory: Path, tmp_path: Path) -> None:
    book = write(
        tmp_path,
        (
            "- name: Keep off blacklists\n  hosts: mailservers\n  tasks:\n"
            "    - name: Auto replies answer once\n      mailsite.reply_onse:\n"
        ),
    )
    assert_one_error_line(
        run_cli("validate", book, "-i", inventory),
        f"{book}:5:7: unknown task type 'mailsite.reply_onse'; did you mean 'mailsite.reply_once'?",
    )


def test_malformed_yaml_has_a_location(inventory: Path, tmp_path: Path) -> None:
    book = write(tmp_path, "- hosts: all\n  tasks: [\n    - diagnostic.ping\n")
    result = run_cli("validate", book, "-i", inventory)
    assert result.returncode == 5
    assert result.stderr.startswith(f"{book}:3:5: invalid YAML: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_undefined_variable_names_host_and_place(inventory: Path, tmp_path: Path) -> None:
    book = write(
        tmp_path, '- hosts: gateways\n  tasks:\n    - diagnostic.ping: {data: "{{ nope }}"}\n'
    )
    assert_one_error_line(
        run_cli("validate", book, "-i", inventory),
        f"{book}:3:31: gw01: argument 'data': undefined variable: 'nope' is undefined",
    )


def test_secret_in_text_is_refused_and_never_printed(inventory: Path, tmp_path: Path) -> None:
    book = write(
        tmp_path,
        (
            "- hosts: mail01.example.com\n  tasks:\n"
            '    - diagnostic.ping: {data: "x{{ ansible_password }}"}\n'
        ),
    )
    result = run_cli("validate", book, "-i", inventory)
    assert_one_error_line(
        result,
        f"{book}:3:31: mail01.example.com: argument 'data': "
        "secret variable 'ansible_password' cannot be interpolated into text",
    )
    assert CANARY not in result.stdout + result.stderr


def test_extra_vars_file_errors_point_into_that_file(inventory: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yml"
    extra.write_text("a: 1\na: 2\n", encoding="utf-8")
    assert_one_error_line(
        run_cli("validate", EXAMPLE, "-i", inventory, "-e", f"@{extra}"),
        f"{extra}:2:1: duplicate key 'a' (first at line 1)",
    )


def test_bad_extra_var_form(inventory: Path) -> None:
    assert_one_error_line(
        run_cli("validate", EXAMPLE, "-i", inventory, "-e", "no-equals-sign"),
        "-e: expected KEY=VALUE with KEY a variable name, got 'no-equals-sign'",
    )


def test_missing_playbook(inventory: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    assert_one_error_line(
        run_cli("validate", missing, "-i", inventory),
        f"{missing}: cannot read playbook: No such file or directory",
    )
