"""Host patterns select hosts in Ansible's order with Ansible's operators; --limit composes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from remediate.errors import InputError
from remediate.inventory import Inventory

WriteTree = Callable[[dict[str, str]], Path]

INI = """
solo
[web]
web1.example.com
web2.example.com
[db]
db1.example.com
web2.example.com
[eu:children]
web
[mail]
mail[01:03]
"""


# What `ansible all --list-hosts` prints: all's children breadth first (eu's web comes last).
ALL_ORDER = [
    "solo",
    "db1.example.com",
    "web2.example.com",
    "mail01",
    "mail02",
    "mail03",
    "web1.example.com",
]


@pytest.fixture
def inv(write_tree: WriteTree) -> Inventory:
    return Inventory.load([str(write_tree({"i.ini": INI}) / "i.ini")])


def names(inv: Inventory, pattern: str, limit: str | None = None) -> list[str]:
    return [h.name for h in inv.select(pattern, limit)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", ALL_ORDER),
        ("*", ALL_ORDER),
        ("web", ["web1.example.com", "web2.example.com"]),
        ("db1.example.com", ["db1.example.com"]),
        ("web*.example.com", ["web1.example.com", "web2.example.com"]),
        ("~mail0[12]", ["mail01", "mail02"]),
        ("web:db", ["web1.example.com", "web2.example.com", "db1.example.com"]),
        ("eu:mail[1:]", ["web1.example.com", "web2.example.com", "mail02", "mail03"]),
        ("mail[1:0]", ["mail02"]),
        ("web,db", ["web1.example.com", "web2.example.com", "db1.example.com"]),
        ("web:&db", ["web2.example.com"]),
        ("web:!db", ["web1.example.com"]),
        ("!db:web", ["web1.example.com"]),  # exclusions apply last whatever their position
        ("!web", ["solo", "db1.example.com", "mail01", "mail02", "mail03"]),
        ("eu", ["web1.example.com", "web2.example.com"]),
        ("mail[0]", ["mail01"]),
        ("mail[1:]", ["mail02", "mail03"]),
        ("mail[-1]", ["mail03"]),
        ("ungrouped", ["solo"]),
        ("nothing", []),
    ],
)
def test_pattern_selects_in_ansible_order(
    inv: Inventory, pattern: str, expected: list[str]
) -> None:
    assert names(inv, pattern) == expected


def test_limit_composes_with_play_hosts(inv: Inventory) -> None:
    assert names(inv, "web:db", limit="web2*,db1.example.com") == [
        "web2.example.com",
        "db1.example.com",
    ]
    assert names(inv, "all", limit="!mail") == [
        "solo",
        "db1.example.com",
        "web2.example.com",
        "web1.example.com",
    ]


def test_limit_from_file(inv: Inventory, tmp_path: Path) -> None:
    limit = tmp_path / "retry"
    limit.write_text("mail02\n\nweb1.example.com\n")
    assert names(inv, "all", limit=f"@{limit}") == ["mail02", "web1.example.com"]
    with pytest.raises(InputError, match="not found"):
        inv.select("all", limit=f"@{tmp_path / 'missing'}")


def test_bad_patterns_are_input_errors(inv: Inventory) -> None:
    with pytest.raises(InputError, match="invalid host pattern"):
        inv.select("~web(")
    with pytest.raises(InputError, match="subscripted"):
        inv.select("mail[7]")


def test_filter_returns_a_new_inventory(inv: Inventory) -> None:
    small = inv.filter("web")
    assert list(small.hosts) == ["web2.example.com", "web1.example.com"]  # inventory order
    assert len(inv.hosts) == 7  # the original is untouched
    assert names(small, "all") == ["web2.example.com", "web1.example.com"]
    listed = small.list_json()
    assert listed["db"] == {"hosts": ["web2.example.com"]}
    assert set(listed["_meta"]["hostvars"]) == set()


def test_implicit_localhost(inv: Inventory) -> None:
    (local,) = inv.select("localhost")
    assert local.connection.connection == "local"
    assert "localhost" not in inv.hosts
    assert inv.get_host("localhost").connection.connection == "local"


def test_groups_dict_is_ansibles_groups_variable(inv: Inventory) -> None:
    groups = inv.filter("mail").groups_dict()  # a limit does not narrow `groups`
    assert groups["all"] == ALL_ORDER
    assert groups["eu"] == ["web1.example.com", "web2.example.com"]
    assert groups["ungrouped"] == ["solo"]
    assert list(groups) == ["all", "ungrouped", "web", "db", "eu", "mail"]
