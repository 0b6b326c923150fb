"""The one tar header writer (archive.writer.tar_header): ustar when it fits, as Go's
archive/tar chooses, PAX records otherwise; read back by Python's tarfile and GNU tar."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from runbook_exec.archive.writer import (
    BLOCK,
    REGTYPE,
    SYMTYPE,
    tar_header,
    ustar_header,
)
from runbook_exec.errors import ArchiveError

NAMES = {
    "short": "blobs/sha256/" + "a" * 64,
    "split": "d" * 60 + "/" + "x" * 90,  # prefix/name split, still one ustar block
    "pax-long": "d/" + "x" * 150,  # no split fits
    "pax-utf8": "镜像/" + "y" * 20,
}


def _archive(name: str, data: bytes, link: str = "") -> bytes:
    body = b"" if link else data + bytes(-len(data) % BLOCK)
    kind, mode = (SYMTYPE, 0o120777) if link else (REGTYPE, 0o100644)
    return tar_header(name, kind, 0 if link else len(data), 0, mode, link) + body + bytes(1024)


@pytest.mark.parametrize("case", sorted(NAMES))
def test_names_read_back(case: str, tmp_path: Path) -> None:
    name = NAMES[case]
    raw = _archive(name, b"abc")
    header_blocks = (len(raw) - 1024 - BLOCK) // BLOCK
    assert (header_blocks == 1) == (case in ("short", "split"))
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        member = tf.getmember(name)
        assert (member.size, member.uname, member.mode & 0o7777) == (3, "root", 0o644)
        assert tf.extractfile(member).read() == b"abc"  # type: ignore[union-attr]
    if shutil.which("tar"):
        (tmp_path / "a.tar").write_bytes(raw)
        listed = subprocess.run(["tar", "-tf", str(tmp_path / "a.tar")], capture_output=True,
                                text=True, check=True).stdout.splitlines()
        assert listed == [name]


def test_a_long_link_gets_a_linkpath_record() -> None:
    target = "../" + "t" * 120
    with tarfile.open(fileobj=io.BytesIO(_archive("l", b"", link=target))) as tf:
        assert tf.getmember("l").linkname == target


def test_ustar_header_refuses_what_needs_pax() -> None:
    assert len(ustar_header(NAMES["split"], REGTYPE, 1, 0, 0o100644)) == BLOCK
    with pytest.raises(ArchiveError, match="too long"):
        ustar_header(NAMES["pax-long"], REGTYPE, 1, 0, 0o100644)
