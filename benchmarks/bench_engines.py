"""Engine build benchmark: every engine built cold, timed one by one.

Cold means a fresh engine cache and a fresh Go build cache (GOCACHE); the module cache and
the downloaded toolchains are kept, since a CI machine fetches them once, which takes a few
minutes on its own. Prints per engine the seconds and the ratio to a baseline measured in the
same run (the smallest engine, kind 0.33.0, built first), then the total against the target
of 30 minutes on 2 cores.

Usage: .venv/bin/python benchmarks/bench_engines.py [NAME...]   (default: all engines)
        .venv/bin/python benchmarks/bench_engines.py --from-cache   (the build_seconds recorded
        in the current cache, no building)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from runbook_exec import proc
from runbook_exec.engines import ENGINES, builder, spec

TARGET_S = 30 * 60
BASELINE = "kind-0.33.0"


def cold_build(names: list[str]) -> list[tuple[str, float]]:
    times: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        os.environ["RUNBOOK_ENGINES_DIR"] = str(Path(tmp) / "engines")
        os.environ["GOCACHE"] = str(Path(tmp) / "gocache")
        for name in [BASELINE, *[n for n in names if n != BASELINE]]:
            t0 = time.monotonic()
            builder.build(spec(name))
            times.append((name, time.monotonic() - t0))
            print(f"  built {name} in {times[-1][1]:.0f} s", file=sys.stderr, flush=True)
    return times


def from_cache(names: list[str]) -> list[tuple[str, float]]:
    times = []
    for name in [BASELINE, *[n for n in names if n != BASELINE]]:
        built = builder.find(spec(name))
        if built is not None:
            times.append((name, float(built.provenance.get("build_seconds", 0.0))))  # type: ignore[arg-type]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--from-cache", action="store_true")
    args = parser.parse_args()
    names = args.names or [e.name for e in ENGINES]
    with proc.quiet():
        times = from_cache(names) if args.from_cache else cold_build(names)
    base = dict(times).get(BASELINE) or 1.0
    print(f"{'engine':<24} {'seconds':>8} {'x ' + BASELINE:>16}")
    for name, seconds in times:
        print(f"{name:<24} {seconds:8.0f} {seconds / base:16.1f}")
    total = sum(s for _, s in times)
    print(f"{'total':<24} {total:8.0f}   ({total / TARGET_S:.2f} of the 30 min target, "
          f"{os.cpu_count()} cores)")
    return 0 if total <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
