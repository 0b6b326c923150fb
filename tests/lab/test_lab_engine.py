"""The sandbox Docker engine (real dockerd 20.10): builds, repeated layers, docker save,
and a real save imported into the sandbox node."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from runbook_exec.errors import LabError
from runbook_exec.lab import Engine, Node
from runbook_exec.lab.engine import daemon_json, dockerd_major, dockerfile_for

pytestmark = pytest.mark.daemons


def test_engine_build_repeated_layer_has_same_diff_id(engine: Engine) -> None:
    img = engine.build("demo:repeat", [b"a", b"bb", b"a", b"ccc"])
    assert len(img.diff_ids) == 4
    assert img.diff_ids[0] == img.diff_ids[2]
    assert len(set(img.diff_ids)) == 3
    assert img.image_id == engine.image_id("demo:repeat")


def test_engine_build_is_reproducible(engine: Engine) -> None:
    first = engine.build("demo:same", [b"x1", b"x22"])
    engine.remove("demo:same")
    again = engine.build("demo:same", [b"x1", b"x22"])
    assert first.diff_ids == again.diff_ids


def test_engine_save_writes_legacy_layout(engine: Engine, tmp_path: Path) -> None:
    img = engine.build("demo:saved", [b"s1", b"s22", b"s1"])
    path = engine.save(["demo:saved"], tmp_path / "images.tar")
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        repeated = tar.getmember(manifest[0]["Layers"][2])
    assert "index.json" not in names and "repositories" in names
    assert manifest[0]["RepoTags"] == ["demo:saved"]
    assert manifest[0]["Config"] == img.image_id.split(":", 1)[1] + ".json"
    # Docker ≤ 24 stores a repeated layer once and links the second copy to it
    assert repeated.issym() and repeated.linkname.startswith("../")


def test_engine_save_unknown_image_removes_partial_file(engine: Engine, tmp_path: Path) -> None:
    dest = tmp_path / "out.tar"
    with pytest.raises(LabError, match="docker save nope:1 failed"):
        engine.save(["nope:1"], dest)
    assert not dest.exists()


def test_engine_echoes_cli_equivalents(engine: Engine, tmp_path: Path, echoed: list[str]) -> None:
    engine.build("demo:echo", [b"q"])
    engine.save("demo:echo", tmp_path / "e.tar")
    assert echoed == [
        "DOCKER_BUILDKIT=0 docker build -t demo:echo .",
        f"docker save -o {tmp_path / 'e.tar'} demo:echo",
    ]


def test_real_docker_save_imports_into_node(engine: Engine, node: Node, tmp_path: Path) -> None:
    img = engine.build("demo:good", [b"g1", b"g22", b"g1"])
    engine.build("demo:other", [b"o1"])
    archive = engine.save(["demo:good", "demo:other"], tmp_path / "images.tar")
    result = node.load(archive)
    assert result.ok, result.output
    unpacked = {c.ref: c.unpacked for c in node.check()}
    assert unpacked["docker.io/library/demo:good"] and unpacked["docker.io/library/demo:other"]
    view = node.kubelet_view("demo:good")
    assert view.present and view.image_id == img.image_id


def test_engine_stays_off_system_paths(engine: Engine) -> None:
    conf = json.loads((engine.root / "daemon.json").read_text())
    assert conf.get("deprecated-key-path", str(engine.root)).startswith(str(engine.root))
    info = engine.client.info()
    assert info["DockerRootDir"] == str(engine.root / "data")
    assert info["Driver"] == "vfs"
    for pid in engine.pids:
        assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")


def test_engine_close_leaves_nothing() -> None:
    engine = Engine().start()
    pids, root = engine.pids, engine.root
    assert len(pids) == 2 and engine.startup_seconds is not None
    engine.close()
    assert not root.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize(
    ("layers", "dockerfile"),
    [
        ([b"a"], "FROM scratch\nCOPY c0 /data\n"),
        ([b"a", b"b", b"a"], "FROM scratch\nCOPY c0 /data\nCOPY c1 /data\nCOPY c0 /data\n"),
    ],
    ids=["one", "repeat"],
)
def test_dockerfile_for_shares_identical_content(layers: list[bytes], dockerfile: str) -> None:
    assert dockerfile_for(layers)[0] == dockerfile


def test_dockerfile_for_refuses_empty_diff() -> None:
    with pytest.raises(LabError, match="layer 1 repeats layer 0 directly"):
        dockerfile_for([b"a", b"a"])


def test_dockerd_major_and_key_path(tmp_path: Path) -> None:
    assert dockerd_major("Docker version 20.10.24+dfsg1, build 5d6db84\n") == 20
    assert "deprecated-key-path" in json.loads(daemon_json(tmp_path, 20))
    assert json.loads(daemon_json(tmp_path, 28)) == {}
