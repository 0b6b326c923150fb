"""The ``runbook-exec`` command. This module only wires flags to functions.

Subcommands register themselves from their rooms (``execute``, ``doctor``) through
``add_parser`` functions, so each room owns its options and this file stays a switchboard.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from . import __version__
from .errors import RunbookExecError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is (no usage dump).

    Sub-parsers are built with the parent's class, so every subcommand gets this too.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
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
    except OSError as exc:
        # The last net for the environment refusing (permissions, a full disk, a path that
        # is a directory): one line naming the file, never a traceback. Rooms raise their
        # own clearer errors first where they can say more.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"runbook-exec: error: {where}{exc.strerror or exc}; check the path and its "
              "permissions", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
