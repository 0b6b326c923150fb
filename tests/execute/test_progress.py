"""Progress output: plain lines for CI logs, a rich live view on a terminal."""

from __future__ import annotations

import io

from runbook_exec.execute.ledger import Record
from runbook_exec.execute.progress import PlainReporter, RichReporter, make_reporter


def make_record(name: str, status: str, cached: bool = False) -> Record:
    return {  # type: ignore[typeddict-item]
        "name": name,
        "status": status,
        "cached": cached,
        "duration": 1.25,
        "finished": "2025-01-02T03:04:05Z",
        "failure": None
        if status == "passed"
        else {"cell": 4, "first_line": "load()", "error": "KeyError: [x]", "kind": "exception"},
    }


def feed(reporter: PlainReporter | RichReporter) -> None:
    reporter.begin(3)
    reporter.cached(make_record("a", "passed", cached=True))
    reporter.started("b")
    reporter.started("c")
    reporter.finished(make_record("b", "passed"))
    reporter.finished(make_record("c", "failed"))
    reporter.end(
        [make_record("a", "passed", True), make_record("b", "passed"), make_record("c", "failed")],
        2.5,
    )


def test_progress_plain_lines_name_each_event() -> None:
    out = io.StringIO()
    feed(PlainReporter(out))
    lines = [line.split("] ", 1)[-1] for line in out.getvalue().splitlines()]
    assert lines == [
        "verifying 3 runbooks",
        "cached  a (verified 2025-01-02T03:04:05Z)",
        "run     b",
        "run     c",
        "passed  b (1.2 s)",
        "failed  c: cell 4 `load()`: KeyError: [x]",
        "3 runbooks: 1 passed, 1 cached, 1 failed in 2.5 s",
        "FAILED c: cell 4 `load()`: KeyError: [x]",
    ]


def test_progress_rich_prints_results_and_summary() -> None:
    out = io.StringIO()
    feed(RichReporter(out))
    text = out.getvalue()
    assert "passed  b (1.2 s)" in text
    assert "failed  c: cell 4 `load()`: KeyError: [x]" in text  # brackets are not markup
    assert "3 runbooks: 1 passed, 1 cached, 1 failed in 2.5 s" in text


def test_progress_is_plain_when_not_a_terminal() -> None:
    assert isinstance(make_reporter(io.StringIO()), PlainReporter)
