"""The mutable group/host graph the loaders fill, with Ansible's rules for depth and ungrouped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LOCALHOST_NAMES = ("127.0.0.1", "localhost", "::1")


Origin = tuple[str, int, int]


class GraphError(ValueError):
    """A group or host operation Ansible refuses (loops, unknown names, empty names)."""

    def __init__(self, message: str, origin: Origin | None = None) -> None:
        super().__init__(message)
        self.origin = origin


class GroupNode:
    """One group: its own vars, direct hosts and child groups, in insertion order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.vars: dict[str, Any] = {}
        self.hosts: list[str] = []
        self.children: list[GroupNode] = []
        self.parents: list[GroupNode] = []
        self.priority = 1
        self.depth = 0

    def ancestors(self) -> set[str]:
        seen: set[str] = set()
        stack = list(self.parents)
        while stack:
            group = stack.pop()
            if group.name not in seen:
                seen.add(group.name)
                stack.extend(group.parents)
        return seen

    def descendants_in_order(self) -> list[GroupNode]:
        """Self, then children level by level (Ansible's walk, made deterministic)."""
        ordered = [self]
        seen = {self.name}
        level = [self]
        while level:
            following: list[GroupNode] = []
            for group in level:
                for child in group.children:
                    if child.name not in seen:
                        seen.add(child.name)
                        ordered.append(child)
                        following.append(child)
            level = following
        return ordered

    def all_hosts(self) -> list[str]:
        """Every host in this group or any descendant, first occurrence kept."""
        result: dict[str, None] = {}
        for group in self.descendants_in_order():
            for host in group.hosts:
                result.setdefault(host, None)
        return list(result)


class HostNode:
    """One host: its own vars and the groups it was put in directly."""

    def __init__(self, name: str, port: int | None, origin: Origin | None) -> None:
        self.name = name
        self.origin = origin  # where the host was first named (for late errors)
        self.vars: dict[str, Any] = {}
        self.groups: list[str] = []
        self.excluded: set[str] = set()
        if port:
            self.vars["ansible_port"] = int(port)


class InventoryGraph:
    """Groups and hosts as Ansible's InventoryData keeps them (all and ungrouped always exist)."""

    def __init__(self) -> None:
        self.groups: dict[str, GroupNode] = {}
        self.hosts: dict[str, HostNode] = {}
        self.location: Origin | None = None  # set by the loaders as they read
        self.add_group("all")
        self.add_group("ungrouped")
        self.add_child("all", "ungrouped")

    def add_group(self, name: object) -> str:
        if not isinstance(name, str):
            raise GraphError(f"invalid group name {name!r}: expected a string")
        if not name:
            raise GraphError("invalid empty group name")
        self.groups.setdefault(name, GroupNode(name))
        return name

    def add_host(self, name: object, group: str | None, port: int | None = None) -> None:
        if not isinstance(name, str):
            raise GraphError(f"invalid host name {name!r}: expected a string")
        if not name:
            raise GraphError("invalid empty host name")
        if group is not None and group not in self.groups:
            raise GraphError(f"could not find group {group} in inventory")
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostNode(name, port, self.location)
        if group is not None and name not in self.groups[group].hosts:
            self.groups[group].hosts.append(name)
            host.groups.append(group)

    def set_variable(self, entity: str, key: object, value: Any) -> None:
        if not isinstance(key, str):
            raise GraphError(f"variable name {key!r} must be a string")
        if entity in self.groups:
            self._set_group_variable(self.groups[entity], key, value)
        elif entity in self.hosts:
            self.hosts[entity].vars[key] = value
        else:
            raise GraphError(f"could not identify group or host named {entity}")

    @staticmethod
    def _set_group_variable(group: GroupNode, key: str, value: Any) -> None:
        if key != "ansible_group_priority":
            group.vars[key] = value
            return
        try:
            group.priority = int(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise GraphError(f"ansible_group_priority must be an integer, got {value!r}") from exc

    def add_child(self, group: str, child: str) -> None:
        if group not in self.groups:
            raise GraphError(f"{group} is not a known group")
        if child == "all":
            # Ansible fails later (every group ends up under all): a dependency loop.
            raise GraphError(f"group 'all' cannot be a child of {group!r} (dependency loop)")
        if child in self.groups:
            self._add_child_group(self.groups[group], self.groups[child])
        elif child in self.hosts:
            self.add_host(child, group)
        else:
            raise GraphError(f"{child} is not a known host nor group")

    def _add_child_group(self, parent: GroupNode, child: GroupNode) -> None:
        if parent is child:
            raise GraphError(f"can't add group {parent.name} to itself")
        if child in parent.children:
            return
        if child.name in parent.ancestors():
            raise GraphError(
                f"adding group {child.name!r} as child to {parent.name!r} "
                "creates a recursive dependency loop"
            )
        parent.children.append(child)
        if parent not in child.parents:
            child.parents.append(parent)
        self._deepen(child, parent.depth + 1)

    def _deepen(self, group: GroupNode, depth: int) -> None:
        if group.depth >= depth:
            return
        group.depth = depth
        for child in group.children:
            self._deepen(child, depth + 1)

    def reconcile(self) -> None:
        """Top-level groups go under all; hosts without a group go to ungrouped, others leave it."""
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name)
        ungrouped = self.groups["ungrouped"]
        for host in self.hosts.values():
            others = self.host_group_names(host.name) - {"all", "ungrouped"}
            if "ungrouped" in host.groups:
                if others:
                    ungrouped.hosts.remove(host.name)
                    host.groups.remove("ungrouped")
                    self._forget_ungrouped(host)
            elif not others:
                # Ansible adds by name, so a host named like a group adds that group instead.
                try:
                    self.add_child("ungrouped", host.name)
                except GraphError as exc:
                    raise GraphError(f"host {host.name!r}: {exc}", host.origin) from None

    def _forget_ungrouped(self, host: HostNode) -> None:
        # Ansible drops ungrouped (and its exclusive ancestors) from the host's group list,
        # even when ungrouped is also the parent of one of the host's groups.
        host.excluded.add("ungrouped")
        remaining = self.host_group_names(host.name)
        for ancestor in self.groups["ungrouped"].ancestors() - {"all"}:
            if not any(ancestor in self.groups[g].ancestors() for g in remaining):
                host.excluded.add(ancestor)

    def host_group_names(self, host: str) -> set[str]:
        """Every group a host belongs to, directly or through a child group (including all)."""
        node = self.hosts[host]
        names: set[str] = set()
        for direct in node.groups:
            names.add(direct)
            names |= self.groups[direct].ancestors()
        return names - node.excluded

    def sorted_groups(self, names: set[str]) -> list[GroupNode]:
        """Groups in Ansible's variable order: shallow first, then priority, then name."""
        nodes = [self.groups[n] for n in names]
        return sorted(nodes, key=lambda g: (g.depth, g.priority, g.name))

    def iter_hosts_in_order(self) -> Iterator[str]:
        yield from self.groups["all"].all_hosts()
