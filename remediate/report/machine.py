"""Machine-readable results: JSON documents and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from remediate.model import HostResult, RunResult
from remediate.secrets import mask_value


def result_to_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "kind": result.kind,
        "aborted": result.aborted,
        "exit_code": result.exit_code,
        "changed": result.changed,
        "failed": result.failed,
        "hosts": [_host_json(h) for h in result.hosts],
        "irreversible": [c.address for c in result.irreversible],
    }


def _host_json(host: HostResult) -> dict[str, Any]:
    return {
        "host": host.host,
        "play": host.play,
        "status": host.status,
        "message": host.message,
        "round_trips": host.round_trips,
        "changes": [
            {
                "address": c.change.address,
                "action": c.change.action,
                "status": c.status,
                "error": c.error,
                "before": mask_value(c.change.before),
                "after": mask_value(c.change.after),
            }
            for c in host.changes
        ],
        "findings": [attrs.asdict(f) for f in host.findings],
    }


def write_junit(path: str | Path, suite: str, hosts: Sequence[HostResult]) -> None:
    """One testcase per host; failed, unreachable and stale hosts are failures."""
    failures = sum(1 for h in hosts if h.failed)
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(hosts)),
        failures=str(failures),
        errors="0",
        skipped=str(sum(1 for h in hosts if h.status == "skipped")),
    )
    several = len({h.play for h in hosts}) > 1
    for host in hosts:
        name = f"{host.host} (play {host.play + 1})" if several else host.host
        case = ET.SubElement(node, "testcase", classname=suite, name=name)
        if host.failed:
            failure = ET.SubElement(
                case, "failure", type=host.status, message=host.message or host.status
            )
            failure.text = "\n".join(
                f"{c.status} {c.change.address} {c.error or ''}".rstrip() for c in host.changes
            )
        elif host.status == "skipped":
            ET.SubElement(case, "skipped", message=host.message or "skipped")
        else:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"{c.status} {c.change.address}" for c in host.changes)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
