"""Fact gathering: every task's fact requests, deduplicated, read in one batch per host."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from remediate.model import Host
from remediate.tasks.base import Fact
from remediate.transport.base import Connection


def unique_facts(requests: Iterable[Fact]) -> list[Fact]:
    """The fact requests with duplicates (same key) dropped, first one kept."""
    seen: dict[str, Fact] = {}
    for fact in requests:
        seen.setdefault(fact.key, fact)
    return list(seen.values())


def gather_facts(conn: Connection, host: Host, requests: Sequence[Fact]) -> dict[str, Any]:
    """Read every requested fact: one pipelined batch, plus one more only if a fact asks."""
    facts = unique_facts(requests)
    values = _batch(
        conn, host, facts, lambda f: f.commands(host), lambda f, results: f.process(host, results)
    )
    needing = [f for f in facts if f.refine(host, values[f.key])]
    if needing:
        refined = _batch(
            conn,
            host,
            needing,
            lambda f: f.refine(host, values[f.key]),
            lambda f, results: f.process_refined(host, values[f.key], results),
        )
        values.update(refined)
    return values


def _batch(
    conn: Connection, host: Host, facts: Sequence[Fact], commands_of: Any, process: Any
) -> dict[str, Any]:
    commands: list[str] = []
    spans: list[tuple[Fact, int, int]] = []
    for fact in facts:
        own = list(commands_of(fact))
        spans.append((fact, len(commands), len(commands) + len(own)))
        commands.extend(own)
    results = conn.run_batch(commands, safe_to_repeat=True) if commands else []
    return {fact.key: process(fact, results[start:end]) for fact, start, end in spans}
