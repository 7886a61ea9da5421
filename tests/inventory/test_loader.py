"""INI and YAML inventories load into the groups, hosts and values Ansible would give them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from remediate.errors import InputError
from remediate.inventory import Inventory
from remediate.secrets import Secret

WriteTree = Callable[[dict[str, str]], Path]

INI = """
top1 x=1 y="a b" z=[1,2] w=yes
[web]
web[01:03].example.com:2222 p=0x10
[db:vars]
v=1
flag=True
s=hello world
[db]
db1 ansible_password=hunter2
[web:children]
db
[all:vars]
av=True
"""


def test_ini_groups_children_ranges_and_inline_values(write_tree: WriteTree) -> None:
    root = write_tree({"hosts.ini": INI})
    inv = Inventory.load([str(root / "hosts.ini")])
    assert list(inv.hosts) == [
        "top1",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
        "db1",
    ]
    top = inv.get_host("top1").vars
    assert top == {"x": 1, "y": "a b", "z": [1, 2], "w": "yes", "av": True}
    web = inv.get_host("web02.example.com")
    assert web.vars["ansible_port"] == 2222 and web.vars["p"] == 16
    assert web.groups == ("web",)
    db = inv.get_host("db1")
    assert db.groups == ("db", "web")
    # ansible-core evaluates :vars values as Python literals too (its docs say strings).
    assert db.vars["v"] == 1 and db.vars["flag"] is True and db.vars["s"] == "hello world"
    assert isinstance(db.vars["ansible_password"], Secret)
    assert db.vars["ansible_password"].reveal() == "hunter2"
    assert db.connection.password == Secret("hunter2")
    shown = f"{db!r} {db} {db.connection!r} {inv.list_json()} {inv.host_json('db1')}"
    assert "hunter2" not in shown
    assert inv.group_names() == ["all", "db", "ungrouped", "web"]


def test_yaml_groups_children_and_host_ports(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "inv.yml": """
        all:
          vars: {site: hq}
          children:
            mailsite:
              hosts:
                mail[a:c].example.com:
                  ansible_connection: winrm
                "10.0.0.5:5986":
              vars:
                role: mail
            gateways:
              hosts: gw1
          hosts:
            lonely:
    """
        }
    )
    inv = Inventory.load([str(root / "inv.yml")])
    assert list(inv.hosts) == [
        "lonely",
        "maila.example.com",
        "mailb.example.com",
        "mailc.example.com",
        "10.0.0.5",
        "gw1",
    ]
    assert inv.get_host("mailb.example.com").vars == {
        "site": "hq",
        "role": "mail",
        "ansible_connection": "winrm",
    }
    assert inv.get_host("10.0.0.5").vars["ansible_port"] == 5986
    assert inv.get_host("lonely").groups == ("ungrouped",)
    assert inv.get_host("mailb.example.com").connection.connection == "winrm"


def test_host_in_a_group_leaves_ungrouped(write_tree: WriteTree) -> None:
    root = write_tree({"a.ini": "h1\nh2\n[g]\nh1\n"})
    inv = Inventory.load([str(root / "a.ini")])
    assert inv.get_host("h1").groups == ("g",)
    assert inv.get_host("h2").groups == ("ungrouped",)


def test_later_sources_add_and_override(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "one.ini": "[web]\nw1 color=red\n",
            "two.yml": "web:\n  hosts:\n    w1: {color: blue}\n    w2:\n",
        }
    )
    inv = Inventory.load([str(root / "one.ini"), str(root / "two.yml")])
    assert inv.get_host("w1").vars["color"] == "blue"
    assert list(inv.hosts) == ["w1", "w2"]
    assert inv.sources == (str(root / "one.ini"), str(root / "two.yml"))


def test_unknown_host_is_an_input_error(write_tree: WriteTree) -> None:
    root = write_tree({"a.ini": "h1\n"})
    with pytest.raises(InputError, match="unknown host 'nope'"):
        Inventory.load([str(root / "a.ini")]).get_host("nope")


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("a.ini", "[web]\nok\n[web:weird]\n", 3, "unknown type"),
        ("a.ini", "[web]\nh1 novalue\n", 2, "key=value"),
        ("a.ini", "[a:children]\nmissing\n", 2, "undefined group 'missing'"),
        ("a.ini", "# c\n[lonely:vars]\nx=1\n", 2, "undefined group 'lonely'"),
        ("a.ini", "[a]\nh[1:3:0]\n", 2, "host range"),
        ("a.ini", "[a]\nh[09:1]\n", 2, "equal-length"),
        ("a.ini", "[a:children]\nb\n[b:children]\na\n", 4, "loop"),
        ("a.ini", '[a]\nh1 x="unclosed\n', 2, "host definition"),
        ("a.ini", "[a]\nh1:\n", 2, "trailing ':'"),
        ("a.yml", "all:\n  hosts: [a, b]\n", 2, '"hosts" entry'),
        ("a.yml", "g:\n  hosts:\n    12:\n", 3, "must be a string"),
        ("a.yml", "g:\n  hosts:\n    h1: 5\n", 3, "must be a mapping"),
        ("a.yml", "g:\n  vars: {a: !vault x}\n", 2, "vault"),
        ("a.ini", "\ufeff[web]\nh1\n", 1, "byte order mark"),
        ("a.ini", "[a]\nh[0:99999999]\n", 2, "more than 100000 hosts"),
        ("a.yml", "a:\n  hosts:\n    x[0:999]y[0:999]:\n", 3, "more than 100000 hosts"),
    ],
)
def test_bad_input_is_one_located_error(
    write_tree: WriteTree, name: str, text: str, line: int, fragment: str
) -> None:
    root = write_tree({name: text})
    with pytest.raises(InputError) as caught:
        Inventory.load([str(root / name)])
    error = caught.value
    assert error.path == str(root / name)
    assert error.line == line
    assert fragment in error.message
    assert error.location_line().startswith(f"{root / name}:{line}:")


def test_missing_source_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        Inventory.load([str(tmp_path / "nope.ini")])


def test_yaml_named_file_with_ini_content_loads_as_ini(write_tree: WriteTree) -> None:
    root = write_tree({"hosts.yml": "[web]\nw1 a=1\n"})
    assert Inventory.load([str(root / "hosts.yml")]).get_host("w1").vars == {"a": 1}


def test_directory_source_reads_every_inventory_file(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "inv/01-base.ini": "[web]\nw1\n",
            "inv/02-more.yml": "db:\n  hosts: d1\n",
            "inv/README.md": "not an inventory",
            "inv/group_vars/web.yml": "tier: front\n",
        }
    )
    inv = Inventory.load([str(root / "inv")])
    assert list(inv.hosts) == ["w1", "d1"]
    assert inv.get_host("w1").vars == {"tier": "front"}


def test_digest_covers_every_file_read(write_tree: WriteTree) -> None:
    root = write_tree({"a.ini": "[web]\nw1\n", "group_vars/web.yml": "x: 1\n"})
    first = Inventory.load([str(root / "a.ini")]).digest()
    assert first == Inventory.load([str(root / "a.ini")]).digest()
    (root / "group_vars/web.yml").write_text("x: 2\n")
    assert Inventory.load([str(root / "a.ini")]).digest() != first


def test_python_literal_dict_with_mixed_keys_still_prints(write_tree: WriteTree) -> None:
    root = write_tree({"a.ini": "h1 d=\"{1: 'int', 'k': 'str', None: 0}\"\n"})
    inv = Inventory.load([str(root / "a.ini")])
    assert inv.host_json("h1") == {"d": {"1": "int", "k": "str", "null": 0}}
