"""``python3 kind-doctor.pyz diagnose|repair``: the doctor as one downloadable file.

Built by :mod:`.zipapp` from this package at site build time. Needs Python >= 3.9 and the
standard library only: it carries ``archive`` and ``doctor`` (no executor, no lab, no
``load``, which drives a real cluster); progress bars need ``rich`` and are simply left out
without it. Flags, output and exit statuses are those of ``runbook-exec doctor``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import RunbookExecError
from . import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kind-doctor.pyz",
        description="Say whether kind/containerd can import a docker-save archive, and repair "
        "it (the handbook's doctor, as one file).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=commands.EXIT_STATUS,
    )
    sub = parser.add_subparsers(dest="doctor_command", metavar="ACTION")
    sub.required = True
    commands.add_doctor_actions(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except RunbookExecError as exc:
        print(f"kind-doctor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        message, code = commands.interrupted(exc)
        print(f"kind-doctor: {message}", file=sys.stderr)
        return code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"kind-doctor: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
