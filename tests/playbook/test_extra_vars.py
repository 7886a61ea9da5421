"""`-e` as Ansible reads it: KEY=VALUE words, a YAML/JSON mapping, or @file; secrets wrapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.errors import InputError
from remediate.playbook import parse_extra_vars
from remediate.secrets import Secret


def test_key_value_words_are_text() -> None:
    assert parse_extra_vars(["a=1 b='two words'", "c=x=y", "d="]) == {
        "a": "1",
        "b": "two words",
        "c": "x=y",
        "d": "",
    }


def test_later_items_win() -> None:
    assert parse_extra_vars(["a=1", "a=2"]) == {"a": "2"}


def test_yaml_mapping_keeps_types() -> None:
    assert parse_extra_vars(['{"n": 3, "on": true, "l": [1, 2]}']) == {
        "n": 3,
        "on": True,
        "l": [1, 2],
    }


def test_vars_file(tmp_path: Path) -> None:
    path = tmp_path / "extra.yml"
    path.write_text("relay: 10.0.0.5\nports: [25, 587]\n", encoding="utf-8")
    assert parse_extra_vars([f"@{path}"]) == {"relay": "10.0.0.5", "ports": [25, 587]}


def test_secret_named_values_become_secrets() -> None:
    values = parse_extra_vars(["ansible_password=canary-7 smtp_pass=x user=bob"])
    assert values["ansible_password"] == Secret("canary-7")
    assert values["smtp_pass"] == Secret("x")
    assert values["user"] == "bob"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("novalue", "-e: expected KEY=VALUE with KEY a variable name, got 'novalue'"),
        ("1x=2", "-e: expected KEY=VALUE with KEY a variable name, got '1x=2'"),
        ("a='unclosed", '-e: "a=\'unclosed": No closing quotation'),
        ("", "-e: expected KEY=VALUE, a YAML mapping or @FILE, got nothing"),
        (
            "{a: [}",
            "-e:1:6: invalid YAML: while parsing a flow node, expected the node content, "
            "but found '}'",
        ),
    ],
)
def test_bad_forms(item: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_extra_vars([item])
    assert caught.value.location_line() == message


def test_missing_vars_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        parse_extra_vars([f"@{tmp_path / 'nope.yml'}"])
    assert caught.value.location_line().endswith(
        "nope.yml: cannot read extra vars file: No such file or directory"
    )


def test_vars_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_extra_vars([f"@{path}"])
    assert caught.value.location_line() == (
        f"{path}:1:1: extra vars must be a mapping of variable names to values"
    )
