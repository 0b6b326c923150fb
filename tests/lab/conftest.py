"""Shared lab fixtures: one sandbox Node and one Engine per module, and a leak guard.

The guard runs around the whole session: afterwards no lab daemon may still run, no
mount may remain under a lab directory and no lab directory this process made may exist.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_exec.lab import Engine, Node
from runbook_exec.lab._containerd import OWNER_FILE
from runbook_exec.lab.engine import SHORT_EXEC_PREFIX
from runbook_exec.lab.podman import PREFIX as PODMAN_PREFIX
from runbook_exec.mounts import mounts_under

LAB_PREFIXES = ("runbook-node-", "runbook-engine-")
SYSTEM_PATHS = ("/run/containerd/containerd.sock", "/var/lib/docker", "/var/lib/containerd")


def lab_dirs() -> list[Path]:
    """Lab directories in $TMPDIR owned by this test process."""
    found = []
    places = [(Path(tempfile.gettempdir()), prefix) for prefix in LAB_PREFIXES]
    places.append((Path("/tmp"), SHORT_EXEC_PREFIX))  # dockerd's exec root under a deep $TMPDIR
    places.append((Path("/tmp"), PODMAN_PREFIX))  # podman's store (short runroot path)
    for parent, prefix in places:
        for path in parent.glob(prefix + "*"):
            try:
                owner = int((path / OWNER_FILE).read_text())
            except (OSError, ValueError):
                continue
            if owner == os.getpid():
                found.append(path)
    return found


def lab_processes() -> list[str]:
    """Command lines of running processes started for a lab directory of this process."""
    mine = [str(p) for p in lab_dirs()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(prefix in cmdline for prefix in LAB_PREFIXES) and (
            not mine or any(d in cmdline for d in mine)
        ):
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


@pytest.fixture(scope="session", autouse=True)
def lab_leak_guard() -> Iterator[None]:
    before = set(lab_dirs())
    yield
    leftovers = [p for p in lab_dirs() if p not in before]
    mounts = [m for p in leftovers for m in mounts_under(p)]
    procs = [p for p in lab_processes() if any(str(d) in p for d in leftovers)]
    assert not (leftovers or mounts or procs), (
        f"the lab left behind dirs={leftovers} mounts={mounts} processes={procs}"
    )


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    with Node() as n:
        yield n


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine() as e:
        yield e


@pytest.fixture
def echoed() -> Iterator[list[str]]:
    """Collect what the lab echoes as commands."""
    from runbook_exec import proc

    lines: list[str] = []
    with proc.echo_to(lines.append):
        yield lines
