from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The site built by `./dev.sh test` before pytest runs (strict build of executed runbooks)."""
    site = ROOT / "site"
    if not (site / "index.html").is_file() or not (site / "en" / "index.html").is_file():
        pytest.fail("site/ is not built: run `./dev.sh site` (or `./dev.sh test`, which builds it first)")
    return site
