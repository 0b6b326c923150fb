"""Finding runbooks and reading them as notebooks.

A runbook is a jupytext percent ``.py`` file (the committed form) or an ``.ipynb``; its
name is the file stem. Files whose name starts with ``_`` or ``.`` are not runbooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExecutorError

SUFFIXES = (".py", ".ipynb")
DEFAULT_KERNEL = "python3"


@dataclass(frozen=True)
class Runbook:
    name: str
    path: Path
    source: bytes


def discover(paths: Sequence[Path], default_dir: Path) -> list[Runbook]:
    """Runbooks named by ``paths`` (files or directories), or all of ``default_dir``."""
    files: list[Path] = []
    for path in paths or [default_dir]:
        if path.is_dir():
            files.extend(p for p in sorted(path.iterdir()) if p.is_file() and _is_runbook_name(p))
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise ExecutorError(
                    f"{path}: not a runbook (expected a jupytext .py or an .ipynb file)"
                )
            files.append(path)
        elif not paths:
            raise ExecutorError(
                f"{path}: no runbooks directory here; run from the repository root "
                "or pass runbook paths"
            )
        else:
            raise ExecutorError(f"{path}: no such file or directory")
    runbooks: dict[str, Runbook] = {}
    for file in files:
        name = file.stem
        if name in runbooks:
            raise ExecutorError(
                f"two runbooks are named {name!r}: {runbooks[name].path} and {file}; rename one"
            )
        try:
            source = file.read_bytes()
        except OSError as exc:
            raise ExecutorError(
                f"{file}: cannot read the runbook: {exc.strerror}; check its permissions"
            ) from exc
        runbooks[name] = Runbook(name, file, source)
    return list(runbooks.values())


def _is_runbook_name(path: Path) -> bool:
    return path.suffix in SUFFIXES and not path.name.startswith(("_", "."))


def read_notebook(runbook: Runbook) -> Any:
    """Parse a runbook into an nbformat v4 notebook with no outputs."""
    import jupytext
    import nbformat

    try:
        text = runbook.source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExecutorError(
            f"{runbook.path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        if runbook.path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
        else:
            nb = jupytext.reads(text, fmt="py:percent")
    except Exception as exc:  # the parsers raise many types; all mean "unreadable"
        raise ExecutorError(f"{runbook.path}: cannot read as a notebook: {exc}") from exc
    if not any(cell.cell_type == "code" and cell.source.strip() for cell in nb.cells):
        # An empty runbook would otherwise be "verified" with nothing run.
        raise ExecutorError(
            f"{runbook.path}: no code to run; a runbook needs at least one `# %%` code cell"
        )
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def kernel_name(nb: Any) -> str:
    name = nb.metadata.get("kernelspec", {}).get("name")
    return str(name) if name else DEFAULT_KERNEL


def code_cell_number(nb: Any, cell_index: int) -> int:
    """1-based position of cell ``cell_index`` among the code cells (what badges show)."""
    return sum(1 for cell in nb.cells[: cell_index + 1] if cell.cell_type == "code")


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""
