"""The ledger survives two `runbook-exec run`s writing it at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from runbook_exec.execute import ledger


def _record(name: str) -> Any:
    return {"name": name, "status": "passed"}


def _writer(path: str, prefix: str, count: int) -> None:
    for i in range(count):
        ledger.update(Path(path), {f"{prefix}{i}": _record(f"{prefix}{i}")})


def test_ledger_update_from_two_processes_keeps_every_record(tmp_path: Path) -> None:
    path = ledger.ledger_path(tmp_path)
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_writer, args=(str(path), p, 40)) for p in ("a", "b")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    records = ledger.load(path)
    assert sorted(records) == sorted([f"a{i}" for i in range(40)] + [f"b{i}" for i in range(40)])


def test_ledger_update_keep_prunes_other_records(tmp_path: Path) -> None:
    path = ledger.ledger_path(tmp_path)
    ledger.update(path, {"old": _record("old"), "kept": _record("kept")})
    records = ledger.update(path, {"new": _record("new")}, keep={"kept", "new"})
    assert sorted(records) == ["kept", "new"]
    assert sorted(ledger.load(path)) == ["kept", "new"]
