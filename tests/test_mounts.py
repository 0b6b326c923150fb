"""The one mounts module: mountinfo parsing (escapes, prefixes, order) and a real detach."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from runbook_exec import mounts

SAMPLE = (
    "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
    "90 22 0:50 / /tmp/rbx-1/t/with\\040space rw - tmpfs tmpfs rw\n"
    "91 90 0:51 / /tmp/rbx-1/t/with\\040space/deeper rw - overlay overlay rw\n"
    "93 22 0:53 / /tmp/rbx-1 rw - tmpfs tmpfs rw\n"
    "92 22 0:52 / /tmp/rbx-10 rw - tmpfs tmpfs rw\n"
    "short line\n"
)


@pytest.mark.parametrize(
    ("field", "plain"),
    [
        ("/a\\040b", "/a b"),
        ("/tab\\011x", "/tab\tx"),
        ("/nl\\012", "/nl\n"),
        ("/back\\134slash", "/back\\slash"),
        ("/not\\04", "/not\\04"),  # too short to be an escape: left as is
        ("/plain", "/plain"),
    ],
)
def test_unescape(field: str, plain: str) -> None:
    assert mounts.unescape(field) == plain


def test_mounts_under_deepest_first_and_not_a_sibling_prefix(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(SAMPLE)
    assert mounts.mounts_under(Path("/tmp/rbx-1"), mountinfo=info) == [
        "/tmp/rbx-1/t/with space/deeper",
        "/tmp/rbx-1/t/with space",
        "/tmp/rbx-1",
    ]
    assert mounts.mounts_under(Path("/tmp/rbx-1/"), mountinfo=info)[-1] == "/tmp/rbx-1"
    assert mounts.mounts_under(Path("/nowhere"), mountinfo=info) == []


def test_unreadable_mountinfo_is_no_mounts(tmp_path: Path) -> None:
    assert mounts.mounts_under(tmp_path, mountinfo=tmp_path / "missing") == []
    assert mounts.unmount_under(tmp_path, mountinfo=tmp_path / "missing") == []


@pytest.mark.daemons
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_unmount_under_detaches_nested_mounts(tmp_path: Path) -> None:
    outer = tmp_path / "with space"
    inner = outer / "inner"
    outer.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(outer)], check=True)
    try:
        inner.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(inner)], check=True)
        assert mounts.mounts_under(tmp_path) == [str(inner), str(outer)]
        assert mounts.unmount_under(tmp_path) == [str(inner), str(outer)]
        assert mounts.mounts_under(tmp_path) == []
    finally:
        for point in mounts.mounts_under(tmp_path):
            subprocess.run(["umount", "-l", point], check=False)
