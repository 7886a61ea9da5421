"""Fuzzing the INI and YAML loaders: any input loads or fails as one located InputError (exit 5)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediate.cli import main
from remediate.errors import InputError
from remediate.inventory import Inventory

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_NAME_CHARS = "abcxyz019-_.:[]*~!&@ é"
names = st.text(alphabet=_NAME_CHARS, min_size=0, max_size=12)
values = st.one_of(
    st.sampled_from(
        [
            "1",
            "-2",
            "0x1f",
            "1.5",
            "True",
            "None",
            "[1, 2",
            "[1, 'a']",
            "{'a': 1}",
            "{[]: 1}",
            "'quoted'",
            '"dq"',
            "b'\\xff'",
            "1+2j",
            "...",
            "{1, 2}",
            "",
            "a=b",
            "(1,)",
            "1e999",
        ]
    ),
    st.text(alphabet="ab1'\"[]{}=,: \\#", max_size=10),
)


@st.composite
def ini_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["section", "host", "var", "child", "comment", "junk"]))
    if kind == "section":
        suffix = draw(st.sampled_from(["", ":vars", ":children", ":hosts", ":weird", ": x"]))
        return f"[{draw(names)}{suffix}]"
    if kind in ("host", "child"):
        pairs = draw(st.lists(st.tuples(names, values), max_size=3))
        return " ".join([draw(names), *(f"{k}={v}" for k, v in pairs)])
    if kind == "var":
        return f"{draw(names)}={draw(values)}"
    if kind == "comment":
        return draw(st.sampled_from(["# c", "; c", "  # indented"]))
    return draw(st.text(max_size=20))


ini_documents = st.lists(ini_lines(), max_size=15).map("\n".join)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(alphabet=_NAME_CHARS, max_size=8)
)
keys = st.one_of(
    st.sampled_from(["all", "ungrouped", "hosts", "vars", "children", "web", "h1", "plugin"]),
    st.text(alphabet=_NAME_CHARS, max_size=8),
    st.integers(0, 3),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)
yaml_documents = st.one_of(
    trees.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True)),
    st.text(alphabet="abh1:- \n{}[]'\"!&*|>#%@`", max_size=60),
)


def _check_loads_or_located_error(text: str | bytes, filename: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            inventory = Inventory.load([str(path)])
        except InputError as exc:
            assert exc.path == str(path)
            assert isinstance(exc.line, int) and exc.line >= 1, exc
            _check_cli_one_line(path)
            return
        _check_views_render(inventory)


def _check_views_render(inventory: Inventory) -> None:
    json.dumps(inventory.list_json(show_secrets=True), sort_keys=True)
    inventory.graph()
    for name in list(inventory.hosts)[:3]:
        with contextlib.suppress(InputError):  # a host name can be a pattern matching several
            json.dumps(inventory.host_json(name), sort_keys=True)


def _check_cli_one_line(path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["inventory", "-i", str(path), "--list"])
    assert rc == 5
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:"), lines


@FUZZ
@given(ini_documents)
def test_ini_loader_never_crashes(text: str) -> None:
    _check_loads_or_located_error(text, "hosts.ini")


@FUZZ
@given(yaml_documents)
def test_yaml_loader_never_crashes(text: str) -> None:
    _check_loads_or_located_error(text, "hosts.yml")


@FUZZ
@given(st.binary(max_size=80))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _check_loads_or_located_error(data, "hosts")


def test_a_known_bad_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "i.yml"
    path.write_text("all:\n  hosts:\n    h1: {a: 1\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["inventory", "-i", str(path), "--list"]) == 5
    line: Any = err.getvalue().strip()
    assert line.startswith(f"{path}:4:") and "Traceback" not in line
