"""Every example playbook loads with the shipped task types and renders for a sample host."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.model import Host
from remediate.playbook import Playbook, render_hosts, render_task, select_tasks
from remediate.tasks import default_registry

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "playbooks" / "examples").glob("*.yml"))
HOST = Host("mail01.example.com", {"ansible_connection": "winrm"}, ("mailsite", "mailservers"))


def test_there_are_examples() -> None:
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_renders(path: Path) -> None:
    registry = default_registry()
    book = Playbook.load(path, registry)
    for play in book.plays:
        assert render_hosts(play)
        for call in select_tasks(play, ("all", "never")):
            render_task(call, play, HOST, registry, groups={"all": [HOST.name]})


def test_batches_example_reads_as_documented() -> None:
    (play,) = Playbook.load(EXAMPLES[0].with_name("ping-in-batches.yml")).plays
    assert play.serial == (1, "50%") and play.max_fail_percentage == 25.0
    assert render_hosts(play) == "all"
    assert render_hosts(play, {"target": "mailsite"}) == "mailsite"
    assert [call.name for call in select_tasks(play)] == ["Host runs a command and answers"]
