"""A small lab fleet for the transport integration tests (its own, in a temporary directory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.lab.fleet import Fleet

from .labfleet import Lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory: Path = tmp_path_factory.mktemp("lab")
    fleet = Fleet.start(directory, hosts=4, workstations=0, mailboxes=20, seed=7, transport="both")
    try:
        yield Lab(fleet)
    finally:
        fleet.stop()


@pytest.fixture
def clean_faults(lab: Lab) -> Iterator[None]:
    yield
    for name in lab.fleet.hosts:
        lab.fleet.set_fault(name, "clear")
