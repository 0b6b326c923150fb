from __future__ import annotations

import os
import subprocess
import sys
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


PUBLISHED_SITE_URL = "https://handbook.test/kind/"
PUBLISHED_REPO_URL = "https://forge.test/team/handbook"


@pytest.fixture(scope="session")
def published_site(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same site built as a publisher builds it: with HANDBOOK_SITE_URL and
    HANDBOOK_REPO_URL set (under a sub-path, as a project site on a forge's pages is)."""
    out = tmp_path_factory.mktemp("published") / "site"
    env = {**os.environ, "HANDBOOK_SITE_URL": PUBLISHED_SITE_URL,
           "HANDBOOK_REPO_URL": PUBLISHED_REPO_URL}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out
