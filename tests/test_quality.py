"""The code stays as the house style asks: ruff-clean everywhere, mypy --strict on src/ and on
the runbooks (jupytext percent files are Python; pyproject.toml's [tool.mypy] names both)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "src", "tests", "runbooks", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_on_src_and_runbooks_is_clean() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True and set(config["files"]) == {"src/runbook_exec", "runbooks"}
    overrides = config.get("overrides", [])
    assert all("ignore_errors" not in o for o in overrides), "no module opts out of the check"
    relaxed = {m for o in overrides if "disable_error_code" in o for m in o["module"]}
    assert relaxed == set(), f"every module is checked with every error code: {relaxed}"
    proc = subprocess.run(
        [str(BIN / "mypy"), "--no-incremental"], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
