"""Parsers on real captured output (containerd 1.6.20) and on samples written from source
formats (crictl, kind); no daemon needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_exec.errors import LabError
from runbook_exec.lab.results import (
    ImportResult,
    KubeletView,
    parse_check,
    parse_crictl_inspecti,
    parse_images,
)

SAMPLES = Path(__file__).parent / "samples"
DROP_MANIFEST = "sha256:1900682c7cf202cc824502a7af947d2810cae99b309c3105898183e277336de8"
DROP_CONFIG = "sha256:eff9f3359ec64a7b27c4d27c176e716b8023d8eb6b1a42b3c0497a4a3144dd72"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_parse_images_reads_ctr_table() -> None:
    records = parse_images(sample("ctr-images-ls.txt"))
    assert len(records) == 9
    drop = records[0]
    assert drop.ref == "docker.io/library/demo:drop"
    assert drop.type == "application/vnd.oci.image.manifest.v1+json"
    assert drop.digest == DROP_MANIFEST
    assert drop.size == "20.8 KiB"
    assert drop.platforms == ("linux/amd64",)
    assert drop.labels == {"io.cri-containerd.image": "managed"}
    assert f"import-2026-11-27@{DROP_MANIFEST}" in [r.ref for r in records]
    assert DROP_CONFIG in [r.ref for r in records]  # CRI's own record by image ID


def test_parse_check_reads_status_and_unpacked() -> None:
    checks = {c.ref: c for c in parse_check(sample("ctr-images-check.txt"))}
    drop, good = checks["docker.io/library/demo:drop"], checks["docker.io/library/demo:good"]
    assert (drop.status, drop.size, drop.complete, drop.unpacked) == (
        "complete (3/3)",
        "20.3 KiB/20.3 KiB",
        True,
        False,
    )
    assert good.unpacked is True


@pytest.mark.parametrize("text", ["", "\n"], ids=["empty", "blank"])
def test_parse_images_empty(text: str) -> None:
    assert parse_images(text) == []


def test_parse_images_rejects_unknown_header() -> None:
    with pytest.raises(LabError, match="no REF column"):
        parse_images("NAME DIGEST\nx y\n")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "ctr-import-wrong-diff-id.txt",
            'ctr: wrong diff id calculated on extraction "sha256:'
            'a908bc3d3a1fd048909901bbc8784773f7b23202689500afe9fdad3f2792df9d"',
        ),
        ("ctr-import-mismatched.txt", "ctr: mismatched image rootfs and manifest layers"),
    ],
    ids=["wrong-diff-id", "mismatched"],
)
def test_import_result_error_is_ctr_line(name: str, error: str) -> None:
    result = ImportResult(1, sample(name), command="ctr ...")
    assert result.error == error and not result.ok


def test_import_result_ok_has_no_error() -> None:
    assert ImportResult(0, "unpacking x (sha256:1)...done\n", command="c").error == ""


def test_crictl_inspecti_present_matches_cri_view() -> None:
    view = parse_crictl_inspecti("demo:drop", 0, sample("crictl-inspecti.json"))
    assert view.present and view.image_id == DROP_CONFIG and view.size == 20764
    assert view.repo_tags == ("docker.io/library/demo:drop",)


def test_crictl_inspecti_absent() -> None:
    out = 'time="2026-01-01T00:00:00Z" level=fatal msg="no such image \\"demo:1\\" present"\n'
    assert parse_crictl_inspecti("demo:1", 1, out) == KubeletView(
        "demo:1", False, source="crictl inspecti"
    )


def test_crictl_inspecti_other_failure_raises() -> None:
    with pytest.raises(LabError, match="connection refused"):
        parse_crictl_inspecti("demo:1", 1, "connection refused")


def test_kubelet_view_str() -> None:
    assert "not present" in str(KubeletView("a:1", False, source="s"))
    assert "present as sha256:x (a:1)" in str(KubeletView("a:1", True, "sha256:x", ("a:1",)))
