"""The remediations, one module each, registered by name in `default_registry()`."""

from __future__ import annotations

from remediate.tasks.base import ArgumentError, Fact, Task, TaskRegistry


def default_registry() -> TaskRegistry:
    """A fresh registry holding every task type this package ships."""
    from remediate.tasks import diagnostic, reply_once

    registry = TaskRegistry()
    for module in (diagnostic, reply_once):
        for task_type in module.TASK_TYPES:
            registry.register(task_type)
    return registry


__all__ = ["ArgumentError", "Fact", "Task", "TaskRegistry", "default_registry"]
