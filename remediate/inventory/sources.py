"""Reading inventory sources (files or directories) into one graph: YAML first, then INI."""

from __future__ import annotations

import hashlib
import os
import re

from remediate.errors import InputError
from remediate.inventory.data import InventoryGraph
from remediate.inventory.ini import parse_ini
from remediate.inventory.yaml_format import NotYamlInventory, parse_yaml

YAML_EXTENSIONS = ("", ".yml", ".yaml", ".json")
_IGNORED_EXTENSIONS = (
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".cfg",
    ".retry",
)
_IGNORED_NAMES = re.compile(r"^\.|^host_vars$|^group_vars$|^vars_plugins$")


class FileReader:
    """Reads files once each and keeps a sha256 over (path, bytes) in the order they were read."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._seen: dict[str, bytes] = {}

    def __call__(self, path: str) -> bytes:
        if path not in self._seen:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise InputError(f"cannot read file: {exc.strerror or exc}", path) from None
            self._seen[path] = data
            self._digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
            self._digest.update(len(data).to_bytes(8, "big") + data)
        return self._seen[path]

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def load_source(source: str, graph: InventoryGraph, read: FileReader) -> None:
    """Parse one `-i` source (a file, or every inventory file in a directory) into `graph`."""
    if os.path.isdir(source):
        for entry in sorted(os.listdir(source)):
            if _IGNORED_NAMES.search(entry) or entry.endswith(_IGNORED_EXTENSIONS):
                continue
            load_source(os.path.join(source, entry), graph, read)
        return
    if not os.path.exists(source):
        raise InputError("inventory source not found", source)
    _load_file(source, graph, read)


def _load_file(path: str, graph: InventoryGraph, read: FileReader) -> None:
    data = read(path)
    extension = os.path.splitext(path)[1]
    if extension not in YAML_EXTENSIONS:
        if extension == ".toml":
            raise InputError("TOML inventories are not supported", path)
        parse_ini(data, path, graph)
        return
    try:
        parse_yaml(data, path, graph)
        return
    except NotYamlInventory as yaml_error:
        # Not YAML-shaped: Ansible then tries its INI plugin on the same file.
        try:
            parse_ini(data, path, graph)
        except InputError as ini_error:
            raise (yaml_error if extension else ini_error) from None
    except InputError as yaml_error:
        # A YAML mapping with a bad entry: Ansible still tries INI, which rarely accepts it.
        try:
            parse_ini(data, path, graph)
        except InputError:
            raise yaml_error from None
