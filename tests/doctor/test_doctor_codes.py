"""Finding codes live in one enum; SCHEMA.md and both doctor pages list exactly those."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook_exec.doctor.findings import KINDS, Code

ROOT = Path(__file__).resolve().parents[2]
DOCS = {
    "SCHEMA.md": ROOT / "src/runbook_exec/doctor/SCHEMA.md",
    "docs/doctor.md": ROOT / "docs/doctor.md",
    "docs/doctor.en.md": ROOT / "docs/doctor.en.md",
}


def _table_codes(text: str) -> list[str]:
    section = text.split("{ #codes }", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M)


def test_catalogue_is_the_enum() -> None:
    assert list(KINDS) == [c.value for c in Code]


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_doc_lists_every_code_once(doc: str) -> None:
    codes = _table_codes(DOCS[doc].read_text(encoding="utf-8"))
    assert sorted(codes) == sorted(c.value for c in Code), doc
    assert len(codes) == len(set(codes))


def test_node_table_matches_the_engines_table() -> None:
    """The doctor (stdlib only, no engines import) keeps its own kind -> containerd table."""
    from runbook_exec.doctor.nodes import KIND_CONTAINERD
    from runbook_exec.engines import KIND_CONTAINERD as ENGINES

    assert {k: f"containerd-{v}" for k, v in KIND_CONTAINERD.items()} == ENGINES
