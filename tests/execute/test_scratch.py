"""The scratch area: short paths, and the sweep that leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from runbook_exec import proc
from runbook_exec.execute import scratch
from runbook_exec.execute.scratch import MARKER, Scratch


def test_scratch_paths_leave_room_for_unix_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    # dockerd binds <TMPDIR>/<its dir>/exec/libnetwork/<12 hex>.sock; sun_path holds 107 bytes
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    with Scratch("a-runbook-with-a-rather-long-descriptive-name") as area:
        assert len(str(area.tmp)) <= len("/tmp/rbx-12345678/t")
        assert area.env["TMPDIR"] == str(area.tmp)
        assert area.env[MARKER] == str(area.root)
        root = area.root
    assert not root.exists()


def test_scratch_kill_marked_finds_a_detached_process(tmp_path: Path) -> None:
    value = str(tmp_path / "rbx-test")
    child = proc.spawn(["sleep", "60"], log=tmp_path / "log", env={**os.environ, MARKER: value})
    try:
        assert scratch.kill_marked(value) == [child.pid]
        assert child.wait(timeout=10) == -9
    finally:
        proc.stop(child)
