"""Run a small Go program written by a test (the real Go answers what our Python copies of
Go behaviour claim). Offline: modules come from the local module cache only."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GO = os.environ.get("RUNBOOK_GO") or shutil.which("go") or "/usr/local/go/bin/go"


def go_run(tmp: Path, main_go: str, stdin: str, requires: str = "") -> str:
    """``go run .`` of ``main_go`` in module ``tmp`` with ``requires`` (go.mod lines);
    skipped (with the reason) where no Go or no cached module is there."""
    if not Path(GO).exists() and shutil.which(GO) is None:
        pytest.skip(f"no Go toolchain at {GO}")
    (tmp / "go.mod").write_text(f"module gocheck\n\ngo 1.21\n\n{requires}\n")
    (tmp / "main.go").write_text(main_go)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off",
               GOTOOLCHAIN="local", GOWORK="off", CGO_ENABLED="0")
    res = subprocess.run([GO, "run", "."], cwd=tmp, input=stdin, capture_output=True,
                         text=True, timeout=300, env=env)
    if res.returncode != 0 and "module lookup disabled" in res.stderr:
        pytest.skip(f"Go module not in the local cache: {res.stderr.strip()[:200]}")
    assert res.returncode == 0, res.stderr
    return res.stdout
