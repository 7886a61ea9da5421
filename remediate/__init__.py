"""remediate: keep MailSite mail servers off spam blacklists.

import remediate
plan = remediate.plan("playbooks/keep-off-blacklists.yml", "inventories/production.ini")
result = remediate.apply(plan)
result.raise_on_error()
"""

from __future__ import annotations

from typing import Any

from remediate.api import apply, plan, rollback, run, save_plan
from remediate.engine.events import Event
from remediate.engine.planfile import load_plan
from remediate.errors import InputError, RemediateError
from remediate.model import Change, Finding, HostPlan, HostResult, Plan, RunResult
from remediate.secrets import Secret

__all__ = [
    "Change",
    "Event",
    "Finding",
    "HostPlan",
    "HostResult",
    "InputError",
    "Inventory",
    "Plan",
    "Playbook",
    "RemediateError",
    "RunResult",
    "Secret",
    "apply",
    "load_plan",
    "plan",
    "rollback",
    "run",
    "save_plan",
]


def __getattr__(name: str) -> Any:
    # Inventory and Playbook load lazily so `import remediate` stays cheap.
    if name == "Inventory":
        from remediate.inventory import Inventory

        return Inventory
    if name == "Playbook":
        from remediate.playbook import Playbook

        return Playbook
    raise AttributeError(name)
