"""``runbook-exec run``, ``status`` and ``notebooks``: flags in, functions called, exit status
out."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from ..errors import ExecutorError
from . import ledger

DEFAULT_RUNBOOKS = Path("runbooks")
DEFAULT_BUILD = Path("build")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="execute the runbooks and record their verification",
        description="Execute each runbook in its own kernel (cached by content), write "
        "build/executed/<name>.ipynb and build/ledger.json. Exit status 1 if any failed.",
    )
    run.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="runbook files or directories (default: runbooks/)",
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        metavar="N",
        help="runbooks executed in parallel, or 'auto' (default: number of cores)",
    )
    run.add_argument("--force", action="store_true", help="execute even when cached")
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="per-cell timeout (default: 300)",
    )
    run.add_argument(
        "--deadline",
        type=_seconds,
        default=1800.0,
        metavar="SECONDS",
        help="per-runbook deadline (default: 1800)",
    )
    run.add_argument(
        "--build",
        type=Path,
        default=DEFAULT_BUILD,
        metavar="DIR",
        help="where executed notebooks and the ledger go (default: build/)",
    )
    run.set_defaults(handler=run_command)

    status = sub.add_parser("status", help="show the verification ledger")
    status.add_argument("--json", action="store_true", help="print the ledger records as JSON")
    status.add_argument("--build", type=Path, default=DEFAULT_BUILD, metavar="DIR")
    status.set_defaults(handler=status_command)

    notebooks = sub.add_parser(
        "notebooks",
        help="write one-language notebooks of the runbooks to open in JupyterLab",
        description="Write <DIR>/<name>.ipynb for each runbook: its code and the prose of "
        "one language, no outputs. Regenerated, not paired: edit runbooks/<name>.py.",
    )
    notebooks.add_argument("--lang", required=True, choices=("zh", "en"),
                           help="the language of the prose")
    notebooks.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                           help="runbook files or directories (default: runbooks/)")
    notebooks.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                           help="where the notebooks go (default: notebooks/<lang>/)")
    notebooks.set_defaults(handler=notebooks_command)


def _jobs(text: str) -> int:
    if text == "auto":
        return os.cpu_count() or 1
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'auto'") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):  # nbclient would reject nan/inf only inside each runbook
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def run_command(args: argparse.Namespace) -> int:
    from .notebooks import discover
    from .runner import Options, run

    _check_target()
    _check_build_dir(args.build)
    runbooks = discover(args.paths, DEFAULT_RUNBOOKS)
    if not runbooks:
        raise ExecutorError("no runbooks found; add jupytext .py files to runbooks/")
    options = Options(
        build_dir=args.build,
        jobs=args.jobs,
        timeout=args.timeout,
        deadline=args.deadline,
        force=args.force,
        prune=not args.paths,
    )
    try:
        summary = run(runbooks, options)
    except PermissionError as exc:
        raise ExecutorError(
            f"cannot write to the build directory {args.build}: {exc.strerror} "
            f"({exc.filename}); pass a writable --build DIR"
        ) from exc
    return 1 if summary.failed else 0


def notebooks_command(args: argparse.Namespace) -> int:
    from .notebooks import discover
    from .readers import DEFAULT_DIR, write_notebooks

    runbooks = discover(args.paths, DEFAULT_RUNBOOKS)
    if not runbooks:
        raise ExecutorError("no runbooks found; add jupytext .py files to runbooks/")
    out_dir = args.output if args.output is not None else DEFAULT_DIR / args.lang
    try:
        written = write_notebooks(runbooks, args.lang, out_dir)
    except PermissionError as exc:
        raise ExecutorError(
            f"cannot write to {out_dir}: {exc.strerror} ({exc.filename}); pass a writable -o DIR"
        ) from exc
    for path in written:
        print(path)
    print(f"{len(written)} notebook(s) in {out_dir}/; open them with "
          f"`jupyter lab --allow-root {out_dir}` (root: the sandbox needs it)")
    return 0


def _check_target() -> None:
    """Refuse a misspelt RUNBOOK_TARGET before any kernel starts (every runbook would fail)."""
    from .fingerprint import TARGET_ENV

    wanted = os.environ.get(TARGET_ENV, "").strip().lower()
    if wanted not in ("", "sandbox", "live"):
        raise ExecutorError(
            f"{TARGET_ENV}={os.environ[TARGET_ENV]!r} is not a target; set it to sandbox or "
            "live, or unset it"
        )


def _check_build_dir(build: Path) -> None:
    for part in (build, *build.parents):
        if part.exists():
            if not part.is_dir():
                raise ExecutorError(
                    f"--build {build}: {part} is a file, not a directory; pass another --build DIR"
                )
            return


def status_command(args: argparse.Namespace) -> int:
    path = ledger.ledger_path(args.build)
    records = ledger.load(path)  # a LedgerFormatError is an ExecutorError: cli.main prints it
    ledger.check_records(path, records)
    if args.json:
        json.dump(records, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    if not records:
        raise ExecutorError(f"no verification records in {path}; run `runbook-exec run` first")
    _print_table(list(records.values()))
    return 0 if all(r["status"] == "passed" for r in records.values()) else 1


def _print_table(records: list[ledger.Record]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "runbook", "status", "verified (UTC)", "duration", "cells", "environment", "failure"
    )
    for r in records:
        status = r["status"] + (" (cached)" if r["cached"] else "")
        style = "green" if r["status"] == "passed" else "red"
        failure = ledger.describe_failure(r).removeprefix(f"{r['name']}: ")
        table.add_row(
            escape(r["name"]),
            f"[{style}]{status}[/]",
            r["finished"],
            f"{r['duration']:.1f} s",
            str(r["cells"]),
            ledger.short_environment(r["environment"], r.get("engines")),
            escape(failure),
        )
    # Piped (CI logs, grep), rich would squeeze the table into 80 columns; give it room.
    width = None if sys.stdout.isatty() else 240
    Console(soft_wrap=False, width=width).print(table)
