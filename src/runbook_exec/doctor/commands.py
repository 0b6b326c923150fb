"""``runbook-exec doctor diagnose|repair`` and ``runbook-exec load``: flags → functions.

Exit status: 0 healthy (or repaired), 1 affected, 2 invalid/hostile input or not
repairable. ``--json`` prints one document on stdout (progress is off), schema
``runbook-exec/doctor-diagnose/v1``::

    {"schema", "archive", "layout": "docker-legacy|docker25|oci|containerd-export",
     "layout_description", "compressed", "size", "verified", "healthy", "exit_code",
     "images": [{"id", "names", "manifests", "layers", "platform"}],
     "findings": [{"code", "severity": "error|warning", "message", "image",
                   "containerd_error" (str|null), "docker_releases", "page", "page_url",
                   "fix", "fix_url", "repairable"}]}

``repair --json``: ``{"schema": "runbook-exec/doctor-repair/v1", "output", "fixed",
"before", "after"}``; errors: ``{"schema", "error", "exit_code": 2}``. The full,
documented form (codes, meanings) is ``SCHEMA.md`` next to this module.

Imports stay lazy so ``doctor diagnose`` starts fast (it is often run on huge archives in
scripts; interpreter start is most of its time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import MissingDependencyError, RepairError, RunbookExecError, UsageError

_PROGRESS_FLOOR = 256 << 20  # show progress only for archives above this size


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser("doctor", help="diagnose and repair docker-save archives")
    dsub = doctor.add_subparsers(dest="doctor_command", metavar="ACTION", required=True)
    add_doctor_actions(dsub)

    p = sub.add_parser("load", help="safe `kind load docker-image`: diagnose, repair, import")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    # kind load docker-image's own flags
    p.add_argument("-n", "--name", default="kind", help="kind cluster name (default: kind)")
    p.add_argument("--nodes", default="", metavar="NODES",
                   help="comma separated list of nodes to load images into (default: all)")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXIT_STATUS
    p.set_defaults(handler=run_load)


def add_doctor_actions(dsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``diagnose`` and ``repair`` (shared by ``runbook-exec doctor`` and the download)."""
    p = dsub.add_parser("diagnose", help="say whether kind/containerd can import an archive")
    p.add_argument("archive", metavar="ARCHIVE", help="docker-save tar (or .tar.gz); - for stdin")
    p.add_argument("--json", action="store_true", help="print the report as JSON (see SCHEMA.md)")
    p.add_argument("--verify", action="store_true", help="also hash every blob")
    _node_flag(p)
    p.set_defaults(handler=run_diagnose)

    p = dsub.add_parser("repair", help="rebuild the OCI manifests and index from the configs")
    p.add_argument("archive", metavar="ARCHIVE")
    target = p.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", metavar="OUT",
                        help="where to write the repaired archive (an existing file there is "
                        "replaced, atomically; never ARCHIVE itself)")
    target.add_argument("--in-place", action="store_true",
                        help="replace ARCHIVE (atomically)")
    p.add_argument("--json", action="store_true")
    _node_flag(p)
    comp = p.add_mutually_exclusive_group()
    comp.add_argument("--compress", dest="compress", action="store_true", default=None,
                      help="gzip the output (default: when the input was gzip'd and the node "
                      "reads gzip)")
    comp.add_argument("--no-compress", dest="compress", action="store_false",
                      help="write a plain tar")
    p.set_defaults(handler=run_repair)


EXIT_STATUS = """exit status:
  0  healthy (diagnose), or repaired (repair)
  1  affected: at least one finding (diagnose)
  2  unreadable, invalid or hostile input, an unknown --node, or not repairable (one line
     says why)
  3  load only: kind is not installed
  128+N  stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP); repair leaves nothing
     behind (no temp file, the target untouched)
"""


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP during a command, raised so cleanup runs as for Ctrl-C; ``note``
    says what the command left (``cli.main`` prints it and exits 128 + ``signum``)."""

    def __init__(self, signum: int, note: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.note = note


def interrupted(exc: KeyboardInterrupt) -> tuple[str, int]:
    """What a main prints after its program name for an interrupt, and the exit status."""
    import signal

    signum = getattr(exc, "signum", None)
    if signum is None:
        return "interrupted", 130
    note = getattr(exc, "note", "")
    return (f"interrupted ({signal.Signals(signum).name})" + (f"; {note}" if note else ""),
            128 + signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Signalled` while the block runs.

    Not :func:`runbook_exec.proc.terminations`: the one-file doctor (``doctor/zipapp.py``)
    carries no ``proc``."""
    import signal

    def handler(signum: int, _frame: Any) -> None:
        raise Signalled(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _node_flag(p: argparse.ArgumentParser) -> None:
    from .nodes import DEFAULT_KIND, KIND_CONTAINERD

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXIT_STATUS
    p.add_argument("--node", metavar="KIND", default=None,
                   help=f"predict for this kind release's node ({', '.join(KIND_CONTAINERD)}; "
                   f"default {DEFAULT_KIND}) or a containerd version (containerd-1.7.24)")


@contextlib.contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or total < _PROGRESS_FLOOR or not sys.stderr.isatty():
        yield None
        return
    try:
        import rich  # noqa: F401  (absent from the one-file download: no bar, same work)
    except ImportError:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), transient=True, console=_console(),
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size if path != "-" else 0
    except OSError:
        return 0


def _gzipped(path: str) -> bool:
    if not os.path.isfile(path):  # never open a fifo here: that would wait for a writer
        return False
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _json_error(exc: RunbookExecError, schema: str) -> None:
    """The error document ``--json`` promises on stdout (the caller re-raises the error)."""
    print(json.dumps({"schema": schema, "error": str(exc), "exit_code": exc.exit_code}))


def run_diagnose(args: argparse.Namespace) -> int:
    from .diagnose import diagnose

    if args.archive == "-" and sys.stdin.isatty():
        raise UsageError("ARCHIVE is - but stdin is a terminal; pipe an archive in "
                         "(docker save IMAGE | runbook-exec doctor diagnose -)")
    size = _size(args.archive)
    try:
        with _progress(size, "hashing blobs", args.verify and not args.json) as tick:
            report = diagnose(args.archive, verify=args.verify, progress=tick,
                              node=args.node)
    except RunbookExecError as exc:
        if args.json:
            _json_error(exc, "runbook-exec/doctor-diagnose/v1")
        raise
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_report(report))
    return report.exit_code


def render_report(report: Any) -> str:
    """The human form of a diagnose report."""
    from .diagnose import LAYOUT_TEXT
    from .findings import page_url

    lines = [f"archive: {report.archive}", f"layout:  {LAYOUT_TEXT[report.layout]}"]
    for image in report.images:
        names = ", ".join(image.names) or "(no name)"
        lines.append(f"image:   {image.image_id}  {names}  ({len(image.diff_ids)} layers)")
    if report.healthy:
        checked = "structure and blob digests" if report.verified else "structure"
        lines.append(f"healthy: containerd can import this archive ({checked} checked)")
        return "\n".join(lines)
    lines.append(f"AFFECTED: {len(report.findings)} finding(s)")
    for f in report.findings:
        lines.append(f"  [{f.code}] {f.image + ': ' if f.image else ''}{f.message}")
        if f.containerd_error:
            lines.append(f"      containerd will say: {f.containerd_error}")
        if f.kind.docker_releases:
            lines.append(f"      written by Docker {', '.join(f.kind.docker_releases)}")
        lines.append(f"      read: {page_url(f.kind.page)}  fix: {page_url(f.kind.fix)}")
    return "\n".join(lines)


def run_repair(args: argparse.Namespace) -> int:
    from .repair import repair

    if not args.in_place and not args.output:
        raise UsageError("repair needs -o OUT (or --in-place)")
    import signal

    replacing = bool(args.output) and os.path.lexists(args.output)
    try:
        # a gzip'd input is read twice (plan, then copy); a plain tar once (the copy)
        total = _size(args.archive) * (2 if _gzipped(args.archive) else 1)
        with signals_raise(), _progress(total, "copying", not args.json) as tick:
            result = repair(args.archive, args.output, in_place=args.in_place, progress=tick,
                            node=args.node, compress=args.compress)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Signalled) else signal.SIGINT
        raise Signalled(signum, "nothing written") from None
    except RunbookExecError as exc:
        if args.json:
            _json_error(exc, "runbook-exec/doctor-repair/v1")
        raise
    except OSError as exc:
        raise RepairError(f"cannot write the repaired archive: {exc}") from exc
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif result.output is None:
        print(f"{args.archive}: nothing to repair (healthy); nothing written")
    else:
        verb = "replaced" if replacing or args.in_place else "wrote"
        print(f"{verb} {result.output} (fixed: {', '.join(result.fixed)}); "
              "same image ID(s), layer blobs untouched, verified")
    return 0


def run_load(args: argparse.Namespace) -> int:
    import shutil
    import tempfile
    from pathlib import Path

    from .. import proc
    from ..lab import LiveNode
    from ..lab.live import parse_kind_lines
    from .load import safe_load

    if shutil.which("kind") is None:
        # proc's generic hint (install-system-deps.sh) does not apply: that script does
        # not install kind, and `load` is for a user's own cluster.
        raise MissingDependencyError("kind not found on PATH; `load` imports into a kind "
                                     "cluster: install kind and create one (kind create "
                                     "cluster)")
    out = proc.run(["kind", "get", "nodes", "--name", args.name], timeout=30, check=False,
                   merge_stderr=True)
    nodes = parse_kind_lines(out.stdout) if out.ok else []
    if not nodes:
        raise UsageError(f"kind cluster {args.name!r} has no nodes (is kind installed and the "
                         "cluster created? `kind get clusters`)")
    if args.nodes:  # as kind does: only the named nodes, each of which must exist
        wanted = [n for n in args.nodes.split(",") if n]
        unknown = [n for n in wanted if n not in nodes]
        if unknown:
            raise UsageError(f"unknown node: {unknown[0]} (cluster {args.name!r} has "
                             f"{', '.join(nodes)})")
        nodes = [n for n in nodes if n in wanted]
    engine = _live_engine()
    try:
        with tempfile.TemporaryDirectory(prefix="runbook-load-") as tmp:
            safe_load(args.images, engine=engine, nodes=[(n, LiveNode(n)) for n in nodes],
                      workdir=Path(tmp))
    finally:
        engine.close()
    return 0


def _live_engine() -> Any:
    """The user's Docker engine, or one line saying it cannot be reached."""
    import docker.errors

    from ..errors import LabError
    from ..lab import LiveEngine

    try:
        return LiveEngine().start()
    except docker.errors.DockerException as exc:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise LabError(f"cannot reach the Docker engine at {host} ({_last_words(exc)}); start "
                       "Docker or set DOCKER_HOST") from exc


def _last_words(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__
