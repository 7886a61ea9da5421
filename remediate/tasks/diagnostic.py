"""Placeholder: task types of this module arrive with their issue."""

from __future__ import annotations

from remediate.tasks.base import Task

TASK_TYPES: tuple[type[Task], ...] = ()
