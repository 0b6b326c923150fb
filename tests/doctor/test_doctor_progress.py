"""Progress for large archives shows on a terminal, and never with --json or when piped."""

from __future__ import annotations

import io
import os
import pty
import sys
from pathlib import Path

import dsave
import pytest

from runbook_exec import cli
from runbook_exec.doctor import commands

IMG = dsave.make_image(3)


def run_on_a_terminal(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Run the CLI with stderr on a real pseudo-terminal; return (exit code, what it showed)."""
    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w", buffering=1, encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(commands, "_PROGRESS_FLOOR", 0)  # a tiny archive counts as large
    try:
        code = cli.main(argv)
    finally:
        tty.close()
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed and drained
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return code, shown.decode("utf-8", "replace")


def test_diagnose_verify_shows_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(IMG))
    code, shown = run_on_a_terminal(["doctor", "diagnose", "--verify", str(path)], monkeypatch)
    assert code == 0
    assert "hashing blobs" in shown


def test_repair_shows_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(IMG, order=[2, 0, 1]))
    out = tmp_path / "fixed.tar"
    code, shown = run_on_a_terminal(["doctor", "repair", str(path), "-o", str(out)], monkeypatch)
    assert code == 0 and out.is_file()
    assert "copying" in shown


def test_json_is_quiet_even_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(IMG))
    code, shown = run_on_a_terminal(
        ["doctor", "diagnose", "--verify", "--json", str(path)], monkeypatch
    )
    assert code == 0
    assert "hashing blobs" not in shown


def test_no_progress_when_stderr_is_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(IMG))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(commands, "_PROGRESS_FLOOR", 0)
    assert cli.main(["doctor", "diagnose", "--verify", str(path)]) == 0
    assert "hashing blobs" not in err.getvalue()
