"""Connection variables as Ansible users write them: templated, aliased, and checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from remediate.lab.fleet import Fleet
from tests.integration.conftest import PLAYBOOK, Cli

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet.start(
        tmp_path_factory.mktemp("lab"), hosts=2, workstations=0, mailboxes=5, seed=2
    ) as lab:
        yield lab


def rewrite(fleet: Fleet, path: Path, **changes: object) -> str:
    """The lab inventory with every host's variables changed as given."""
    inventory = yaml.safe_load(fleet.inventory_path.read_text())
    hosts = inventory["all"]["children"]["mailsite"]["hosts"]
    for variables in hosts.values():
        for key, value in changes.items():
            if value is None:
                variables.pop(key, None)
            else:
                variables[key] = value
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def test_a_templated_password_from_another_variable_connects(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = rewrite(fleet, tmp_path / "inv.yml", ansible_password="{{ vault_lab_password }}")
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(yaml.safe_dump({"all": {"vars": {"vault_lab_password": fleet.password}}}))
    done = cli("plan", PLAYBOOK, "-i", inventory, "-i", str(secrets))
    assert done.returncode == 0, done.stdout + done.stderr
    assert fleet.password not in done.stdout + done.stderr


def test_an_undefined_variable_in_a_connection_setting_is_exit_5(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = rewrite(fleet, tmp_path / "inv.yml", ansible_password="{{ nowhere_defined }}")
    done = cli("plan", PLAYBOOK, "-i", inventory)
    assert done.returncode == 5
    assert "ansible_password" in done.stderr and "nowhere_defined" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_bad_port_is_exit_5_naming_host_and_variable(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = rewrite(fleet, tmp_path / "inv.yml", ansible_port="abc")
    done = cli("plan", PLAYBOOK, "-i", inventory)
    assert done.returncode == 5
    assert "ansible_port='abc' must be a whole number" in done.stderr
    assert done.stderr.startswith("host mail00")


def test_a_wrong_password_is_unreachable_exit_4_and_never_shown(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    canary = "Wrong-Canary-Pw-77aa"
    inventory = rewrite(fleet, tmp_path / "inv.yml", ansible_password=canary)
    done = cli("plan", PLAYBOOK, "-i", inventory)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "AUTH-FAILED" in done.stdout.upper()
    assert canary not in done.stdout + done.stderr
    quiet = cli("plan", PLAYBOOK, "-i", inventory, "-q")
    assert quiet.returncode == 4
    assert "mail001: UNREACHABLE auth-failed" in quiet.stdout
    assert "2 host(s) unreachable" in quiet.stdout


def test_an_unknown_winrm_transport_is_exit_5(fleet: Fleet, cli: Cli, tmp_path: Path) -> None:
    inventory = rewrite(fleet, tmp_path / "inv.yml", ansible_winrm_transport="telepathy")
    done = cli("plan", PLAYBOOK, "-i", inventory)
    assert done.returncode == 5
    assert "ansible_winrm_transport='telepathy' must be one of ntlm" in done.stderr


def test_an_ssh_host_with_nothing_to_offer_is_auth_failed_tried_once(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = rewrite(
        fleet,
        tmp_path / "inv.yml",
        ansible_password=None,
        ansible_connection="ssh",
        ansible_port="{{ lab_ssh_port }}",
        ansible_shell_type="cmd",
    )
    done = cli("plan", PLAYBOOK, "-i", inventory, "-l", "mail001", "-v")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no password or key to offer" in done.stdout
    assert "retrying" not in done.stderr


def test_a_mailsite_host_over_ssh_without_the_cmd_shell_is_told_so(
    fleet: Fleet, cli: Cli, tmp_path: Path
) -> None:
    inventory = rewrite(
        fleet,
        tmp_path / "inv.yml",
        ansible_connection="ssh",
        ansible_shell_type=None,
        ansible_port="{{ lab_ssh_port }}",
    )
    done = cli("plan", PLAYBOOK, "-i", inventory, "-l", "mail001")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "set ansible_shell_type: cmd" in done.stdout


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"ansible_winrm_ca_trust_path": "/nonexistent/ca.pem"},
            "ansible_winrm_ca_trust_path /nonexistent/ca.pem: no readable file there",
        ),
        ({"ansible_user": None}, "WinRM needs ansible_user"),
    ],
)
def test_what_is_wrong_on_this_side_is_exit_5_before_connecting(
    fleet: Fleet, cli: Cli, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    inventory = rewrite(fleet, tmp_path / "inv.yml", **changes)
    done = cli("plan", PLAYBOOK, "-i", inventory)
    assert done.returncode == 5, done.stdout + done.stderr
    assert message in done.stderr
