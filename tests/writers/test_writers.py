"""Writer profiles on tiny fixture images: members, JSON bytes, order, atomic output."""

from __future__ import annotations

import json
import random
import tarfile
from pathlib import Path

import pytest

from runbook_exec import writers
from runbook_exec.archive.gojson import encode, go_string, go_time
from runbook_exec.archive.refs import parse_tagged as parse_ref
from runbook_exec.errors import ArchiveError
from runbook_exec.writers.gomap import iteration_order

from .conftest import MakeImage

FIVE = [b"one", b"two", b"three", b"four", b"five"]


def _members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def _read(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def _oci_manifest(path: Path) -> dict[str, object]:
    index = json.loads(_read(path, "index.json"))
    digest = index["manifests"][0]["digest"]
    data: dict[str, object] = json.loads(_read(path, "blobs/sha256/" + digest[7:]))
    return data


def test_gojson_escapes_like_go() -> None:
    assert go_string('<a&b>\u2028\n"') == '"\\u003ca\\u0026b\\u003e\\u2028\\n\\""'
    assert encode({"b": 1, "a": [None, True]}) == '{"a":[null,true],"b":1}'
    assert go_time("2024-01-19T10:00:00.120000000Z") == "2024-01-19T10:00:00.12Z"
    assert go_time("2024-01-19T10:00:00+00:00") == "2024-01-19T10:00:00Z"


@pytest.mark.parametrize(
    ("name", "full", "familiar"),
    [
        ("demo:v1", "docker.io/library/demo:v1", "demo:v1"),
        ("me/app", "docker.io/me/app:latest", "me/app:latest"),
        ("reg.local:5000/x/y:t", "reg.local:5000/x/y:t", "reg.local:5000/x/y:t"),
    ],
    ids=["official", "user-default-tag", "registry"],
)
def test_refs_normalise(name: str, full: str, familiar: str) -> None:
    assert (parse_ref(name).full, parse_ref(name).familiar) == (full, familiar)


def test_v24_members_and_symlinked_repeat(make_image: MakeImage, tmp_path: Path) -> None:
    img = make_image([b"a", b"b", b"a"])
    out = tmp_path / "v24.tar"
    writers.write(img, out, "24.0.7")
    names = _members(out)
    assert "index.json" not in names and "oci-layout" not in names
    manifest = json.loads(_read(out, "manifest.json"))
    assert list(manifest[0]) == ["Config", "RepoTags", "Layers"]
    assert len(manifest[0]["Layers"]) == 3
    with tarfile.open(out) as tar:
        third = tar.getmember(manifest[0]["Layers"][2])
        first_dir = manifest[0]["Layers"][0].split("/")[0]
        assert third.issym() and third.linkname == f"../{first_dir}/layer.tar"
    assert names == sorted(names, key=lambda n: n.rstrip("/").split("/"))


def test_v25_members(make_image: MakeImage, tmp_path: Path) -> None:
    img = make_image(FIVE)
    out = tmp_path / "a.tar"
    writers.write(img, out, "25.0.3")
    names = _members(out)
    assert names[:2] == ["blobs", "blobs/sha256"]  # tarfile drops the trailing slash
    assert names[-4:] == ["index.json", "manifest.json", "oci-layout", "repositories"]
    # 5 layers + config + 5 v1 jsons + OCI manifest
    assert len([n for n in names if n.startswith("blobs/sha256/")]) == 12
    assert _read(out, "oci-layout") == b'{"imageLayoutVersion": "1.0.0"}'
    index = _read(out, "index.json")
    assert (
        b'"annotations":{"io.containerd.image.name":"docker.io/library/demo:v1",'
        b'"org.opencontainers.image.ref.name":"v1"},"platform":{"architecture":"amd64","os":"linux"}'
        in index
    )
    assert _read(out, "repositories") == (
        b'{"demo":{"v1":"' + img.diff_ids[-1][7:].encode() + b'"}}\n'
    )


def test_rc1_manifest_has_no_layers(make_image: MakeImage, tmp_path: Path) -> None:
    out = tmp_path / "rc1.tar"
    writers.write(make_image(FIVE), out, "25.0.0-rc.1")
    assert _oci_manifest(out)["layers"] == []
    assert b"LayerSources" not in _read(out, "manifest.json")


def test_v25_0_0_seeds_give_the_named_cases(make_image: MakeImage, tmp_path: Path) -> None:
    img = make_image(FIVE)
    for seed, in_order in ((writers.SEED_25_IN_ORDER, True), (writers.SEED_25_SHUFFLED, False)):
        out = tmp_path / f"s{seed}.tar"
        writers.write(img, out, "25.0.0", seed=seed)
        got = [d["digest"] for d in _oci_manifest(out)["layers"]]  # type: ignore[union-attr]
        assert sorted(got) == sorted(img.diff_ids)
        assert (got == img.diff_ids) is in_order
        # the legacy half stays right
        layers = json.loads(_read(out, "manifest.json"))[0]["Layers"]
        assert [p.split("/")[-1] for p in layers] == [d[7:] for d in img.diff_ids]


def test_v25_0_0_collapses_a_repeated_layer(make_image: MakeImage, tmp_path: Path) -> None:
    img = make_image([b"a", b"b", b"a"])
    out = tmp_path / "dup.tar"
    writers.write(img, out, "25.0.0", seed=3)
    assert len(_oci_manifest(out)["layers"]) == 2  # type: ignore[arg-type]
    assert iteration_order(img.diff_ids, random.Random(3)) == [0, 1]


@pytest.mark.parametrize(
    ("profile", "manifests"),
    [("25.0.1", None), ("25.0.3", 1), ("26.1.0", 1)],
)
def test_save_by_digest(
    make_image: MakeImage, tmp_path: Path, profile: str, manifests: int | None
) -> None:
    out = tmp_path / "d.tar"
    writers.write(make_image(FIVE), out, profile, by_digest=True)
    index = json.loads(_read(out, "index.json"))
    assert (index["manifests"] if manifests is None else len(index["manifests"])) == manifests
    assert "repositories" not in _members(out)
    assert json.loads(_read(out, "manifest.json"))[0]["RepoTags"] is None


def test_platform_dropped_from_26_1(make_image: MakeImage, tmp_path: Path) -> None:
    out = tmp_path / "p.tar"
    writers.write(make_image(FIVE), out, "26.1.0")
    assert b"platform" not in _read(out, "index.json")
    assert "platform" not in _oci_manifest(out)["config"]  # type: ignore[operator]


def test_containerd_store_lists_an_absent_child(make_image: MakeImage, tmp_path: Path) -> None:
    out = tmp_path / "c.tar"
    info = writers.write(make_image(FIVE), out, "29-containerd-store")
    names = _members(out)
    assert all("blobs/sha256/" + d[7:] not in names for d in info["missing"])
    index = json.loads(_read(out, "index.json"))
    child_index = json.loads(_read(out, "blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    assert info["missing"][0] in [m["digest"] for m in child_index["manifests"]]


def test_containerd_store_platform_save_points_at_one_manifest(
    make_image: MakeImage, tmp_path: Path
) -> None:
    out = tmp_path / "one.tar"
    info = writers.write(make_image(FIVE), out, "29-containerd-store", platform="linux/amd64")
    assert info["missing"] == []
    index = json.loads(_read(out, "index.json"))
    (top,) = index["manifests"]
    assert top["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    manifest = json.loads(_read(out, "blobs/sha256/" + top["digest"][7:]))
    assert len(manifest["layers"]) == len(FIVE)
    blobs = [n for n in _members(out) if n.startswith("blobs/sha256/") and len(n) > 13]
    index_blobs = [n for n in blobs if b'"manifests"' in _read(out, n)]
    assert index_blobs == [], "the multi-platform index must not be exported with --platform"


@pytest.mark.parametrize(
    ("profile", "platform", "message"),
    [
        pytest.param("29-containerd-store", "linux/arm64", "never pulled", id="absent-platform"),
        pytest.param("25.0.3", "linux/amd64", "containerd image store only", id="graphdriver"),
    ],
)
def test_platform_save_refuses_what_docker_cannot_do(
    make_image: MakeImage, tmp_path: Path, profile: str, platform: str, message: str
) -> None:
    with pytest.raises(ArchiveError, match=message):
        writers.write(make_image(FIVE), tmp_path / "x.tar", profile, platform=platform)
    assert list(tmp_path.iterdir()) == [] or not (tmp_path / "x.tar").exists()


def test_write_leaves_nothing_on_failure(make_image: MakeImage, tmp_path: Path) -> None:
    img = make_image(FIVE)
    img.layers[2].path.unlink()
    out = tmp_path / "out" / "x.tar"
    out.parent.mkdir()
    with pytest.raises(FileNotFoundError):
        writers.write(img, out, "25.0.3")
    assert list(out.parent.iterdir()) == []


def test_unknown_profile_is_one_clear_error(make_image: MakeImage, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="unknown writer profile '25.9'; choose one of: 24.0.7"):
        writers.write(make_image(FIVE), tmp_path / "x.tar", "25.9")


def test_profiles_cite_their_source() -> None:
    for p in writers.PROFILES.values():
        assert p.source_url.startswith("https://github.com/moby/moby/blob/")
        assert p.moby_tag in p.source_url
