"""The ``runbook-exec`` command. This module only wires flags to functions.

Subcommands register themselves from their rooms (``execute``, ``doctor``) through
``add_parsers`` functions, so each room owns its options and this file stays a switchboard.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from .doctor import commands as doctor_commands
from .engines import commands as engine_commands
from .errors import RunbookExecError
from .execute import commands as execute_commands
from .lab import commands as lab_commands

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is (no usage dump).

    Sub-parsers are built with the parent's class, so every subcommand gets this too.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _Version(argparse.Action):
    """``--version``, looked up only when asked: importlib.metadata costs every start ~25 ms."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from . import __version__

        parser.exit(0, f"{parser.prog} {__version__}\n")


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
        prog="runbook-exec",
        description="Execute and verify the handbook's runbooks; diagnose and repair "
        "docker-save archives before kind loads them.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    execute_commands.add_parsers(sub)
    doctor_commands.add_parsers(sub)
    engine_commands.add_parsers(sub)
    lab_commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except RunbookExecError as exc:
        print(f"runbook-exec: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        message, code = doctor_commands.interrupted(exc)
        print(f"runbook-exec: {message}", file=sys.stderr)
        return code
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
