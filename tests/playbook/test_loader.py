"""Good playbooks load into the values the engine reads; odd bytes still give a location."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from remediate.errors import InputError
from remediate.playbook import Location, Playbook
from remediate.tasks.base import TaskRegistry

FULL = """\
- name: Keep off blacklists
  hosts: [mailservers, "!retired"]
  vars:
    relay: 10.0.0.5
    answers: &answers {data: pong}
  serial: [1, "30%", 10]
  max_fail_percentage: 25
  any_errors_fatal: true
  tags: "mail, weekly"
  tasks:
    - diagnostic.ping:
    - name: Ping with data
      diagnostic.ping:
        <<: *answers
      tags: [ping, 7]
    - name: Reply once
      mailsite.reply_once:
        mailbox: "sales@{{ domain }}"
        options:
          - {mode: once}
          - mode: "{{ mode }}"
- hosts: gateways
"""


def write(tmp_path: Path, text: str | bytes, name: str = "site.yml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def load_error(path: Path, registry: TaskRegistry) -> str:
    with pytest.raises(InputError) as caught:
        Playbook.load(path, registry)
    return caught.value.location_line()


def test_full_play_loads_every_field(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, FULL)
    book = Playbook.load(path, registry)
    assert book.path == str(path)
    play, second = book.plays
    assert play.name == "Keep off blacklists"
    assert play.hosts == "mailservers,!retired"
    assert play.vars == {"relay": "10.0.0.5", "answers": {"data": "pong"}}
    assert play.serial == (1, "30%", 10)
    assert play.max_fail_percentage == 25.0
    assert play.any_errors_fatal is True
    assert play.tags == ("mail", "weekly")
    assert play.location == Location(str(path), 1, 3)
    assert [t.name for t in play.tasks] == ["diagnostic.ping", "Ping with data", "Reply once"]
    assert [t.type_name for t in play.tasks] == ["diagnostic.ping"] * 2 + ["mailsite.reply_once"]
    assert play.tasks[0].args == {}
    assert play.tasks[1].args == {"data": "pong"}
    assert play.tasks[1].tags == ("ping", "7")
    assert play.tasks[2].args["options"] == [{"mode": "once"}, {"mode": "{{ mode }}"}]
    assert second.name == "gateways" and second.tasks == () and second.serial == ()
    assert second.max_fail_percentage is None and second.any_errors_fatal is False


def test_argument_locations_point_at_values(tmp_path: Path, registry: TaskRegistry) -> None:
    call = Playbook.load(write(tmp_path, FULL), registry).plays[0].tasks[2]
    assert call.location == Location(call.location.path, 16, 7)
    assert call.arg_locations["mailbox"] == Location(call.location.path, 18, 18)
    assert call.arg_locations["options[1].mode"] == Location(call.location.path, 21, 19)


def test_digest_is_sha256_of_the_bytes(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, FULL)
    assert Playbook.load(path, registry).digest() == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("serial", "expected"),
    [("5", (5,)), ('"5"', (5,)), ('"12.5%"', ("12.5%",)), ("[2, '100%']", (2, "100%"))],
)
def test_serial_forms(
    tmp_path: Path, registry: TaskRegistry, serial: str, expected: tuple[object, ...]
) -> None:
    path = write(tmp_path, f"- hosts: all\n  serial: {serial}\n")
    assert Playbook.load(path, registry).plays[0].serial == expected


def test_default_registry_knows_ping(tmp_path: Path) -> None:
    path = write(tmp_path, "- hosts: all\n  tasks:\n    - diagnostic.ping: {data: hi}\n")
    assert Playbook.load(path).plays[0].tasks[0].type_name == "diagnostic.ping"


def test_byte_order_marks_are_read(tmp_path: Path, registry: TaskRegistry) -> None:
    text = "- hosts: all\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        assert Playbook.load(write(tmp_path, data), registry).plays[0].hosts == "all"


def test_invalid_utf8_names_the_byte(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, b"- hosts: all\n  name: caf\xe9\n")
    assert load_error(path, registry).startswith(f"{path}:2:12: not valid utf-8-sig text")


def test_control_character_names_its_place(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, "- hosts: all\n  name: a\x07b\n")
    assert load_error(path, registry) == (
        f"{path}:2:10: invalid YAML: special characters are not allowed (character 0x0007)"
    )


def test_missing_file_is_an_input_error(tmp_path: Path, registry: TaskRegistry) -> None:
    path = tmp_path / "nope.yml"
    assert load_error(path, registry) == f"{path}: cannot read playbook: No such file or directory"


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, "- hosts: all\n  vars:\n    deep: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested more than 100 levels" in load_error(path, registry)
    path = write(tmp_path, "[" * 5000 + "]" * 5000)
    assert load_error(path, registry).startswith(f"{path}:1:")


def test_alias_bomb_is_refused(tmp_path: Path, registry: TaskRegistry) -> None:
    lines = ["- hosts: all", "  vars:", "    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"    a{level}: &a{level} [{refs}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert "too large once aliases are expanded" in load_error(path, registry)


def test_merge_keys_explicit_wins(tmp_path: Path, registry: TaskRegistry) -> None:
    text = (
        "- hosts: all\n  vars:\n    base: &b {a: 1, b: 2}\n    more: &m {b: 3, c: 4}\n"
        "    both:\n      <<: [*b, *m]\n      a: 9\n"
    )
    play = Playbook.load(write(tmp_path, text), registry).plays[0]
    assert play.vars["both"] == {"a": 9, "b": 2, "c": 4}


def test_messages_stay_on_one_line(tmp_path: Path, registry: TaskRegistry) -> None:
    path = write(tmp_path, '- hosts: all\n  "bad\\nkey": 1\n')
    error = load_error(path, registry)
    assert "\n" not in error
    assert error.startswith(f"{path}:2:3: unknown play key 'bad\\nkey'; play keys are: name, ")
