"""Ansible-compatible inventories (INI, YAML, group_vars/host_vars, host patterns): `Inventory`."""

from __future__ import annotations

from remediate.inventory.core import Inventory
from remediate.inventory.patterns import split_host_pattern

__all__ = ["Inventory", "split_host_pattern"]
