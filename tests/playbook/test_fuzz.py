"""Fuzzing: every input either loads or fails with one `path:line:col: message` line, exit 5."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediate.errors import InputError
from remediate.model import Host
from remediate.playbook import PLAY_KEYS, Playbook, render_task
from remediate.secrets import Secret

from .support import make_registry

PATH = "fuzz.yml"
ERROR_LINE = re.compile(r"^fuzz\.yml:(\d+):(\d+): \S[^\n]*$")
REGISTRY = make_registry()
# REMEDIATE_FUZZ_SCALE=20 runs twenty times the examples (for a long fuzzing session).
SCALE = int(os.environ.get("REMEDIATE_FUZZ_SCALE", "1"))

TOKENS = [
    "- ",
    "  ",
    "    ",
    "\n",
    "\t",
    ":",
    ": ",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "*b",
    "<<: ",
    "!!set ",
    "!vault ",
    "!!binary ",
    "!!int ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "? ",
    "~",
    "null",
    "true",
    "yes",
    "0",
    "-1",
    "150",
    "30%",
    "1e999",
    "2026-13-45",
    "{{ x }}",
    "{{",
    "}}",
    "hosts",
    "tasks",
    "vars",
    "serial",
    "tags",
    "name",
    "max_fail_percentage",
    "any_errors_fatal",
    "diagnostic.ping",
    "diagnostic.pnig",
    "mailsite.reply_once",
    "data",
    "mailbox",
    "all",
    "mail01",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "é",
    "\\",
    "\r\n",
]


def check(data: bytes) -> None:
    """The property: a Playbook, or an InputError that is one well-formed located line."""
    try:
        Playbook.from_bytes(data, PATH, REGISTRY)
    except InputError as exc:
        line = exc.location_line()
        match = ERROR_LINE.match(line)
        assert match, line
        assert int(match.group(1)) >= 1 and int(match.group(2)) >= 1
        # YAML counts NEL, LS and PS as line breaks too, so the line numbers do.
        text = data.decode("utf-8", "replace")
        lines = len(re.split("\r\n|[\n\r\x85\u2028\u2029]", text))
        assert int(match.group(1)) <= lines + 1, line


@settings(max_examples=400 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_ish_text(text: str) -> None:
    check(text.encode("utf-8"))


@settings(max_examples=200 * SCALE, deadline=None)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    check(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200 * SCALE, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    check(data)


SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False),
    st.sampled_from(["all", "30%", "150%", "x,y", "", "{{ v }}", "mail-01", "diagnostic.ping"]),
    st.text(max_size=10),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
TASK = st.dictionaries(
    st.sampled_from(["name", "tags", "diagnostic.ping", "mailsite.reply_once", "tag", "when"]),
    st.one_of(
        VALUE, st.fixed_dictionaries({}, optional={"data": VALUE, "mailbox": VALUE, "dta": VALUE})
    ),
    max_size=3,
)
PLAY = st.dictionaries(
    st.sampled_from([*PLAY_KEYS, "host", "gather_facts"]),
    st.one_of(VALUE, st.lists(TASK, max_size=3)),
    max_size=6,
)


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(PLAY, max_size=3), VALUE))
def test_structured_plays(document: Any) -> None:
    check(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


GOOD_PLAY = st.fixed_dictionaries(
    {"hosts": st.sampled_from(["all", "mailservers", "mail0*:!mail03"])},
    optional={
        "name": st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=20),
        "serial": st.lists(
            st.integers(1, 50) | st.sampled_from(["10%", "100%"]), min_size=1, max_size=3
        ),
        "max_fail_percentage": st.integers(0, 100),
        "any_errors_fatal": st.booleans(),
        "tags": st.lists(st.sampled_from(["a", "b", "always"]), max_size=2),
        "tasks": st.lists(
            st.fixed_dictionaries(
                {
                    "diagnostic.ping": st.fixed_dictionaries(
                        {}, optional={"data": st.sampled_from(["pong", "hi there"])}
                    )
                },
                optional={"name": st.sampled_from(["ping", "again"]), "tags": st.just(["x"])},
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=150 * SCALE, deadline=None)
@given(st.lists(GOOD_PLAY, min_size=1, max_size=3))
def test_valid_plays_load_and_render(plays: list[dict[str, Any]]) -> None:
    book = Playbook.from_bytes(yaml.safe_dump(plays).encode(), PATH, REGISTRY)
    host = Host("mail01", {"ansible_password": Secret("s3cret")}, ("mailservers",))
    for source, play in zip(plays, book.plays, strict=True):
        assert play.hosts == source["hosts"]
        assert play.serial == tuple(source.get("serial", ()))
        assert len(play.tasks) == len(source.get("tasks", []))
        for call in play.tasks:
            task = render_task(call, play, host, REGISTRY)
            assert task.name == "diagnostic.ping"


TEMPLATE = st.lists(
    st.sampled_from(
        [
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            " x ",
            " pw ",
            " n ",
            "|",
            " default(1) ",
            " upper ",
            "~",
            "+",
            "*",
            "**",
            "(",
            ")",
            "[",
            "]",
            ".",
            "'",
            "if",
            "for",
            "endfor",
            "9",
            "range(3)",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300 * SCALE, deadline=None)
@given(TEMPLATE)
def test_any_template_renders_or_is_an_input_error(template: str) -> None:
    text = yaml.safe_dump(
        [{"hosts": "all", "tasks": [{"mailsite.reply_once": {"mailbox": template}}]}]
    )
    try:
        book = Playbook.from_bytes(text.encode(), PATH, REGISTRY)
        play = book.plays[0]
        host = Host("mail01", {"pw": Secret("hush-7"), "x": "a@b.c", "n": 3})
        render_task(play.tasks[0], play, host, REGISTRY)
    except InputError as exc:
        assert ERROR_LINE.match(exc.location_line()), exc.location_line()
        assert "hush-7" not in exc.location_line()


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40).map("".join))
def test_cli_never_shows_a_traceback(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        book = Path(directory) / "fuzz.yml"
        book.write_text(text, encoding="utf-8", errors="surrogatepass")
        inventory = Path(directory) / "hosts.ini"
        inventory.write_text("mail01\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "remediate", "validate", str(book), "-i", str(inventory)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode in (0, 5), result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 5:
        (line,) = result.stderr.splitlines()
        assert re.match(rf"^{re.escape(str(book))}:\d+:\d+: \S", line), line
