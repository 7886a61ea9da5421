"""Fixtures for playbook tests."""

from __future__ import annotations

import pytest

from remediate.tasks.base import TaskRegistry

from .support import make_registry


@pytest.fixture
def registry() -> TaskRegistry:
    return make_registry()
