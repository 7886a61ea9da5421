"""Variables merge in Ansible's precedence order, including group_vars/ and host_vars/ files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from remediate.inventory import Inventory

WriteTree = Callable[[dict[str, str]], Path]

TREE = """
[all:vars]
level=all
only_all=1
[parent:children]
child
[parent:vars]
level=parent
[child:vars]
level=child
[child]
h1
h2 level=host
"""


def load(root: object, *names: str) -> Inventory:
    return Inventory.load([f"{root}/{n}" for n in names])


def test_all_then_parent_then_child_then_host(write_tree: WriteTree) -> None:
    inv = load(write_tree({"i.ini": TREE}), "i.ini")
    assert inv.get_host("h1").vars == {"level": "child", "only_all": 1}
    assert inv.get_host("h2").vars["level"] == "host"


def test_groups_of_equal_depth_merge_by_name(write_tree: WriteTree) -> None:
    text = "[beta]\nh\n[alpha]\nh\n[beta:vars]\nx=b\n[alpha:vars]\nx=a\n"
    inv = load(write_tree({"i.ini": text}), "i.ini")
    assert inv.get_host("h").vars["x"] == "b"  # beta sorts after alpha, so it wins


def test_group_priority_overrides_name_order(write_tree: WriteTree) -> None:
    text = "[beta]\nh\n[alpha]\nh\n[beta:vars]\nx=b\n[alpha:vars]\nx=a\nansible_group_priority=5\n"
    inv = load(write_tree({"i.ini": text}), "i.ini")
    host = inv.get_host("h")
    assert host.vars["x"] == "a"
    assert "ansible_group_priority" not in host.vars  # Ansible consumes it


def test_group_vars_files_override_inventory_group_vars(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "i.ini": TREE,
            "group_vars/all.yml": "from_all_file: yes\nlevel: all-file\n",
            "group_vars/parent": "level: parent-file\n",
        }
    )
    inv = load(root, "i.ini")
    # Ansible: every inline group var < group_vars/all < group_vars/<group> < host.
    assert inv.get_host("h1").vars["level"] == "parent-file"
    assert inv.get_host("h1").vars["from_all_file"] is True
    assert inv.get_host("h2").vars["level"] == "host"


def test_group_vars_directory_and_extensions(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "i.ini": TREE,
            "group_vars/child/10-a.yml": "a: 1\nshared: first\n",
            "group_vars/child/20-b.json": '{"b": 2, "shared": "second"}',
            "group_vars/child/notes.txt": "ignored: true\n",
            "host_vars/h1.yaml": "level: host-file\n",
            "host_vars/h1.json": '{"never": "read, h1.yaml came first"}',
        }
    )
    host = load(root, "i.ini").get_host("h1")
    assert host.vars["a"] == 1 and host.vars["b"] == 2 and host.vars["shared"] == "second"
    assert "ignored" not in host.vars and "never" not in host.vars
    assert host.vars["level"] == "host-file"


def test_vars_beside_each_source_merge_in_source_order(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "one/i.ini": "[web]\nw1\n",
            "one/group_vars/web.yml": "color: red\nfirst: 1\n",
            "two/i.yml": "web:\n  hosts: w1\n",
            "two/group_vars/web.yml": "color: blue\n",
        }
    )
    host = load(root, "one/i.ini", "two/i.yml").get_host("w1")
    assert host.vars == {"color": "blue", "first": 1}


def test_bad_vars_file_is_located(write_tree: WriteTree) -> None:
    import pytest

    from remediate.errors import InputError

    root = write_tree({"i.ini": "[web]\nw1\n", "group_vars/web.yml": "a: 1\nb: [unclosed\n"})
    with pytest.raises(InputError) as caught:
        load(root, "i.ini")
    assert caught.value.path is not None and caught.value.path.endswith("group_vars/web.yml")
    assert caught.value.line == 3
