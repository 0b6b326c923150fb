"""What an executed runbook printed (``build/executed/<name>.ipynb``), for tests that hold
pages and claims to the real outputs. ``import executed`` from any test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "build" / "executed"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def printed(name: str, *, results: bool = False) -> str:
    """All stream text runbook ``name`` printed, in cell order (with ``results``, cell values
    too, each on lines of its own). Fails the test if the notebook is missing or a cell
    raised."""
    path = EXECUTED / f"{name}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `runbook-exec run runbooks/{name}.py` first")
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                pytest.fail(f"{name}: a cell raised {out.get('ename')}: {out.get('evalue')}")
            # a print may arrive as several stream chunks: they carry their own newlines
            if out.get("output_type") == "stream":
                parts.append(_text(out.get("text", "")))
            elif results and "text/plain" in out.get("data", {}):
                parts.append(f"\n{_text(out['data']['text/plain'])}\n")
    return "".join(parts)
