"""YAML playbooks: loading with file:line:col errors, tag selection, per-host rendering."""

from __future__ import annotations

from remediate.playbook.fields import PLAY_KEYS, TASK_KEYS
from remediate.playbook.loader import Play, Playbook, TaskCall
from remediate.playbook.render import (
    bind_task,
    groups_from_inventory_json,
    host_variables,
    parse_extra_vars,
    render_args,
    render_hosts,
    render_task,
)
from remediate.playbook.tags import check_tags, effective_tags, select_tasks, should_run
from remediate.playbook.yamlnodes import Location

__all__ = [
    "PLAY_KEYS",
    "TASK_KEYS",
    "Location",
    "Play",
    "Playbook",
    "check_tags",
    "TaskCall",
    "bind_task",
    "effective_tags",
    "groups_from_inventory_json",
    "host_variables",
    "parse_extra_vars",
    "render_args",
    "render_hosts",
    "render_task",
    "select_tasks",
    "should_run",
]
