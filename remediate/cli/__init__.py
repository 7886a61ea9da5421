"""The `remediate` command line: argparse front end, errors turned into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from remediate.errors import EXIT_INTERNAL, EXIT_INVALID_INPUT, InputError, RemediateError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 5."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_INVALID_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from remediate.cli import engine, inventory, lab, validate

    parser = _Parser(
        prog="remediate",
        description="Keep MailSite servers off spam blacklists: plan, apply, roll back.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (inventory, validate, engine, lab):
        module.register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"remediate {version('remediate')}"
    except PackageNotFoundError:
        return "remediate (not installed)"


def _configure_logging(verbose: int, quiet: bool = False) -> None:
    """Warnings (retries, for one) on stderr; -q only errors; -v more detail, -vv paramiko's."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="remediate: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose > 1 else logging.CRITICAL)


def _clean(text: str) -> str:
    from remediate.report.text import clean

    return clean(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "verbose", 0) or 0, bool(getattr(args, "quiet", False)))
    handler: Handler = args.func
    try:
        return handler(args)
    except InputError as exc:
        print(_clean(exc.location_line()), file=sys.stderr)
        return exc.exit_code
    except RemediateError as exc:
        print(_clean(f"remediate: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("remediate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback by default
        if os.environ.get("REMEDIATE_DEBUG"):
            raise
        print(
            f"remediate: internal error: {type(exc).__name__}: {exc} "
            "(set REMEDIATE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
