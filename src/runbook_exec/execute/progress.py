"""Progress on the terminal: a rich live line on a TTY, plain timestamped lines in CI logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Protocol, TextIO

from .ledger import Record, describe_failure


class Reporter(Protocol):
    def begin(self, total: int) -> None: ...
    def cached(self, record: Record) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, record: Record) -> None: ...
    def end(self, records: Sequence[Record], elapsed: float) -> None: ...


def make_reporter(stream: TextIO | None = None) -> Reporter:
    stream = stream or sys.stderr
    if stream.isatty():
        return RichReporter(stream)
    return PlainReporter(stream)


def summary_lines(records: Sequence[Record], elapsed: float) -> list[str]:
    """The closing summary: counts, then one line per failure (runbook, cell, error)."""
    passed = sum(1 for r in records if r["status"] == "passed" and not r["cached"])
    cached = sum(1 for r in records if r["cached"])
    failed = [r for r in records if r["status"] != "passed"]
    lines = [
        f"{len(records)} runbooks: {passed} passed, {cached} cached, {len(failed)} failed "
        f"in {elapsed:.1f} s"
    ]
    lines += [f"FAILED {describe_failure(r)}" for r in failed]
    return lines


class PlainReporter:
    """One line per event, prefixed with the elapsed time (CI logs have no cursor)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.t0 = time.monotonic()
        self.total = 0

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)

    def begin(self, total: int) -> None:
        self.t0 = time.monotonic()
        self.total = total
        self._say(f"verifying {total} runbooks")

    def cached(self, record: Record) -> None:
        self._say(f"cached  {record['name']} (verified {record['finished']})")

    def started(self, name: str) -> None:
        self._say(f"run     {name}")

    def finished(self, record: Record) -> None:
        if record["status"] == "passed":
            self._say(f"passed  {record['name']} ({record['duration']:.1f} s)")
        else:
            self._say(f"failed  {describe_failure(record)}")

    def end(self, records: Sequence[Record], elapsed: float) -> None:
        for line in summary_lines(records, elapsed):
            print(line, file=self.stream, flush=True)


class RichReporter:
    """A live status line (running, counts, elapsed) with finished runbooks printed above."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.markup import escape

        self.escape = escape
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("", total=0)
        self.running: list[str] = []
        self.counts = {"passed": 0, "cached": 0, "failed": 0}

    def _refresh(self, advance: int = 0) -> None:
        counts = " ".join(f"{k} {v}" for k, v in self.counts.items())
        now = ", ".join(self.running[:4]) or "-"
        self.progress.update(self.task, advance=advance, description=f"{counts} | running: {now}")

    def begin(self, total: int) -> None:
        self.progress.update(self.task, total=total)
        self.progress.start()
        self._refresh()

    def cached(self, record: Record) -> None:
        self.counts["cached"] += 1
        self.console.print(f"[dim]cached[/]  {self.escape(record['name'])}", highlight=False)
        self._refresh(1)

    def started(self, name: str) -> None:
        self.running.append(name)
        self._refresh()

    def finished(self, record: Record) -> None:
        if record["name"] in self.running:
            self.running.remove(record["name"])
        if record["status"] == "passed":
            self.counts["passed"] += 1
            self.console.print(
                f"[green]passed[/]  {self.escape(record['name'])} ({record['duration']:.1f} s)",
                highlight=False,
            )
        else:
            self.counts["failed"] += 1
            self.console.print(
                f"[red]failed[/]  {self.escape(describe_failure(record))}", highlight=False
            )
        self._refresh(1)

    def end(self, records: Sequence[Record], elapsed: float) -> None:
        self.progress.stop()
        for line in summary_lines(records, elapsed):
            style = "red" if line.startswith("FAILED") else "bold"
            self.console.print(line, style=style, highlight=False, markup=False)
