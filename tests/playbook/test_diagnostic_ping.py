"""diagnostic.ping specs (facts in -> findings out) and its argument checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.model import Change, Finding, Host
from remediate.tasks.base import ArgumentError
from remediate.tasks.diagnostic import Ping
from remediate.transport.base import CommandResult

SPECS = sorted((Path(__file__).parent / "ping").glob("*.yml"))
HOST = Host("mail01", {"ansible_connection": "winrm"}, ("mailservers",))


@pytest.mark.parametrize("spec_path", SPECS, ids=[spec.stem for spec in SPECS])
def test_spec(spec_path: Path) -> None:
    spec: dict[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    task = Ping.from_args(spec["args"])
    (fact,) = task.facts(HOST)
    assert list(fact.commands(HOST)) == spec["commands"]
    value = fact.process(HOST, [CommandResult(**result) for result in spec["results"]])
    assert list(fact.refine(HOST, value)) == []
    facts = {fact.key: value}
    planned = list(task.plan(HOST, facts))
    assert not any(isinstance(item, Change) for item in planned)
    assert [
        {"address": f.address, "severity": f.severity, "message": f.message}
        for f in planned
        if isinstance(f, Finding)
    ] == spec["findings"]
    assert task.relevant(HOST, facts) == value


def test_no_fact_gathered_is_critical() -> None:
    (finding,) = Ping().plan(HOST, {})
    assert isinstance(finding, Finding) and finding.severity == "critical"


def test_same_data_shares_one_fact() -> None:
    assert Ping(data="a").facts(HOST)[0].key == Ping.from_args({"data": "a"}).facts(HOST)[0].key
    assert Ping(data="a").facts(HOST)[0].key != Ping(data="b").facts(HOST)[0].key


@pytest.mark.parametrize(
    "data",
    [
        "x & whoami",
        "a|b",
        "",
        "x" * 65,
        "-n",
        "  -e",
        "off",
        "ON",
        "   ",
        "a\nb",
        "%PATH%",
        "$(id)",
    ],
)
def test_bad_data_is_refused_naming_the_key(data: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        Ping.from_args({"data": data})
    assert caught.value.key == "data"
    assert "'data'" in str(caught.value)


def test_unknown_argument_is_refused() -> None:
    with pytest.raises(ArgumentError) as caught:
        Ping.from_args({"dta": "x"})
    assert caught.value.key == "dta"


def test_numbers_are_text() -> None:
    assert Ping.from_args({"data": 42}) == Ping(data="42")


def test_apply_is_never_possible() -> None:
    change = Change(address="mail01/ping", action="update", before=None, after=None, reason="")
    with pytest.raises(NotImplementedError):
        Ping().apply(None, HOST, change)  # type: ignore[arg-type]
