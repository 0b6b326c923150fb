"""The ledger: one verification record per runbook, the executor's only public output.

This module is the whole contract between the executor and the site: the site plugin
imports it and nothing else from ``runbook_exec.execute``. It has no heavy imports.

Layout of a build directory (both are build outputs, never committed)::

    build/ledger.json              {"format": 1, "runbooks": {"<name>": Record, ...}}
    build/executed/<name>.ipynb    the executed notebook, both languages, all outputs

A record (JSON object) carries:

    name, source          runbook name (file stem) and its path as given to the executor
    status                "passed" or "failed"
    started, finished     UTC, ISO 8601 with "Z"; duration in seconds
    cells                 number of code cells
    failure               null, or {cell, first_line, error, kind}; ``cell`` is the 1-based
                          number of the failing *code* cell (markdown cells are not counted,
                          so the number is the same in both languages' notebooks); ``kind`` is
                          one of FAILURE_KINDS
    environment           the lab fingerprint: containerd, ctr, dockerd, skopeo, target, python
    package_version, git_commit, cache_key
    cached                true when this run reused an earlier verification (times are the
                          original verification's)
    notebook              path of the executed notebook, relative to the build directory
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from .. import files
from ..errors import LedgerFormatError

FORMAT = 1
LEDGER_NAME = "ledger.json"
EXECUTED_DIR = "executed"

Status = Literal["passed", "failed"]
FailureKind = Literal[
    "exception", "timeout", "deadline", "kernel-died", "no-kernel", "interrupted", "executor"
]
FAILURE_KINDS: tuple[str, ...] = (
    "exception",
    "timeout",
    "deadline",
    "kernel-died",
    "no-kernel",
    "interrupted",
    "executor",
)
# The system binaries the runbooks use besides the engines (which each record lists itself).
ENVIRONMENT_KEYS = ("skopeo", "runc", "target", "python")


class Failure(TypedDict):
    cell: int | None
    first_line: str
    error: str
    kind: FailureKind


class Record(TypedDict):
    name: str
    source: str
    status: Status
    started: str
    finished: str
    duration: float
    cells: int
    failure: Failure | None
    environment: dict[str, str]
    # engine name -> {"module", "go", "digest"} for each real binary the runbook's lab ran
    engines: NotRequired[dict[str, dict[str, object]]]
    package_version: str
    git_commit: str
    cache_key: str
    cached: bool
    notebook: str


def ledger_path(build_dir: Path) -> Path:
    return build_dir / LEDGER_NAME


def executed_path(build_dir: Path, name: str) -> Path:
    return build_dir / EXECUTED_DIR / f"{name}.ipynb"


def load(path: Path) -> dict[str, Record]:
    """Read the ledger at ``path``; a missing file is an empty ledger."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise LedgerFormatError(
            f"{path} is not UTF-8 text; delete it and run `runbook-exec run`"
        ) from None
    except OSError as exc:  # a directory, unreadable, a parent that is a file
        raise LedgerFormatError(
            f"cannot read the ledger {path}: {exc.strerror}; fix the path or its permissions "
            "(or pass another --build DIR)"
        ) from exc
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerFormatError(
            f"{path} is not valid JSON ({exc}); delete it and run `runbook-exec run`"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LedgerFormatError(
            f"{path} is not a format-{FORMAT} ledger; delete it and run `runbook-exec run`"
        )
    runbooks = data.get("runbooks")
    if not isinstance(runbooks, dict):
        raise LedgerFormatError(f"{path} has no 'runbooks' object; delete it and rerun")
    return runbooks


def check_records(path: Path, records: dict[str, Any]) -> None:
    """Raise :class:`LedgerFormatError` if a record lacks a field a reader prints."""
    for name, record in records.items():
        missing = _missing_fields(record)
        if missing:
            raise LedgerFormatError(
                f"{path}: the record of {name!r} lacks {', '.join(missing)}; delete the file "
                "and run `runbook-exec run`"
            )


def _missing_fields(record: Any) -> list[str]:
    """The Record fields the CLI and the site read that ``record`` lacks or mistypes."""
    if not isinstance(record, dict):
        return ["everything (it is not an object)"]
    wanted: dict[str, type | tuple[type, ...]] = {
        "name": str, "status": str, "finished": str, "duration": (int, float),
        "cells": int, "environment": dict, "cached": bool,
    }
    missing = [key for key, kind in wanted.items() if not isinstance(record.get(key), kind)]
    if record.get("status") not in ("passed", "failed") and "status" not in missing:
        missing.append("a status of 'passed' or 'failed'")
    if not isinstance(record.get("failure"), (dict, type(None))):
        missing.append("failure")
    return missing


def save(path: Path, records: dict[str, Record]) -> None:
    """Write the ledger atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {"format": FORMAT, "runbooks": dict(sorted(records.items()))},
        indent=2,
        ensure_ascii=False,
    )
    files.write_text(path, body + "\n", mode=files.KEEP)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the ledger: two `runbook-exec run`s may share it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update(
    path: Path, changes: dict[str, Record], *, keep: set[str] | None = None
) -> dict[str, Record]:
    """Merge ``changes`` into the ledger on disk under a lock and return the result.

    Re-reading under the lock keeps records another run wrote meanwhile; ``keep`` (if
    given) drops records of runbooks not named in it (a full run prunes deleted ones).
    """
    with _locked(path):
        records = load(path)
        if keep is not None:
            records = {name: r for name, r in records.items() if name in keep}
        records.update(changes)
        save(path, records)
    return records


_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")


def short_version(full: str) -> str:
    """``'containerd github.com/containerd/containerd 1.6.20~ds1 ...'`` -> ``'1.6.20'``."""
    if full == "absent":
        return full
    found = _VERSION.search(full)
    return found.group(0) if found else full


def short_environment(env: dict[str, str], engines: dict[str, Any] | None = None) -> str:
    """One line for a badge: the engines a runbook ran, then the system binaries, e.g.
    ``dockerd 25.0.0 · containerd 1.7.1 · crictl 1.36.0 · skopeo 1.9.3 · sandbox``."""
    parts = [name.replace("docker-cli-", "docker CLI ").replace("-", " ", 1)
             for name in sorted(engines or {}, key=_engine_order)]
    parts += [f"{key} {short_version(env[key])}" for key in ("skopeo",) if key in env]
    if "target" in env:
        parts.append(env["target"])
    return " · ".join(parts)


def _engine_order(name: str) -> tuple[int, str]:
    kinds = ("dockerd", "docker-cli", "containerd", "crictl", "kind", "registry", "buildx")
    rank = next((i for i, k in enumerate(kinds) if name.startswith(k + "-")), len(kinds))
    return rank, name


def describe_failure(record: Record) -> str:
    """One line naming where and how a runbook failed (used by the CLI and the site)."""
    failure = record.get("failure")
    if not failure:
        return ""
    where = f"cell {failure['cell']}" if failure["cell"] is not None else "before any cell"
    head = f"{record['name']}: {where}"
    if failure["first_line"]:
        head += f" `{failure['first_line']}`"
    return f"{head}: {failure['error']}"
