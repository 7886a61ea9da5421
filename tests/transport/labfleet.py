"""Helpers around a lab Fleet for the transport integration tests."""

from __future__ import annotations

from typing import Any

import yaml

from remediate.lab.fleet import Fleet
from remediate.lab.host import LabHost
from remediate.model import ConnectionSettings
from remediate.transport.retry import RetryPolicy

MSBOX = "C:\\Program Files\\Rockliffe\\MailSite\\msbox.exe"
FAST_RETRIES = RetryPolicy(attempts=3, deadline=10.0, initial_backoff=0.05, max_backoff=0.2)


class Lab:
    """The running fleet plus helpers to build connection settings for its hosts."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        data = yaml.safe_load(fleet.inventory_path.read_text(encoding="utf-8"))
        self.vars: dict[str, dict[str, Any]] = {}
        for group in data["all"]["children"].values():
            self.vars.update(group["hosts"] or {})

    def host(self, name: str) -> LabHost:
        return self.fleet.hosts[name]

    def counters(self, name: str) -> dict[str, int]:
        return dict(self.fleet.hosts[name].counters)

    def winrm(self, name: str, **overrides: Any) -> ConnectionSettings:
        hostvars = {
            **self.vars[name],
            "ansible_connection": "winrm",
            "ansible_port": self.vars[name]["lab_winrm_port"],
            "ansible_winrm_transport": "basic",
            "ansible_winrm_scheme": "https",
            "remediate_command_timeout": 20,
            **overrides,
        }
        return ConnectionSettings.from_vars(name, hostvars)

    def ssh(self, name: str, **overrides: Any) -> ConnectionSettings:
        hostvars = {
            **self.vars[name],
            "ansible_connection": "ssh",
            "ansible_port": self.vars[name]["lab_ssh_port"],
            "remediate_command_timeout": 20,
            **overrides,
        }
        return ConnectionSettings.from_vars(name, hostvars)

    def mailboxes(self, name: str) -> list[str]:
        state = self.host(name).state
        return [f"{m.name}@{d.name}" for d in state.domains.values() for m in d.mailboxes.values()]
