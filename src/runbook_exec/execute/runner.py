"""Execute runbooks with nbclient: one kernel each, ``jobs`` at a time, on one event loop.

All kernels are driven from a single asyncio loop (the work happens in the kernels; the
loop only moves messages). The loop owns SIGINT/SIGTERM: nbclient would otherwise install
one handler per client, each replacing the last, so Ctrl-C would stop one kernel and be
swallowed. Here Ctrl-C cancels every runbook; each one shuts its kernel down and sweeps
its scratch area before :func:`run` re-raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__, files
from ..errors import RunbookExecError
from . import ledger
from .fingerprint import CacheInputs, git_commit
from .ledger import Failure, FailureKind, Record
from .notebooks import Runbook, code_cell_number, first_line, kernel_name, read_notebook
from .progress import Reporter, make_reporter
from .scratch import PYTHON_KERNEL, Scratch


@dataclass(frozen=True)
class Options:
    build_dir: Path
    jobs: int = os.cpu_count() or 1
    timeout: float = 300.0
    deadline: float = 1800.0
    force: bool = False
    # A full run (no explicit paths) is the published set: forget runbooks that are gone.
    prune: bool = False


@dataclass
class Summary:
    records: list[Record] = field(default_factory=list)
    kernels_started: int = 0
    elapsed: float = 0.0

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r["status"] != "passed"]


def run(
    runbooks: Sequence[Runbook],
    options: Options,
    *,
    inputs: CacheInputs | None = None,
    reporter: Reporter | None = None,
) -> Summary:
    """Verify ``runbooks``; write executed notebooks and the ledger under ``build_dir``."""
    inputs = inputs or CacheInputs.gather()
    reporter = reporter or make_reporter()
    loop = _SignalOwningLoop()
    try:
        return loop.run_until_complete(_run_all(runbooks, options, inputs, reporter, loop))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class _SignalOwningLoop(asyncio.SelectorEventLoop):
    """An event loop whose SIGINT/SIGTERM handlers, once claimed, nobody else replaces."""

    _claimed = False

    def claim_signals(self, handler: Callable[[], None]) -> bool:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                super().add_signal_handler(sig, handler)
        except (RuntimeError, ValueError):  # not the main thread: no signal handling here
            return False
        self._claimed = True
        return True

    def release_signals(self) -> None:
        if self._claimed:
            self._claimed = False
            for sig in (signal.SIGINT, signal.SIGTERM):
                super().remove_signal_handler(sig)

    def add_signal_handler(  # type: ignore[override]
        self, sig: int, callback: Callable[..., object], *args: Any
    ) -> None:
        if self._claimed and sig in (signal.SIGINT, signal.SIGTERM):
            raise RuntimeError("signals are handled by the runbook executor")  # nbclient skips
        super().add_signal_handler(sig, callback, *args)

    def remove_signal_handler(self, sig: int) -> bool:
        if self._claimed and sig in (signal.SIGINT, signal.SIGTERM):
            raise RuntimeError("signals are handled by the runbook executor")
        return super().remove_signal_handler(sig)


async def _run_all(
    runbooks: Sequence[Runbook],
    options: Options,
    inputs: CacheInputs,
    reporter: Reporter,
    loop: _SignalOwningLoop,
) -> Summary:
    started = time.monotonic()
    summary = Summary()
    ledger_file = ledger.ledger_path(options.build_dir)
    keep = {rb.name for rb in runbooks} if options.prune else None
    records = ledger.update(ledger_file, {}, keep=keep)
    commit = git_commit(runbooks[0].path.parent) if runbooks else "unknown"
    gate = asyncio.Semaphore(max(1, options.jobs))
    main = asyncio.current_task()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if interrupted:  # a second Ctrl-C must not cut the kernels' shutdown short
            return
        interrupted = True
        if main is not None:
            main.cancel()

    async def verify(runbook: Runbook) -> None:
        key = inputs.key(runbook.source)
        previous = records.get(runbook.name)
        if not options.force and _still_valid(previous, key, options.build_dir):
            assert previous is not None
            record: Record = {**previous, "cached": True, "source": str(runbook.path)}
            reporter.cached(record)
        else:
            async with gate:
                reporter.started(runbook.name)
                summary.kernels_started += 1
                record = await _execute(runbook, key, options, inputs, commit)
            reporter.finished(record)
        records[runbook.name] = record
        summary.records.append(record)
        ledger.update(ledger_file, {runbook.name: record})

    reporter.begin(len(runbooks))
    loop.claim_signals(interrupt)
    try:
        # Longest first (by last recorded duration, unknown counts as long): the slow
        # runbook must not start last and leave the other slots idle at the end.
        order = sorted(runbooks, key=lambda rb: -_last_duration(records, rb.name))
        tasks = [asyncio.ensure_future(verify(rb)) for rb in order]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # Let every runbook finish its own cleanup before we leave.
            await asyncio.gather(*tasks, return_exceptions=True)
            if not interrupted:
                raise
    finally:
        loop.release_signals()
        summary.elapsed = time.monotonic() - started
        reporter.end(summary.records, summary.elapsed)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _last_duration(records: dict[str, Record], name: str) -> float:
    previous = records.get(name)
    return float(previous["duration"]) if previous else float("inf")


def _still_valid(previous: Record | None, key: str, build_dir: Path) -> bool:
    return (
        previous is not None
        and previous.get("status") == "passed"
        and previous.get("cache_key") == key
        and ledger.executed_path(build_dir, previous["name"]).is_file()
        and engines_unchanged(previous.get("engines") or {})
    )


def engines_unchanged(recorded: dict[str, Any]) -> bool:
    """Whether every engine a runbook ran is still built with the same binaries: an engine
    rebuilt from other pins (or gone) makes its earlier outputs stale."""
    from .. import engines

    for name, entry in recorded.items():
        try:
            built = engines.find(engines.spec(name))
        except RunbookExecError:
            return False
        if built is None or built.digest != entry.get("digest"):
            return False
    return True


async def _execute(
    runbook: Runbook, key: str, options: Options, inputs: CacheInputs, commit: str
) -> Record:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    started = datetime.now(UTC)
    clock = time.monotonic()
    nb: Any = None
    current = {"index": -1}
    failure: Failure | None = None

    def fail(kind: FailureKind, error: str) -> Failure:
        index = current["index"]
        if nb is None or index < 0:
            return {"cell": None, "first_line": "", "error": error, "kind": kind}
        return {
            "cell": code_cell_number(nb, index),
            "first_line": first_line(nb.cells[index].source),
            "error": error,
            "kind": kind,
        }

    async def on_cell_execute(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    with Scratch(runbook.name) as scratch:
        try:
            nb = read_notebook(runbook)
            name = kernel_name(nb)
            specs = (
                KernelSpecManager(kernel_dirs=[str(scratch.write_python_kernelspec())])
                if name == PYTHON_KERNEL
                else KernelSpecManager()
            )
            specs.get_kernel_spec(name)
            client = NotebookClient(
                nb,
                km=AsyncKernelManager(
                    kernel_name=name,
                    kernel_spec_manager=specs,
                    # IPC sockets inside the scratch root: no TCP ports, gone with the root
                    transport="ipc",
                    ip=str(scratch.root / "ipc"),
                ),
                kernel_name=name,
                timeout=options.timeout,
                startup_timeout=60,
                resources={"metadata": {"path": str(scratch.work)}},
                on_cell_execute=on_cell_execute,
            )
            with (scratch.root / "kernel.log").open("ab") as kernel_log:
                await _execute_within(
                    client.async_execute(
                        cleanup_kc=True, env=scratch.env, stdout=kernel_log, stderr=kernel_log
                    ),
                    options.deadline,
                )
        except NoSuchKernel:
            failure = fail(
                "no-kernel",
                f"no kernel spec named {name!r}: install one (`python -m ipykernel install "
                f"--user --name {name}`) or set the runbook's kernelspec to python3",
            )
        except CellExecutionError as exc:
            failure = fail("exception", _error_line(exc.ename, exc.evalue))
        except CellTimeoutError:
            failure = fail("timeout", f"cell timed out after {options.timeout:g} s (--timeout)")
        except _DeadlineExceeded:
            failure = fail("deadline", f"runbook exceeded its deadline of {options.deadline:g} s")
        except DeadKernelError:
            failure = fail("kernel-died", "the kernel died while running this cell")
        except _Interrupted:
            # Ctrl-C: nbclient has shut the kernel down; record the interruption so the
            # ledger never keeps an older pass next to this partial notebook.
            failure = fail("interrupted", "interrupted (Ctrl-C) before it finished")
        except Exception as exc:  # a broken runbook must not stop the others
            failure = fail("executor", _error_line(type(exc).__name__, str(exc)))
        used = engine_uses(scratch.engines_used)
    return _write_outcome(runbook, nb, key, options, inputs, commit, started, clock, failure,
                          used)


def engine_uses(path: Path) -> dict[str, Any]:
    from ..engines import used

    return dict(sorted(used(path).items()))


class _DeadlineExceeded(Exception):
    pass


class _Interrupted(Exception):
    pass


async def _execute_within(execution: Coroutine[Any, Any, Any], deadline: float) -> None:
    """Await ``execution``; past ``deadline`` or on Ctrl-C cancel it and wait for nbclient
    to shut the kernel down. The cause is decided here, because a cancelled nbclient may
    surface as some other error (a dead kernel) rather than as a cancellation."""
    task = asyncio.ensure_future(execution)
    try:
        done, _ = await asyncio.wait({task}, timeout=deadline)
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _Interrupted from None
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _DeadlineExceeded
    task.result()


def _error_line(ename: str, evalue: str) -> str:
    lines = [line for line in str(evalue).splitlines() if line.strip()]
    return f"{ename}: {lines[-1].strip()}" if lines else ename


def _write_outcome(
    runbook: Runbook,
    nb: Any,
    key: str,
    options: Options,
    inputs: CacheInputs,
    commit: str,
    started: datetime,
    clock: float,
    failure: Failure | None,
    engines_used: dict[str, Any],
) -> Record:
    duration = round(time.monotonic() - clock, 3)
    record: Record = {
        "name": runbook.name,
        "source": str(runbook.path),
        "status": "failed" if failure else "passed",
        "started": _utc(started),
        "finished": _utc(datetime.now(UTC)),
        "duration": duration,
        "cells": sum(1 for c in nb.cells if c.cell_type == "code") if nb is not None else 0,
        "failure": failure,
        "environment": dict(inputs.environment),
        "engines": engines_used,
        "package_version": __version__,
        "git_commit": commit,
        "cache_key": key,
        "cached": False,
        "notebook": f"{ledger.EXECUTED_DIR}/{runbook.name}.ipynb",
    }
    target = ledger.executed_path(options.build_dir, runbook.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if nb is not None:
        nb.metadata.setdefault(
            "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
        )
        nb.metadata["runbook_exec"] = {"status": record["status"], "failure": failure}
        files.write_text(target, json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                         mode=files.KEEP)
    else:
        target.unlink(missing_ok=True)
    return record


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
