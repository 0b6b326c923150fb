"""The one atomic write (runbook_exec.files): whole or nothing, mode by stated policy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runbook_exec import files


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_replaces_the_target_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.tar"
    target.write_bytes(b"old")
    with files.atomic_write(target, mode=0o644) as f:
        f.write(b"new")
        assert target.read_bytes() == b"old"  # readers see the old file until the rename
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tar"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()],
                         ids=["exception", "keyboard-interrupt"])
def test_atomic_write_removes_the_temp_on_failure(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "ledger.json"
    target.write_text("kept")
    with pytest.raises(type(error)), files.atomic_write(target, mode=files.KEEP) as f:
        f.write(b"half")
        raise error
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]


def test_a_failed_check_renames_nothing(tmp_path: Path) -> None:
    target = tmp_path / "repaired.tar"
    seen: list[bytes] = []

    def check(tmp: Path) -> None:
        seen.append(tmp.read_bytes())  # complete and closed when checked
        assert tmp.parent == tmp_path and tmp.name.startswith(".repaired.tar.")
        raise ValueError("did not verify")

    with pytest.raises(ValueError, match="did not verify"), \
            files.atomic_write(target, mode=files.KEEP, check=check) as f:
        f.write(b"data")
    assert seen == [b"data"]
    assert list(tmp_path.iterdir()) == []


def test_mode_policies(tmp_path: Path) -> None:
    exact = tmp_path / "kind-doctor.pyz"
    files.write_bytes(exact, b"#!", mode=0o755)
    assert _mode(exact) == 0o755

    kept = tmp_path / "kept"
    kept.write_bytes(b"x")
    kept.chmod(0o640)
    files.write_text(kept, "y", mode=files.KEEP)
    assert (_mode(kept), kept.read_text()) == (0o640, "y")

    umask = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh"
        files.write_text(fresh, "z", mode=files.KEEP)
    finally:
        os.umask(umask)
    assert _mode(fresh) == 0o640  # what open() gives, not mkstemp's 0600


def test_creating_the_temp_fails_with_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), files.atomic_write(tmp_path / "no" / "x", mode=0o644):
        pass  # pragma: no cover
