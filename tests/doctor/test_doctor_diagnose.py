"""diagnose and repair on tiny archives of each Docker release's shape."""

from __future__ import annotations

import json
from pathlib import Path

import dsave
import pytest

from runbook_exec import cli
from runbook_exec.archive.reader import open_archive
from runbook_exec.doctor.diagnose import diagnose
from runbook_exec.doctor.findings import KINDS
from runbook_exec.doctor.repair import repair
from runbook_exec.errors import RepairError

IMG = dsave.make_image(5, repeat=(0, 3))
UNIQ = dsave.make_image(4, seed="u")


def _multi_platform(img: dsave.Img) -> list[dsave.Entry]:
    """Docker 29 containerd-store export: an index whose arm64 child was never pulled."""
    entries = dsave.docker25(img)
    index = json.loads(dict(entries)["index.json"])
    amd64 = dict(index["manifests"][0])
    amd64.pop("annotations")
    amd64["platform"] = {"architecture": "amd64", "os": "linux"}
    arm64 = dict(amd64, digest="sha256:" + "a" * 64, platform={"architecture": "arm64",
                                                             "os": "linux"})
    inner = dsave.gojson({"schemaVersion": 2, "mediaType": dsave.OCI_INDEX,
                          "manifests": [amd64, arm64]})
    outer = dict(index["manifests"][0], mediaType=dsave.OCI_INDEX, digest=dsave.sha(inner),
                 size=len(inner))
    entries = dsave.replace(entries, "index.json", dsave.gojson(
        {"schemaVersion": 2, "mediaType": dsave.OCI_INDEX, "manifests": [outer]}))
    return [*entries, (f"blobs/sha256/{dsave.sha(inner)[7:]}", inner)]


def _unqualified(img: dsave.Img) -> list[dsave.Entry]:
    entries = dsave.docker25(img)
    index = json.loads(dict(entries)["index.json"])
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = "demo:v1"
    return dsave.replace(entries, "index.json", dsave.gojson(index))


CASES = {
    "docker25-in-order": (dsave.docker25(IMG), set()),
    "legacy-24": (dsave.legacy24(IMG), set()),
    "rc1-no-layers": (dsave.docker25(IMG, no_layers=True), {"no-layers"}),
    "ga-collapsed": (dsave.docker25(IMG, collapse=True), {"layer-count-mismatch"}),
    "ga-rotated": (dsave.docker25(UNIQ, order=[2, 3, 0, 1]), {"layers-out-of-order"}),
    "digest-save-null": (dsave.docker25(IMG, manifests_null=True), {"manifests-null"}),
    "legacy-half-wrong": (dsave.docker25(UNIQ, legacy_order=[1, 0, 2, 3]), {"halves-disagree"}),
    "containerd-store": (_multi_platform(UNIQ), {"index-child-missing"}),
    "unqualified-name": (_unqualified(UNIQ), {"name-unqualified"}),
    "no-name": (dsave.docker25(dsave.make_image(2, tag="")), {"name-missing"}),
}


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_diagnose_finds_expected_codes(case: str, tmp_path: Path) -> None:
    entries, codes = CASES[case]
    report = diagnose(str(dsave.write_tar(tmp_path / "a.tar", entries)), verify=True)
    assert {f.code for f in report.findings} == codes
    assert report.exit_code == (1 if codes else 0)
    for f in report.findings:
        assert f.code in KINDS and f.message and "\n" not in f.message


def test_diagnose_predicts_first_misplaced_layer(tmp_path: Path) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(UNIQ, order=[0, 2, 1, 3]))
    (finding,) = diagnose(str(path), node="v0.20.0").findings
    assert finding.containerd_error == (
        f'ctr: wrong diff id calculated on extraction "{UNIQ.diff_ids[2]}"'
    )
    # containerd 2.3 names both digests: the one it calculated and the one it expected
    (finding,) = diagnose(str(path), node="v0.33.0").findings
    assert finding.containerd_error == (
        f'ctr: wrong diff id "{UNIQ.diff_ids[2]}" calculated on extraction '
        f'"{UNIQ.diff_ids[1]}", desc "{UNIQ.diff_ids[2]}"'
    )


def test_diagnose_verify_catches_altered_blob(tmp_path: Path) -> None:
    name = f"blobs/sha256/{UNIQ.diff_ids[1][7:]}"
    tampered = bytearray(UNIQ.layers[1])
    tampered[600] ^= 1
    path = dsave.write_tar(tmp_path / "a.tar", dsave.replace(dsave.docker25(UNIQ), name,
                                                             bytes(tampered)))
    assert diagnose(str(path)).healthy
    assert {f.code for f in diagnose(str(path), verify=True).findings} == {"blob-digest-mismatch"}


def test_diagnose_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(IMG, collapse=True))
    assert cli.main(["doctor", "diagnose", "--json", "--node", "v0.20.0", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "runbook-exec/doctor-diagnose/v1"
    assert doc["layout"] == "docker25" and doc["healthy"] is False
    assert doc["images"][0]["id"] == IMG.image_id
    (f,) = doc["findings"]
    assert f["containerd_error"] == "ctr: mismatched image rootfs and manifest layers"
    assert f["docker_releases"] == ["25.0.0"] and f["page"] == "errors/mismatched-rootfs"
    assert set(f) == {"code", "severity", "message", "image", "containerd_error",
                      "docker_releases", "page", "page_url", "fix", "fix_url", "repairable"}


def test_diagnose_reads_gzip_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    path = dsave.write_tar(tmp_path / "a.tgz", dsave.docker25(IMG, collapse=True), compress=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(
        io.BytesIO(path.read_bytes()))))
    assert cli.main(["doctor", "diagnose", "--verify", "-"]) == 1
    assert "layer-count-mismatch" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["rc1-no-layers", "ga-collapsed", "ga-rotated",
                                  "digest-save-null", "legacy-half-wrong", "containerd-store",
                                  "unqualified-name"])
def test_repair_keeps_image_id_and_blobs(case: str, tmp_path: Path) -> None:
    entries, _ = CASES[case]
    src = dsave.write_tar(tmp_path / "in.tar", entries)
    original = src.read_bytes()
    result = repair(src, tmp_path / "out.tar")
    assert src.read_bytes() == original
    assert result.after is not None and result.after.healthy
    assert set(result.fixed) == CASES[case][1]
    with open_archive(src) as a, open_archive(tmp_path / "out.tar") as b:
        ids = [i.image_id for i in diagnose(str(src)).images]
        for digest in ids + [d for i in diagnose(str(src)).images for d in i.diff_ids]:
            assert b.open_blob(digest).read() == a.open_blob(digest).read()
    assert [i.image_id for i in result.after.images] == ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tar", "out.tar"]


def test_repair_in_place_is_atomic_and_explicit(tmp_path: Path) -> None:
    src = dsave.write_tar(tmp_path / "in.tar", dsave.docker25(IMG, collapse=True))
    with pytest.raises(RepairError, match="refusing to overwrite"):
        repair(src, src)
    repair(src, None, in_place=True)
    assert diagnose(str(src)).healthy
    assert [p.name for p in tmp_path.iterdir()] == ["in.tar"]


def test_repair_refuses_missing_layer_blob(tmp_path: Path) -> None:
    entries = dsave.drop(dsave.docker25(UNIQ, order=[1, 0, 2, 3]),
                         f"blobs/sha256/{UNIQ.diff_ids[2][7:]}")
    src = dsave.write_tar(tmp_path / "in.tar", entries)
    with pytest.raises(RepairError, match="save the image again"):
        repair(src, tmp_path / "out.tar")
    assert [p.name for p in tmp_path.iterdir()] == ["in.tar"]


def test_repair_healthy_writes_nothing(tmp_path: Path) -> None:
    src = dsave.write_tar(tmp_path / "in.tar", dsave.docker25(IMG))
    assert repair(src, tmp_path / "out.tar").output is None
    assert not (tmp_path / "out.tar").exists()


def test_repair_gzip_input(tmp_path: Path) -> None:
    src = dsave.write_tar(tmp_path / "in.tgz", dsave.docker25(UNIQ, order=[3, 2, 1, 0]),
                          compress=True)
    result = repair(src, tmp_path / "out.tar")
    assert result.after is not None and result.after.healthy
