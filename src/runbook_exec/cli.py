"""The ``runbook-exec`` command. This module only wires flags to functions.

Subcommands register themselves from their rooms (``execute``, ``doctor``) through
``add_parser`` functions, so each room owns its options and this file stays a switchboard.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import RunbookExecError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook-exec",
        description="Execute and verify the handbook's runbooks; diagnose and repair "
        "docker-save archives before kind loads them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(sub)
    return parser


def _registrars() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    found = []
    for module_name in ("execute.commands", "doctor.commands"):
        try:
            module = __import__(f"runbook_exec.{module_name}", fromlist=["add_parsers"])
        except ModuleNotFoundError as exc:
            if exc.name != f"runbook_exec.{module_name}":
                raise
            continue
        found.append(module.add_parsers)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except RunbookExecError as exc:
        print(f"runbook-exec: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("runbook-exec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
