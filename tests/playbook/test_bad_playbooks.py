"""Every file in bad/ fails to load with exactly the error line its first line announces."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.errors import EXIT_INVALID_INPUT, InputError
from remediate.playbook import Playbook
from remediate.tasks.base import TaskRegistry

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yml"))


def expected_error(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), f"{path.name} must start with '# error: LINE:COL: ...'"
    return f"{path}:{first.removeprefix('# error: ')}"


def test_there_are_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_bad_playbook_reports_its_line(path: Path, registry: TaskRegistry) -> None:
    with pytest.raises(InputError) as caught:
        Playbook.load(path, registry)
    assert caught.value.location_line() == expected_error(path)
    assert caught.value.exit_code == EXIT_INVALID_INPUT
