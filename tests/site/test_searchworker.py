"""The lunr key fix applies to Material's installed worker exactly once, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import material
import pytest

from runbook_exec.errors import IndexFormatError
from runbook_exec.site.searchworker import WORKER_GLOB, fix_token_set_key

THEME = Path(material.__file__).parent / "templates"


def test_fix_applies_once_to_materials_worker_and_is_idempotent() -> None:
    [worker] = sorted(THEME.glob(WORKER_GLOB))
    original = worker.read_text(encoding="utf-8")
    fixed = fix_token_set_key(original)
    assert fixed != original and len(fixed) == len(original) + len('+"\\u0001"')
    assert 'e=e+s+o.id+"\\u0001"}return e}' in fixed
    assert fix_token_set_key(fixed) == fixed


def test_a_worker_without_lunrs_key_is_refused_with_what_to_check() -> None:
    with pytest.raises(IndexFormatError, match=r"w\.js: lunr's TokenSet key expression found 0 "
                       r"times.*lunr 2\.3\.9"):
        fix_token_set_key("self.onmessage=()=>{}", "w.js")
