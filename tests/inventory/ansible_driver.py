"""Runs many ansible-inventory / ansible --list-hosts invocations in one process (test helper).

Reads a JSON list of jobs on stdin: {"cwd": DIR, "argv": ["ansible-inventory", ...]}; prints a
JSON list of {"rc": int, "stdout": str}. Ansible is imported once, which keeps the test fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def run_job(job: dict[str, object]) -> dict[str, object]:
    from ansible.cli.adhoc import AdHocCLI  # type: ignore[import-untyped]
    from ansible.cli.inventory import InventoryCLI  # type: ignore[import-untyped]
    from ansible.parsing.vault import VaultSecretsContext  # type: ignore[import-untyped]
    from ansible.utils.context_objects import GlobalCLIArgs  # type: ignore[import-untyped]
    from ansible.utils.display import Display  # type: ignore[import-untyped]

    argv = [str(a) for a in job["argv"]]  # type: ignore[attr-defined]
    cli_class = InventoryCLI if argv[0] == "ansible-inventory" else AdHocCLI
    os.chdir(str(job["cwd"]))
    out = io.StringIO()
    # Ansible keeps per-run singletons; reset them so each job starts fresh.
    GlobalCLIArgs._Singleton__instance = None
    VaultSecretsContext._current = None
    rc = 0
    display = Display()
    original = display.display

    def capture(msg: str, *args: object, **kwargs: object) -> None:
        if kwargs.get("stderr"):
            return
        out.write(msg + "\n")

    display.display = capture
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            cli = cli_class(argv)
            rc = cli.run() or 0
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # an ansible error: report like the CLI would (non-zero)
        rc = 5
        out.write(f"ERROR {type(exc).__name__}: {exc}\n")
    finally:
        display.display = original
    return {"rc": rc, "stdout": out.getvalue()}


def main() -> None:
    jobs = json.load(sys.stdin)
    results = [run_job(job) for job in jobs]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
