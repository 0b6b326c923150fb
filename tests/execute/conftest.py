"""Helpers for executor tests: tiny runbooks written by the tests, a private temp root, and
a check after every test that no kernel, process or scratch directory outlived the run."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from runbook_exec.execute.fingerprint import CacheInputs
from runbook_exec.execute.notebooks import Runbook, discover
from runbook_exec.execute.progress import PlainReporter
from runbook_exec.execute.runner import Options, Summary, run
from runbook_exec.execute.scratch import MARKER

# Fixed inputs so tests do not depend on (or pay for) the host's binaries; tests that
# change one input derive from this.
INPUTS = CacheInputs(
    environment={
        "skopeo": "skopeo version 1.9.3",
        "runc": "runc version 1.1.5+ds1",
        "target": "sandbox",
        "python": "3.11.7",
    },
    dependencies={"nbclient": "0.11.0", "ipykernel": "7.4.0"},
    package="0" * 64,
)


def percent(*cells: str, header: str = "") -> str:
    """A jupytext percent source; a cell starting with 'md:' is markdown, else code."""
    parts = [header] if header else []
    for cell in cells:
        if cell.startswith("md:"):
            parts.append(
                "# %% [markdown]\n" + "\n".join(f"# {line}" for line in cell[3:].splitlines())
            )
        else:
            parts.append("# %%\n" + cell)
    return "\n\n".join(parts) + "\n"


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runbooks = root / "runbooks"
        self.build = root / "build"
        self.runbooks.mkdir()
        self.log = io.StringIO()

    def write(self, name: str, *cells: str, header: str = "") -> Path:
        path = self.runbooks / f"{name}.py"
        path.write_text(percent(*cells, header=header), encoding="utf-8")
        return path

    def runbooks_named(self, *names: str) -> list[Runbook]:
        return discover([self.runbooks / f"{n}.py" for n in names], self.runbooks)

    def run(
        self,
        *names: str,
        inputs: CacheInputs = INPUTS,
        jobs: int = 2,
        timeout: float = 30.0,
        deadline: float = 120.0,
        force: bool = False,
    ) -> Summary:
        found = self.runbooks_named(*names) if names else discover([], self.runbooks)
        opts = Options(self.build, jobs=jobs, timeout=timeout, deadline=deadline, force=force)
        return run(found, opts, inputs=inputs, reporter=PlainReporter(self.log))


@pytest.fixture
def scratch_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Scratch roots go under a directory of this test, so leftovers are attributable."""
    parent = tmp_path / "scratch"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    yield parent
    leftovers = marked_processes(parent)
    for proc in leftovers:
        proc.kill()
    assert not leftovers, f"processes outlived the run: {leftovers}"
    assert not list(parent.iterdir()), f"scratch dirs left: {list(parent.iterdir())}"
    children = psutil.Process().children(recursive=True)
    assert not children, f"child processes left: {children}"


@pytest.fixture
def ws(tmp_path: Path, scratch_parent: Path) -> Workspace:
    return Workspace(tmp_path)


def marked_processes(parent: Path) -> list[psutil.Process]:
    needle = f"{MARKER}={parent}".encode()
    found = []
    for pid in psutil.pids():
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read():
                    found.append(psutil.Process(pid))
        except (OSError, psutil.Error):
            continue
    return found
