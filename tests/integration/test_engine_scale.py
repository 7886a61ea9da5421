"""A 100-host lab fleet: forks 20 gives a correct recap; refusals past max_fail_percentage abort."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS = [f"mail{i:03d}" for i in range(1, 101)]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.start(
        tmp_path_factory.mktemp("lab"), hosts=100, workstations=0, mailboxes=4, seed=9
    ) as lab:
        yield lab


def recap(stdout: str) -> dict[str, str]:
    """host -> status, from the recap lines a user reads."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^(mail\d{3})\s+(\w+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def fast_failures(tmp_path: Path) -> str:
    """An extra inventory (merged after the lab's) so refused hosts are not retried for long."""
    path = tmp_path / "fast.yml"
    path.write_text("all:\n  vars:\n    remediate_retries: 1\n")
    return str(path)


def test_forks_20_over_100_hosts_gives_a_correct_recap(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    planned = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "--format", "json")
    assert planned.returncode == 0, planned.stderr
    needing = {
        h for h in HOSTS if f'"host": "{h}"' in planned.stdout.split('"resource_changes"')[1]
    }

    done = cli("run", PLAYBOOK, "-i", str(fleet.inventory_path), "-f", "20")

    assert done.returncode == 0, done.stdout + done.stderr
    statuses = recap(done.stdout)
    assert sorted(statuses) == HOSTS
    assert {h for h, s in statuses.items() if s == "changed"} == needing
    assert {h for h, s in statuses.items() if s == "ok"} == set(HOSTS) - needing
    assert "100 host(s):" in done.stdout
    again = cli("plan", PLAYBOOK, "-i", str(fleet.inventory_path), "--detailed-exitcode", "-q")
    assert again.returncode == 0, again.stdout


def test_refusals_over_max_fail_percentage_stop_after_that_batch(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    playbook = tmp_path / "serial.yml"
    playbook.write_text(
        "- name: reply once in batches\n  hosts: mailsite\n  serial: 10\n"
        "  max_fail_percentage: 20\n  tasks:\n    - name: reply once\n"
        "      mailsite.reply_once: {}\n"
    )
    # 30 of 100 refuse: one in the first batch (10%, under the threshold), three in the
    # second (30%, over it), the rest later.
    refusing = [HOSTS[0], HOSTS[10], HOSTS[11], HOSTS[12]] + HOSTS[74:100]
    assert len(refusing) == 30
    for name in refusing:
        fleet.set_fault(name, "refuse")
    try:
        done = cli(
            "run",
            str(playbook),
            "-i",
            str(fleet.inventory_path),
            "-i",
            fast_failures(tmp_path),
            "-f",
            "20",
        )
    finally:
        for name in refusing:
            fleet.set_fault(name, "clear")

    assert done.returncode == 3, done.stdout + done.stderr
    statuses = recap(done.stdout)
    assert [statuses[h] for h in HOSTS[:20] if h in refusing] == ["unreachable"] * 4
    assert all(statuses[h] in ("ok", "changed") for h in HOSTS[:20] if h not in refusing)
    assert all(statuses[h] == "skipped" for h in HOSTS[20:])
    assert "over max_fail_percentage 20%" in done.stderr
