"""The compatibility matrix as executed must equal the matrix we expect, cell by cell.

The matrix page is generated from the executed runbook ``runbooks/matrix.py``; this test
pins the behaviour behind it, as measured on the real engines. When a cell's outcome changes
(a dockerd, a containerd or skopeo behaves differently), this test fails and names the cell, so the change is looked
at instead of silently republished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "build" / "executed" / "matrix.ipynb"

SHAPES = ["1", "5", "12", "5+dup", "@sha256", "pulled multi-arch", "pulled attested"]
KINDS = ["v0.20.0", "v0.26.0", "v0.27.0", "v0.30.0", "v0.33.0"]
LOAD = "docker load (25.0.3)"
SKOPEO = "skopeo docker-archive:"
READERS = [f"kind {k}" for k in KINDS] + [LOAD, SKOPEO]
ROWS = ["24.0.7", "25.0.0-rc.1", "25.0.0", "25.0.1", "25.0.2", "25.0.3", "29.8.1",
        "29.8.1 --platform", "29.8.1 graphdriver"]
OK = "ok"


def wording(kind: str) -> dict[str, str]:
    """What each kind release's containerd prints for each failure (measured on the real
    builds; 2.0.2 wraps its errors in gRPC status text, 2.2+ rewrote the diff-id line)."""
    rpc = "rpc error: code = Unknown desc = " if kind == "v0.27.0" else ""
    one_x = kind in ("v0.20.0", "v0.26.0")
    wrong = ('ctr: wrong diff id "sha256:…" calculated on extraction "sha256:…", desc "sha256:…"'
             if kind == "v0.33.0" else f'ctr: {rpc}wrong diff id calculated on extraction "sha256:…"')
    return {
        "M": "ctr: mismatched image rootfs and manifest layers" if one_x
        else f"ctr: {rpc}number of layers and diffIDs don't match: 4 != 5",
        "F": f"ctr: {rpc}image might be filtered out",
        "W": wrong,
        "C": "ctr: rpc error: code = NotFound desc = content digest sha256:…: not found"
        if kind == "v0.27.0" else "ctr: content digest sha256:…: not found",
        "rc1": "ctr: mismatched image rootfs and manifest layers" if one_x else OK,
    }


# kind's import, per row, in SHAPES order: M mismatched/layer count, F filtered out, W wrong
# diff id, C content digest not found; rc1: "layers": [] (1.x rejects it, 2.x imports it).
EXPECTED_KIND: dict[str, list[str]] = {
    "24.0.7": [OK] * 7,
    "25.0.0-rc.1": ["rc1", "rc1", "rc1", "rc1", "F", "rc1", "rc1"],
    "25.0.0": [OK, "W", "W", "M", "F", "W", "W"],
    "25.0.1": [OK, OK, OK, OK, "F", OK, OK],
    "25.0.2": [OK, OK, OK, OK, "F", OK, OK],
    "25.0.3": [OK] * 7,
    "29.8.1": [OK, OK, OK, OK, OK, "C", OK],
    "29.8.1 --platform": [OK] * 7,
    "29.8.1 graphdriver": [OK] * 7,
}
# measured: containerd 1.7.1 alone rejects Docker 29's --platform save of an attested image
EXCEPTIONS = {("29.8.1 --platform", "pulled attested", "kind v0.20.0"):
              "ctr: mismatched image rootfs and manifest layers"}


def expected(row: str, shape: str, reader: str) -> str:
    if (row, shape, reader) in EXCEPTIONS:
        return EXCEPTIONS[(row, shape, reader)]
    if reader in (LOAD, SKOPEO):
        return OK  # docker load and skopeo read manifest.json, which every release gets right
    code = EXPECTED_KIND[row][SHAPES.index(shape)]
    return code if code == OK else wording(reader.removeprefix("kind "))[code]


def executed_cells() -> list[dict[str, Any]]:
    if not EXECUTED.is_file():
        pytest.fail(f"{EXECUTED} is missing: run `runbook-exec run runbooks/matrix.py` first")
    nb = json.loads(EXECUTED.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/json" in data and "cells" in data["application/json"]:
                return list(data["application/json"]["cells"])
    pytest.fail(f"{EXECUTED} has no matrix result (application/json output); re-run the runbook")


def outcome(cell: dict[str, Any]) -> str:
    return str(cell["normalised"]) if cell["outcome"] == "fail" else str(cell["outcome"])


def test_matrix_every_cell_executed() -> None:
    cells = executed_cells()
    keys = {(c["row"], c["shape"], c["reader"]) for c in cells}
    wanted = {(r, s, x) for r in ROWS for s in SHAPES for x in READERS}
    assert keys == wanted, f"missing: {sorted(wanted - keys)}; unexpected: {sorted(keys - wanted)}"


def test_matrix_outcomes_match_expected() -> None:
    changed = []
    for c in executed_cells():
        want = expected(c["row"], c["shape"], c["reader"])
        if outcome(c) != want:
            changed.append(f"{c['row']} × {c['shape']} × {c['reader']}: expected {want!r}, "
                           f"got {outcome(c)!r}")
    assert not changed, "matrix cells changed behaviour:\n" + "\n".join(changed)


def test_matrix_25_0_0_row_says_how_often_the_order_was_shuffled() -> None:
    notes = {c["shape"]: c["note"] for c in executed_cells() if c["row"] == "25.0.0"}
    assert notes["1"] == "0/16 saves shuffled"  # one layer cannot be out of order
    assert notes["5+dup"] == "16/16 saves shuffled"  # a collapsed repeat, every time


def test_matrix_page_embeds_the_runbook() -> None:
    for page in ("matrix.md", "matrix.en.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert "<!-- runbook: matrix -->" in text, f"docs/{page} does not embed the matrix runbook"
