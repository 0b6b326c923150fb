"""What a reader sees under each code cell: no loose ends.

Read from the executed notebooks in ``build/executed/`` (``./dev.sh test`` executes the
runbooks first): no cell's output ends with an echoed command whose output never follows
(the lab echoes ``$ ctr ...`` before it runs, so a check made after the last ``print`` leaves
a bare command), and no cell shows a stray return value (``Out[n]``) that nobody printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "build" / "executed"
RUNBOOKS = sorted(p.stem for p in (ROOT / "runbooks").glob("*.py"))


def _code_cells(name: str) -> list[dict[str, Any]]:
    path = EXECUTED / f"{name}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `runbook-exec run runbooks/{name}.py` first")
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _stream_text(cell: dict[str, Any]) -> str:
    return "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in cell.get("outputs", []) if o["output_type"] == "stream"
    )


@pytest.mark.parametrize("name", RUNBOOKS)
def test_no_cell_ends_with_a_bare_echoed_command(name: str) -> None:
    bare = []
    for n, cell in enumerate(_code_cells(name), 1):
        lines = _stream_text(cell).rstrip("\n").splitlines()
        if lines and lines[-1].startswith("$ "):
            bare.append(f"cell {n}: {lines[-1][:100]}")
    assert bare == []


@pytest.mark.parametrize("name", RUNBOOKS)
def test_no_stray_cell_values(name: str) -> None:
    stray = [
        f"cell {n}: {''.join(o['data'].get('text/plain', ''))[:80]}"
        for n, cell in enumerate(_code_cells(name), 1)
        for o in cell.get("outputs", [])
        if o["output_type"] == "execute_result"
        and set(o["data"]) <= {"text/plain"}  # a figure or table is shown on purpose
    ]
    assert stray == []
