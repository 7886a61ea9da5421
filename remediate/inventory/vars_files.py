"""`group_vars/` and `host_vars/` beside each inventory source, found and merged as Ansible does."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from remediate.errors import InputError
from remediate.inventory.yaml_format import load_yaml

VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")

ReadFile = Callable[[str], bytes]


def vars_dir_for(source: str) -> str:
    """The directory whose group_vars/ and host_vars/ belong to an inventory source."""
    base = source if os.path.isdir(source) else os.path.dirname(source)
    return os.path.realpath(base or ".")


def find_vars_files(directory: str, name: str, listing: frozenset[str] | None = None) -> list[str]:
    """`<name>` or `<name>.yml|.yaml|.json` (first found wins); a directory gives all its files.

    `listing` (the directory's entries, if already known) saves a stat per candidate.
    """
    if name.startswith(os.sep) or not os.path.isdir(directory):
        return []
    base = os.path.join(directory, name)
    for extension in VARS_EXTENSIONS:
        candidate = base + extension
        if listing is not None and os.sep not in name and name + extension not in listing:
            continue
        if os.path.exists(candidate):
            if os.path.isdir(candidate):
                return _files_in(candidate)
            return [candidate]
    return []


def _files_in(directory: str) -> list[str]:
    found: list[str] = []
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        full = os.path.join(directory, entry)
        extension = os.path.splitext(entry)[1]
        if os.path.isdir(full) and not extension:
            found.extend(_files_in(full))
        elif os.path.isfile(full) and extension in VARS_EXTENSIONS:
            found.append(full)
    return found


class VarsFiles:
    """Loads each vars file once; `read` records what was read (for the inventory digest)."""

    def __init__(self, sources: tuple[str, ...], read: ReadFile) -> None:
        self.dirs = [vars_dir_for(s) for s in sources]
        self._read = read
        self._cache: dict[str, dict[str, Any]] = {}
        self._found: dict[tuple[str, str], list[str]] = {}
        self._listings: dict[str, frozenset[str] | None] = {}

    def for_entity(self, kind: str, name: str, dirs: list[str] | None = None) -> dict[str, Any]:
        """Merged vars of `group_vars/<name>` or `host_vars/<name>` over every source, in order."""
        merged: dict[str, Any] = {}
        for directory in self.dirs if dirs is None else dirs:
            for path in self._find(os.path.join(directory, kind), name):
                merged.update(self._load(path))
        return merged

    def _find(self, directory: str, name: str) -> list[str]:
        key = (directory, name)
        if key not in self._found:
            self._found[key] = find_vars_files(directory, name, self._listing(directory))
        return self._found[key]

    def _listing(self, directory: str) -> frozenset[str] | None:
        if directory not in self._listings:
            try:
                self._listings[directory] = frozenset(os.listdir(directory))
            except OSError:
                self._listings[directory] = None
        return self._listings[directory]

    def for_groups(self, names: list[str]) -> dict[str, Any]:
        """Group vars of several groups: per source, the groups in the given (precedence) order."""
        merged: dict[str, Any] = {}
        for directory in self.dirs:
            for name in names:
                merged.update(self.for_entity("group_vars", name, [directory]))
        return merged

    def _load(self, path: str) -> dict[str, Any]:
        if path not in self._cache:
            data = load_yaml(self._read(path), path)
            if not data:  # Ansible ignores empty files (and any other falsy document)
                data = {}
            if not isinstance(data, Mapping):
                raise InputError(
                    f"variables file must hold a mapping, got {type(data).__name__}", path, 1, 1
                )
            for key in data:
                if not isinstance(key, str):
                    line, col = getattr(data, "where", lambda _k: (1, 1))(key)
                    raise InputError(f"variable name {key!r} must be a string", path, line, col)
            self._cache[path] = dict(data)
        return self._cache[path]
