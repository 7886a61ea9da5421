"""--tags / --skip-tags select the same tasks Ansible would, play tags inherited."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediate.playbook import Playbook, select_tasks, should_run
from remediate.tasks.base import TaskRegistry

PLAY = """\
- hosts: all
  tags: [play]
  tasks:
    - {name: plain, diagnostic.ping: }
    - {name: web, diagnostic.ping: , tags: web}
    - {name: always, diagnostic.ping: , tags: [always]}
    - {name: never, diagnostic.ping: , tags: [never]}
    - {name: never-debug, diagnostic.ping: , tags: "never, debug"}
- hosts: all
  tasks:
    - {name: untagged, diagnostic.ping: }
    - {name: tagged, diagnostic.ping: , tags: [x]}
"""


@pytest.fixture
def plays(tmp_path: Path, registry: TaskRegistry) -> tuple[object, ...]:
    path = tmp_path / "tags.yml"
    path.write_text(PLAY, encoding="utf-8")
    return Playbook.load(path, registry).plays


@pytest.mark.parametrize(
    ("tags", "skip", "first", "second"),
    [
        ((), (), ["plain", "web", "always"], ["untagged", "tagged"]),
        (("web",), (), ["web", "always"], []),
        (("play",), (), ["plain", "web", "always", "never", "never-debug"], []),
        (("debug",), (), ["always", "never-debug"], []),
        (("never",), (), ["always", "never", "never-debug"], []),
        (("tagged",), (), ["plain", "web", "always"], ["tagged"]),
        (("untagged",), (), ["always"], ["untagged"]),
        ((), ("web",), ["plain", "always"], ["untagged", "tagged"]),
        ((), ("all",), ["always"], []),
        ((), ("always",), ["plain", "web"], ["untagged", "tagged"]),
        ((), ("tagged",), [], ["untagged"]),
        (("all",), ("play",), [], ["untagged", "tagged"]),
    ],
)
def test_selection(
    plays: tuple[object, ...],
    tags: tuple[str, ...],
    skip: tuple[str, ...],
    first: list[str],
    second: list[str],
) -> None:
    one, two = plays
    assert [c.name for c in select_tasks(one, tags, skip)] == first  # type: ignore[arg-type]
    assert [c.name for c in select_tasks(two, tags, skip)] == second  # type: ignore[arg-type]


TAG = st.sampled_from(["a", "b", "always", "never", "all", "tagged", "untagged"])


@settings(max_examples=300, deadline=None)
@given(st.sets(TAG, max_size=3), st.sets(TAG, max_size=3), st.sets(TAG, max_size=3))
def test_same_answer_as_ansible(tags: set[str], only: set[str], skip: set[str]) -> None:
    taggable = pytest.importorskip("ansible.playbook.taggable").Taggable

    class AnsibleTask:
        untagged = taggable.untagged

        def __init__(self, tags: list[str]) -> None:
            self.tags = tags
            self._loader = None

        def _get_all_taggable_objects(self) -> list[AnsibleTask]:
            return [self]

    # ansible-playbook passes only_tags=['all'] when --tags is not given.
    ansible = taggable.evaluate_tags(
        AnsibleTask(sorted(tags)), sorted(only) or ["all"], sorted(skip), {}
    )
    assert should_run(frozenset(tags), sorted(only) or ["all"], skip) == ansible
