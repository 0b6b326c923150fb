"""Benchmark repair of a gzip'd archive against ``gzip -dc IN | gzip -1 > OUT``.

    .venv/bin/python benchmarks/bench_repair_gzip.py [--size 1G] [--cache DIR] [--runs 1]

The input is bench_doctor's 13-layer Docker 25.0.0-shaped archive (layers rotated, random
data, so the gzip is as large as the tar), gzip'd with ``gzip -1``; both are made once into
``--cache`` (default: ``.bench-cache`` in the repository, not committed). In one run, page
cached, under ``/usr/bin/time -v``: the baseline pipeline, then ``runbook-exec doctor
repair IN.tar.gz -o OUT.tar.gz`` (which writes gzip, as the input was). Targets (issue 14):
repair <= 1.2x the baseline's wall time; peak RSS <= 64 MB.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path

from bench_doctor import UNITS, build_archive

from runbook_exec import proc

EXE = Path(sys.executable).parent / "runbook-exec"
ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of ``argv`` under /usr/bin/time -v."""
    t0 = time.perf_counter()
    res = proc.run(["/usr/bin/time", "-v", *argv], timeout=1800, check=False, echo=False)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{proc.quote_argv(argv)} failed ({res.returncode}):\n"
                         f"{res.output[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    return elapsed, int(m.group(1)) if m else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="1G")
    ap.add_argument("--cache", default=str(ROOT / ".bench-cache"))
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    total = int(args.size[:-1]) * UNITS[args.size[-1].upper()]
    plain = cache / f"demo-{args.size}.tar"
    gz = cache / f"demo-{args.size}.tar.gz"
    if not plain.exists():
        print(f"building {plain} ...", file=sys.stderr)
        build_archive(plain, total)
    if not gz.exists():
        print(f"gzip -1 {plain} ...", file=sys.stderr)
        proc.run(["sh", "-c", f"gzip -1 -c {shlex.quote(str(plain))} > {shlex.quote(str(gz))}"
                  ".partial && mv " + shlex.quote(str(gz)) + ".partial " + shlex.quote(str(gz))],
                 timeout=1800, echo=False)
    out = cache / "out.tar.gz"
    proc.run(["cat", str(gz)], timeout=600, echo=False)  # page-cache it
    print(f"input: {gz.name}, {gz.stat().st_size / 1e9:.2f} GB gzip, "
          f"{plain.stat().st_size / 1e9:.2f} GB tar")
    print(f"{'run':>3} {'gzip -dc|gzip -1':>17} {'repair':>8} {'ratio':>6} {'repair RSS MB':>14}")
    worst = 0.0
    for n in range(args.runs):
        base, _ = timed(["sh", "-c", f"gzip -dc {shlex.quote(str(gz))} | gzip -1 > "
                         f"{shlex.quote(str(out))}"])
        out.unlink()
        rep, rss = timed([str(EXE), "doctor", "repair", str(gz), "-o", str(out)])
        with out.open("rb") as f:
            written_gzip = f.read(2) == b"\x1f\x8b"
        if not written_gzip:
            raise SystemExit("repair did not write gzip for a gzip input")
        out.unlink()
        worst = max(worst, rss / 1024)
        print(f"{n + 1:>3} {base:17.2f} {rep:8.2f} {rep / base:5.2f}x {rss / 1024:14.1f}")
    print("targets: ratio <= 1.2x; RSS <= 64 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
