"""The reader on tiny archives made here: layouts, links, streams, gzip, limits."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import dsave
import pytest

from runbook_exec.archive.reader import Layout, Limits, open_archive
from runbook_exec.errors import ArchiveError, UnsafeArchiveError


class _Pipe(io.RawIOBase):
    """A non-seekable stream, like stdin."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self._b.read(min(len(buf), 777))
        buf[: len(data)] = data
        return len(data)


@pytest.fixture
def img() -> dsave.Img:
    return dsave.make_image(4, repeat=(0, 2))


def test_reader_detects_docker25_layout(tmp_path: Path, img: dsave.Img) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(img))
    with open_archive(path) as r:
        assert r.layout is Layout.DOCKER25
        assert not r.streamed
        assert r.read_json("oci-layout") == {"imageLayoutVersion": "1.0.0"}
        assert r.open_blob(img.diff_ids[1]).read() == img.layers[1]


def test_reader_resolves_legacy_sibling_symlink(tmp_path: Path, img: dsave.Img) -> None:
    entries = dsave.legacy24(img)
    path = dsave.write_tar(tmp_path / "a.tar", entries)
    with open_archive(path) as r:
        assert r.layout is Layout.LEGACY
        layer_paths = r.read_json("manifest.json")[0]["Layers"]
        assert r.members[layer_paths[2]].kind == "symlink"
        assert r.open_member(layer_paths[2]).read() == img.layers[0]
        got = r.hash_members(layer_paths)
        assert [got[r.resolve(p).name] for p in layer_paths] == img.diff_ids


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_reader_streams_pipes(img: dsave.Img, compress: bool) -> None:
    data = dsave.tar_bytes(dsave.docker25(img))
    if compress:
        data = gzip.compress(data)
    with open_archive(io.BufferedReader(_Pipe(data)), hash_blobs=True) as r:
        assert r.streamed and r.compressed == compress
        assert r.layout is Layout.DOCKER25
        assert r.digests[f"blobs/sha256/{img.diff_ids[1][7:]}"] == img.diff_ids[1]
        with pytest.raises(ArchiveError, match="from a stream"):
            r.open_blob(img.diff_ids[1])


def test_reader_restreams_gzip_file(tmp_path: Path, img: dsave.Img) -> None:
    path = dsave.write_tar(tmp_path / "a.tar.gz", dsave.docker25(img), compress=True)
    with open_archive(path) as r:
        assert r.compressed and r.streamed
        assert r.open_blob(img.diff_ids[3]).read() == img.layers[3]
        names = [f"blobs/sha256/{d[7:]}" for d in img.diff_ids]
        got = r.hash_members(names)
        assert [got[n] for n in names] == img.diff_ids


def test_reader_does_not_close_callers_file(tmp_path: Path, img: dsave.Img) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(img))
    with path.open("rb") as f:
        with open_archive(f) as r:
            assert r.layout is Layout.DOCKER25
        assert not f.closed


def test_reader_caps_json_size(tmp_path: Path, img: dsave.Img) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(img))
    with open_archive(path, limits=Limits(max_json=10)) as r, pytest.raises(
        ArchiveError, match="limit"
    ):
        r.read_json("index.json")


def test_reader_extracts_only_where_asked(tmp_path: Path, img: dsave.Img) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(img))
    before = sorted(tmp_path.iterdir())
    with open_archive(path) as r:
        r.read_json("manifest.json")
        out = r.extract(f"blobs/sha256/{img.diff_ids[0][7:]}", tmp_path / "layer.tar")
    assert out.read_bytes() == img.layers[0]
    assert sorted(tmp_path.iterdir()) == sorted([*before, out])


@pytest.mark.parametrize(
    "entries, message",
    [
        ([("../evil", b"x")], "'..'"),
        ([("/etc/passwd", b"x")], "absolute"),
        ([("a", dsave.Link("../../etc/passwd"))], "outside"),
        ([("a", dsave.Link("/etc/passwd"))], "outside"),
        ([("a", dsave.Link("../x", hard=True))], "'..'"),
        ([("x", b"1"), ("x", b"2")], "duplicate"),
    ],
    ids=["dotdot", "absolute", "symlink-out", "symlink-abs", "hardlink-out", "duplicate"],
)
def test_reader_refuses_hostile_members(tmp_path: Path, entries, message) -> None:  # type: ignore[no-untyped-def]
    path = dsave.write_tar(tmp_path / "a.tar", entries)
    with pytest.raises(UnsafeArchiveError, match=message):
        open_archive(path)
