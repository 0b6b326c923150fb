"""A corpus of malformed and hostile archives, generated here. Each must give one clear
line on stderr, exit 2, no traceback, and leave nothing behind but (never) the -o target."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import dsave
import pytest

from runbook_exec import cli

IMG = dsave.make_image(3, repeat=(0, 2))
GOOD = dsave.docker25(IMG)
CONFIG = f"blobs/sha256/{IMG.image_id[7:]}"
MANIFEST = next(n for n, d in GOOD if isinstance(d, bytes) and b'"layers"' in d)


def _raw_member(name: str, typeflag: bytes, data: bytes = b"", linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = typeflag
    info.size = len(data)
    info.linkname = linkname
    return info.tobuf(format=tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512)


def _tar_of(*parts: bytes) -> bytes:
    return b"".join(parts) + bytes(1024)


def _sparse_member(path: Path, name: str, size: int) -> None:
    """A tar whose member claims ``size`` bytes, written sparse (cheap on disk)."""
    head = dsave.tar_bytes([e for e in GOOD if e[0] != name]).rstrip(b"\0")  # no end marker
    head += bytes(-len(head) % 512)
    info = tarfile.TarInfo(name)
    info.size = size
    with path.open("wb") as f:
        f.write(head + info.tobuf(format=tarfile.PAX_FORMAT))
        f.seek(size + (-size % 512), os.SEEK_CUR)
        f.write(bytes(1024))


def _gzip_zeros_truncated(path: Path) -> None:
    """400 MB of zeros at ~1000:1 (what looked like a gzip bomb), cut short: refused as
    truncated after streaming through it, in bounded memory."""
    info = tarfile.TarInfo("blobs/sha256/" + "a" * 64)
    info.size = 400 << 20
    zeros = gzip.compress(bytes(8 << 20), compresslevel=9)
    with path.open("wb") as f:
        f.write(gzip.compress(info.tobuf(format=tarfile.PAX_FORMAT)))
        for _ in range(50):
            f.write(zeros)


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.json", "[]")


def _replace_json(name: str, obj: object) -> bytes:
    return dsave.tar_bytes(dsave.replace(GOOD, name, json.dumps(obj).encode()))


def _index_cycle() -> bytes:
    hexd = "c" * 64
    body = json.dumps({"mediaType": dsave.OCI_INDEX, "manifests": []})
    # the blob claims its own digest as a child; sizes are made to agree
    child = {"mediaType": dsave.OCI_INDEX, "digest": f"sha256:{hexd}", "size": 0}
    for _ in range(3):
        body = json.dumps({"mediaType": dsave.OCI_INDEX, "manifests": [child]})
        child["size"] = len(body)
    body = json.dumps({"mediaType": dsave.OCI_INDEX, "manifests": [child]})
    index = {"schemaVersion": 2, "manifests": [dict(child)]}
    entries = dsave.replace(GOOD, "index.json", json.dumps(index).encode())
    return dsave.tar_bytes([*entries, (f"blobs/sha256/{hexd}", body.encode())])


Maker = Callable[[Path], None]


def _bytes(data: bytes | Callable[[], bytes]) -> Maker:
    return lambda p: p.write_bytes(data() if callable(data) else data)


GOOD_TAR = dsave.tar_bytes(GOOD)


def _plus(*extra: dsave.Entry) -> bytes:
    return dsave.tar_bytes([*GOOD, *extra])


def _with(name: str, data: bytes) -> bytes:
    return dsave.tar_bytes(dsave.replace(GOOD, name, data))


def _non_utf8_member() -> bytes:
    raw = bytearray(_raw_member("x", tarfile.REGTYPE))
    raw[0] = 0xFF  # a name that is not UTF-8; fix the checksum so only the name is wrong
    raw[148:156] = b"        "
    raw[148:156] = b"%06o\0 " % sum(raw)
    return bytes(raw)


def _no_end_marker() -> bytes:
    body = GOOD_TAR.rstrip(b"\0")  # the last member is JSON, ending in "}"
    return body + bytes(-len(body) % 512)

SECOND_HEADER = 512 + 512  # pax header + first dir header

CORPUS: dict[str, Maker] = {
    "empty-file": _bytes(b""),
    "not-a-tar": _bytes(b"hello, this is not an archive\n" * 40),
    "zip": _zip,
    "bzip2": _bytes(lambda: bz2.compress(GOOD_TAR)),
    "zstd-magic": _bytes(b"\x28\xb5\x2f\xfd" + bytes(600)),
    "all-zero": _bytes(bytes(4096)),
    "truncated-in-header": _bytes(GOOD_TAR[: SECOND_HEADER + 200]),
    "truncated-in-blob": _bytes(GOOD_TAR[: len(GOOD_TAR) // 2 + 7]),
    "truncated-no-end-marker": _bytes(_no_end_marker),
    "gzip-truncated": _bytes(lambda: gzip.compress(GOOD_TAR)[:-40]),
    "gzip-corrupt": _bytes(lambda: gzip.compress(GOOD_TAR)[:30] + b"\xff" * 200),
    "gzip-zeros-truncated": _gzip_zeros_truncated,
    "bad-checksum": _bytes(
        GOOD_TAR[: SECOND_HEADER + 148] + b"0000000\0" + GOOD_TAR[SECOND_HEADER + 156 :]
    ),
    "garbage-after-end": _bytes(GOOD_TAR + b"junk" * 10),
    "name-dotdot": _bytes(lambda: dsave.tar_bytes([*GOOD, ("../../etc/evil", b"x")])),
    "name-absolute": _bytes(lambda: dsave.tar_bytes([*GOOD, ("/etc/evil", b"x")])),
    "symlink-outside": _bytes(lambda: _plus(("x", dsave.Link("../../../etc/passwd")))),
    "symlink-absolute": _bytes(lambda: _plus(("x", dsave.Link("/etc/passwd")))),
    "hardlink-outside": _bytes(lambda: _plus(("x", dsave.Link("../etc/passwd", hard=True)))),
    "symlink-cycle": _bytes(lambda: _plus(("a", dsave.Link("b")), ("b", dsave.Link("a")))),
    "symlink-dangling": _bytes(lambda: dsave.tar_bytes([*GOOD, ("a", dsave.Link("nothere"))])),
    "char-device": _bytes(lambda: _tar_of(_raw_member("dev", tarfile.CHRTYPE))),
    "block-device": _bytes(lambda: _tar_of(_raw_member("dev", tarfile.BLKTYPE))),
    "fifo": _bytes(lambda: _tar_of(_raw_member("pipe", tarfile.FIFOTYPE))),
    "sparse-type": _bytes(lambda: _tar_of(_raw_member("s", tarfile.GNUTYPE_SPARSE))),
    "non-utf8-name": _bytes(lambda: _tar_of(_non_utf8_member())),
    "duplicate-index": _bytes(lambda: dsave.tar_bytes([*GOOD, ("index.json", b"{}")])),
    "index-invalid-json": _bytes(lambda: _with("index.json", b"{not json")),
    "index-100MB": lambda p: _sparse_member(p, "index.json", 100 << 20),
    "manifest-invalid-json": _bytes(lambda: _with("manifest.json", b"[{]")),
    "manifest-100MB": lambda p: _sparse_member(p, "manifest.json", 100 << 20),
    "manifest-not-list": _bytes(lambda: _replace_json("manifest.json", {"Config": "x"})),
    "manifest-config-missing": _bytes(lambda: _replace_json(
        "manifest.json", [{"Config": "blobs/sha256/" + "0" * 64, "Layers": []}])),
    "index-not-object": _bytes(lambda: _replace_json("index.json", [1, 2])),
    "index-bad-digest": _bytes(lambda: _replace_json("index.json", {"manifests": [
        {"mediaType": dsave.OCI_MANIFEST, "digest": "sha256:xyz", "size": 1}]})),
    "index-negative-size": _bytes(lambda: _replace_json("index.json", {"manifests": [
        {"mediaType": dsave.OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": -1}]})),
    "index-cycle": _bytes(_index_cycle),
    "config-not-json": _bytes(lambda: _with(CONFIG, b"\x00\x01binary")),
    "config-no-rootfs": _bytes(lambda: _with(CONFIG, b"{}")),
    "not-docker-archive": _bytes(lambda: dsave.tar_bytes([("hello.txt", b"hi")])),
}


MESSAGES = {  # spot checks that the line names the actual problem
    "index-100MB": "index.json",
    "manifest-100MB": "manifest.json",
    "gzip-zeros-truncated": "truncated",
    "index-cycle": "cycle",
    "non-utf8-name": "UTF-8",
    "zip": "zip",
    "char-device": "character device",
    "fifo": "fifo",
    "duplicate-index": "duplicate",
    "name-dotdot": "'..'",
    "symlink-outside": "outside",
}


def _snapshot(root: Path) -> set[tuple[str, int]]:
    return {(str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*")}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("case", sorted(CORPUS), ids=sorted(CORPUS))
@pytest.mark.parametrize("command", ["diagnose", "diagnose-verify", "repair"])
def test_bad_input_gives_one_line_and_exit_2(
    case: str, command: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = workdir / "in.tar"
    CORPUS[case](archive)
    before = _snapshot(workdir)
    argv = {
        "diagnose": ["doctor", "diagnose", str(archive)],
        "diagnose-verify": ["doctor", "diagnose", "--verify", str(archive)],
        "repair": ["doctor", "repair", str(archive), "-o", str(workdir / "out.tar")],
    }[command]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("runbook-exec: error: ")
    assert "Traceback" not in err
    assert _snapshot(workdir) == before  # nothing written, not even the -o target
    if case in MESSAGES:
        assert MESSAGES[case] in err


def test_bad_input_json_mode_prints_error_object(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = workdir / "in.tar"
    CORPUS["zip"](archive)
    assert cli.main(["doctor", "diagnose", "--json", str(archive)]) == 2
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["exit_code"] == 2 and "zip" in doc["error"]
    assert len(err.strip().splitlines()) == 1


def test_bad_input_in_a_real_process_has_no_traceback(workdir: Path) -> None:
    from runbook_exec import proc

    archive = workdir / "in.tar"
    CORPUS["symlink-outside"](archive)
    res = proc.run([str(Path(os.sys.executable).parent / "runbook-exec"), "doctor", "diagnose",
                    str(archive)], timeout=60, check=False, echo=False)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "points outside" in res.stderr


def test_gzip_of_a_zero_filled_layer_is_not_a_bomb(tmp_path: Path) -> None:
    """deflate reaches ~1030:1 on zeros; a real layer of zeros must diagnose healthy."""
    from runbook_exec.doctor.diagnose import diagnose

    img = dsave.Img([dsave.layer_tar(bytes(64 << 20))])
    path = dsave.write_tar(tmp_path / "zeros.tar.gz", dsave.docker25(img), compress=True)
    report = diagnose(str(path), node="v0.33.0")
    assert report.healthy, report.findings
