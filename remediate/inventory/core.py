"""The Inventory: loaded from `-i` sources; hosts with merged vars, patterns, ansible views."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from remediate.errors import InputError
from remediate.inventory.data import LOCALHOST_NAMES, GraphError, InventoryGraph
from remediate.inventory.patterns import PatternMatcher, read_limit, split_host_pattern
from remediate.inventory.render import graph_text, list_json, render_value
from remediate.inventory.sources import FileReader, load_source
from remediate.inventory.vars_files import VarsFiles
from remediate.model import Host
from remediate.secrets import Secret, is_secret_key

# Variables ansible-inventory never shows (Ansible's INTERNAL_STATIC_VARS).
INTERNAL_VARS = frozenset(
    {
        "ansible_async_path",
        "ansible_collection_name",
        "ansible_config_file",
        "ansible_dependent_role_names",
        "ansible_diff_mode",
        "ansible_facts",
        "ansible_forks",
        "ansible_inventory_sources",
        "ansible_limit",
        "ansible_play_batch",
        "ansible_play_hosts",
        "ansible_play_hosts_all",
        "ansible_play_role_names",
        "ansible_playbook_python",
        "ansible_role_name",
        "ansible_role_names",
        "ansible_run_tags",
        "ansible_skip_tags",
        "ansible_verbosity",
        "ansible_version",
        "inventory_dir",
        "inventory_file",
        "inventory_hostname",
        "inventory_hostname_short",
        "groups",
        "group_names",
        "hostvars",
        "playbook_dir",
        "play_hosts",
        "role_name",
        "role_names",
        "role_path",
        "role_uuid",
    }
)


class _Loaded:
    """Everything read from the sources; shared (never mutated) by filtered inventories."""

    def __init__(self, sources: tuple[str, ...]) -> None:
        self.reader = FileReader()
        self.graph = InventoryGraph()
        for source in sources:
            load_source(source, self.graph, self.reader)
        try:
            self.graph.reconcile()
        except GraphError as exc:
            path, line, col = exc.origin or (sources[-1], 1, 1)
            raise InputError(str(exc), path, line, col) from None
        self.vars_files = VarsFiles(sources, self.reader)
        walked = list(self.graph.iter_hosts_in_order())
        # Hosts no group reaches (only in odd name clashes) still exist, as in Ansible.
        reached = set(walked)
        self.order = walked + [n for n in self.graph.hosts if n not in reached]
        self.raw_vars = {name: self._merged_vars(name) for name in self.order}
        self.all_vars = self._all_group_vars()
        self.matcher = PatternMatcher(self.graph)

    def _merged_vars(self, name: str) -> dict[str, Any]:
        """Precedence: all < groups (depth, priority, name) < group_vars/ < host < host_vars/."""
        graph = self.graph
        groups = graph.sorted_groups(graph.host_group_names(name) - {"all"})
        merged: dict[str, Any] = dict(graph.groups["all"].vars)
        for group in groups:
            merged.update(group.vars)
        merged.update(self.vars_files.for_entity("group_vars", "all"))
        merged.update(self.vars_files.for_groups([g.name for g in groups]))
        merged.update(graph.hosts[name].vars)
        merged.update(self.vars_files.for_entity("host_vars", name))
        return {k: v for k, v in merged.items() if k not in INTERNAL_VARS}

    def _all_group_vars(self) -> dict[str, Any]:
        merged = dict(self.graph.groups["all"].vars)
        merged.update(self.vars_files.for_entity("group_vars", "all"))
        return merged


def _wrap_secrets(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Values under secret-named keys (at any depth) become Secret objects, leaf by leaf."""
    return {key: _wrap(value, _secret_key(key)) for key, value in variables.items()}


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and is_secret_key(key)


def _wrap(value: Any, secret: bool) -> Any:
    if secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return Secret(str(value))
    if isinstance(value, Mapping):
        return {k: _wrap(v, secret or _secret_key(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wrap(v, secret) for v in value]
    return value


class Inventory:
    """An Ansible-compatible inventory. Immutable: `filter()` returns a new one."""

    def __init__(self, loaded: _Loaded, sources: tuple[str, ...], allowed: frozenset[str] | None):
        self._loaded = loaded
        self.sources = sources
        self._allowed = allowed
        names = [n for n in loaded.order if allowed is None or n in allowed]
        self.hosts: dict[str, Host] = {n: self._make_host(n) for n in names}

    @classmethod
    def load(cls, sources: Sequence[str]) -> Inventory:
        """Read every source in order (later ones add to and override earlier ones)."""
        if isinstance(sources, str):
            sources = [sources]
        if not sources:
            raise InputError("no inventory source given (use -i PATH)")
        resolved = tuple(os.fspath(s) for s in sources)
        return cls(_Loaded(resolved), resolved, None)

    def _make_host(self, name: str) -> Host:
        graph = self._loaded.graph
        if name in graph.hosts:
            groups = tuple(sorted(graph.host_group_names(name) - {"all"}))
            return Host(name, _wrap_secrets(self._loaded.raw_vars[name]), groups)
        implicit = dict(self._loaded.all_vars, ansible_connection="local")
        return Host(name, _wrap_secrets(implicit), ())

    def get_host(self, name: str) -> Host:
        """The host of that exact name (localhost names give Ansible's implicit localhost)."""
        if name in self.hosts:
            return self.hosts[name]
        if name in LOCALHOST_NAMES and name not in self._loaded.graph.hosts:
            return self._make_host(name)
        raise InputError(f"unknown host {name!r}")

    def group_names(self) -> list[str]:
        return sorted(self._loaded.graph.groups)

    def groups_dict(self) -> dict[str, list[str]]:
        """Ansible's `groups` magic variable: every group (empty ones too) -> its hosts, in
        inventory order, children's hosts included. Like Ansible, --limit does not narrow it."""
        return {name: group.all_hosts() for name, group in self._loaded.graph.groups.items()}

    def digest(self) -> str:
        """sha256 over every file read (path and bytes, in load order)."""
        return self._loaded.reader.hexdigest()

    def select(self, pattern: str | Sequence[str], limit: str | None = None) -> list[Host]:
        """Hosts matching a play's `hosts` pattern, narrowed by `--limit` (`@file` allowed)."""
        names = self._select_names(pattern, limit)
        return [self.hosts[n] if n in self.hosts else self._make_host(n) for n in names]

    def _select_names(self, pattern: str | Sequence[str], limit: str | None) -> list[str]:
        matcher = self._loaded.matcher
        names = matcher.evaluate(split_host_pattern(pattern))
        if limit is not None:
            subset = set(matcher.evaluate(read_limit(limit)))
            names = [n for n in names if n in subset]
        if self._allowed is not None:
            names = [n for n in names if n in self._allowed]
        return names

    def filter(self, pattern: str, limit: str | None = None) -> Inventory:
        """A new inventory holding only the hosts `pattern` matches (groups kept, like --limit)."""
        names = [n for n in self._select_names(pattern, limit) if n in self._loaded.graph.hosts]
        return Inventory(self._loaded, self.sources, frozenset(names))

    def list_json(self, show_secrets: bool = False) -> dict[str, Any]:
        """What `ansible-inventory --list` prints (secret values masked unless asked)."""
        # ansible-inventory lists what pattern "all" selects (only host "all" if one has that name).
        available = [n for n in self._select_names("all", None) if n in self.hosts]
        return list_json(self._loaded.graph, self._loaded.raw_vars, available, show_secrets)

    def graph(self, pattern: str = "all") -> str:
        """What `ansible-inventory --graph [group]` prints."""
        if pattern not in self._loaded.graph.groups:
            raise InputError(f"pattern must be a valid group name when using --graph: {pattern!r}")
        return graph_text(self._loaded.graph, pattern, self._allowed)

    def host_json(self, name: str, show_secrets: bool = False) -> dict[str, Any]:
        """What `ansible-inventory --host NAME` prints."""
        matched = self.select(name)
        if len(matched) != 1:
            raise InputError(f"--host needs a pattern matching exactly one host: {name!r}")
        host = matched[0]
        raw = self._loaded.raw_vars.get(host.name, host.vars)
        result = render_value(raw, show_secrets)
        assert isinstance(result, dict)
        return result
