"""``runbook-exec engines build|list|pin``: flags in, functions called, exit status out."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence

from ..errors import EngineError
from . import builder, pins
from .table import ENGINES, EngineSpec, spec


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    eng = sub.add_parser(
        "engines",
        help="build and list the real binaries (dockerd, containerd, kind, ...) the lab runs",
        description="The engines are upstream Go modules at pinned tags, built with the Go "
        f"their release used, into a cache outside the repository ({builder.cache_root()}; "
        "RUNBOOK_ENGINES_DIR overrides it).",
    )
    esub = eng.add_subparsers(dest="engines_command", metavar="ACTION", required=True)
    b = esub.add_parser("build", help="build engines that are not in the cache yet",
                        description="Build each named engine (default: all) unless the cache "
                        "already holds it for the committed pins. Progress on a terminal, "
                        "one line per engine otherwise. Exit status 3 when a build failed.")
    b.add_argument("names", nargs="*", metavar="NAME", help="engine names (default: all)")
    b.set_defaults(handler=_build)
    ls = esub.add_parser("list", help="the engine table and what is built",
                         description="Name, version, module@version, Go version, built or "
                         "not, and the sha256 of each built binary.")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=_list)
    p = esub.add_parser("pin", help="(maintainers) regenerate an engine's go.mod/go.sum",
                        description="Write pins/<NAME>/go.mod and go.sum from the upstream "
                        "module's vendor.mod or go.mod at its tag. Commit the result.")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(handler=_pin)


def _select(names: Sequence[str]) -> list[EngineSpec]:
    return [spec(n) for n in names] if names else list(ENGINES)


def _build(args: argparse.Namespace) -> int:
    chosen = _select(args.names)
    tty = sys.stderr.isatty()
    failed: list[str] = []
    began = time.monotonic()
    for i, s in enumerate(chosen, 1):
        if builder.find(s) is not None:
            print(f"[{i}/{len(chosen)}] {s.name}: cached", file=sys.stderr, flush=True)
            continue
        t0 = time.monotonic()
        label = f"[{i}/{len(chosen)}] building {s.name} ({s.toolchain})"
        stop = _ticker(label, t0) if tty else None
        if not tty:
            print(f"[{i}/{len(chosen)}] building {s.name} ({s.module_at}, {s.toolchain})",
                  file=sys.stderr, flush=True)
        try:
            built = builder.build(s)
        except EngineError as exc:
            failed.append(s.name)
            print(f"\n{exc}" if tty else str(exc), file=sys.stderr, flush=True)
            continue
        finally:
            if stop:
                stop()
        print(f"[{i}/{len(chosen)}] built {s.name} in {time.monotonic() - t0:.0f} s "
              f"({built.root})", file=sys.stderr, flush=True)
    total = time.monotonic() - began
    if failed:
        raise EngineError(f"{len(failed)} engine build(s) failed: {', '.join(failed)} "
                          f"({total:.0f} s); the lines above say why")
    print(f"engines: {len(chosen)} ready in {total:.0f} s", file=sys.stderr)
    return 0


def _ticker(label: str, t0: float) -> Callable[[], None]:
    """A one-line elapsed-time display on a terminal; returns the function that ends it."""
    done = threading.Event()

    def tick() -> None:
        while not done.wait(1.0):
            print(f"\r{label} … {time.monotonic() - t0:.0f} s", end="", file=sys.stderr,
                  flush=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join()
        print("\r\033[K", end="", file=sys.stderr, flush=True)

    return stop


def rows() -> list[dict[str, object]]:
    """One row per engine: the table entry and, when built, its provenance."""
    out: list[dict[str, object]] = []
    for s in ENGINES:
        try:
            built = builder.find(s)
        except EngineError:  # no pins committed yet
            built = None
        row: dict[str, object] = {
            "name": s.name, "kind": s.kind, "version": s.version, "module": s.module_at,
            "go": s.toolchain, "tags": list(s.tags), "built": built is not None,
            "binaries": {b: (built.sha256(b) if built else None) for b in s.binaries},
        }
        if built:
            row["path"] = str(built.root)
        out.append(row)
    return out


def _list(args: argparse.Namespace) -> int:
    table = rows()
    if args.json:
        json.dump(table, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'engine':<24} {'module@version':<52} {'go':<9} built")
    for row in table:
        bins = row["binaries"]
        assert isinstance(bins, dict)
        mark = "yes" if row["built"] else "no"
        print(f"{row['name']!s:<24} {row['module']!s:<52} {row['go']!s:<9} {mark}")
        for b, digest in bins.items():
            if digest:
                print(f"    {b:<26} sha256:{digest}")
    return 0


def _pin(args: argparse.Namespace) -> int:
    for s in _select(args.names):
        path = pins.write_pins(s)
        print(f"pinned {s.name}: {path}/go.mod, go.sum")
    return 0
