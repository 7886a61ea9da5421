"""Writes the lab's Ansible YAML inventory (groups mailsite, workstations) and known_hosts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from remediate.lab.certs import write_private


@attrs.frozen
class LabEntry:
    """One lab host as the inventory shows it."""

    name: str
    group: str  # "mailsite" | "workstations"
    connection: str  # "winrm" | "ssh": the protocol the inventory points clients at
    winrm_port: int | None
    ssh_port: int | None


@attrs.frozen
class LabAccess:
    """What every host entry shares: credentials and the files clients verify the lab with."""

    user: str
    password: str
    ca_path: Path
    known_hosts_path: Path
    client_key_path: Path


def host_vars(entry: LabEntry, access: LabAccess) -> dict[str, Any]:
    """Ansible connection variables for one lab host."""
    port = entry.winrm_port if entry.connection == "winrm" else entry.ssh_port
    values: dict[str, Any] = {
        "ansible_host": "127.0.0.1",
        "ansible_port": port,
        "ansible_user": access.user,
        "ansible_password": access.password,
        "ansible_connection": entry.connection,
        "ansible_shell_type": "cmd",
    }
    if entry.connection == "winrm":
        values.update(
            ansible_winrm_scheme="https",
            ansible_winrm_transport="basic",
            ansible_winrm_ca_trust_path=str(access.ca_path),
            ansible_winrm_server_cert_validation="validate",
        )
    if entry.ssh_port is not None:
        values["remediate_known_hosts"] = str(access.known_hosts_path)
        values["lab_ssh_private_key_file"] = str(access.client_key_path)
        values["lab_ssh_port"] = entry.ssh_port
    if entry.winrm_port is not None:
        values["lab_winrm_port"] = entry.winrm_port
        values.setdefault("ansible_winrm_ca_trust_path", str(access.ca_path))
    return values


def render_inventory(entries: Sequence[LabEntry], access: LabAccess) -> str:
    """The inventory as YAML text (hosts in the given order within their group)."""
    groups: dict[str, dict[str, Any]] = {"mailsite": {}, "workstations": {}}
    for entry in entries:
        groups.setdefault(entry.group, {})[entry.name] = host_vars(entry, access)
    children = {group: {"hosts": hosts} for group, hosts in groups.items()}
    document = {"all": {"children": children}}
    header = "# Written by `remediate lab up`: lab credentials, not real ones.\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def write_inventory(path: Path, entries: Sequence[LabEntry], access: LabAccess) -> None:
    """Write DIR/inventory.yml (0600: it holds the lab password)."""
    write_private(path, render_inventory(entries, access).encode("utf-8"))


def write_known_hosts(path: Path, lines: Sequence[str]) -> None:
    """Write DIR/known_hosts, one `[127.0.0.1]:PORT TYPE KEY` line per SSH server."""
    path.write_text("".join(f"{line}\n" for line in lines), encoding="ascii")
