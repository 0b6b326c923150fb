"""The sandbox node against the real containerd 1.6.20: kind's import, its exact errors,
the stale records a failed import leaves, and what the CRI plugin then tells the kubelet."""

from __future__ import annotations

import re
from pathlib import Path

import dsave as craft
import pytest

from runbook_exec.lab import Node
from runbook_exec.lab._containerd import render_config
from runbook_exec.mounts import mounts_under

pytestmark = pytest.mark.daemons

WRONG_DIFF_ID = re.compile(r'^ctr: wrong diff id calculated on extraction "(sha256:[0-9a-f]{64})"$')
MISMATCHED = "ctr: mismatched image rootfs and manifest layers"
KIND_IMPORT = (
    "ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -"
)


def test_node_load_reversed_layers_gives_wrong_diff_id(node: Node, tmp_path: Path) -> None:
    facts = craft.oci_archive(
        tmp_path / "rev.tar", "docker.io/library/rev:1", [b"r1", b"r22", b"r333"], order=[2, 1, 0]
    )
    result = node.load(tmp_path / "rev.tar")
    assert result.returncode == 1
    match = WRONG_DIFF_ID.match(result.error)
    assert match, result.output
    # containerd names the digest of the layer it actually applied: the manifest's first.
    assert match.group(1) == facts["diff_ids"][2]  # type: ignore[index]
    assert 'level=info msg="apply failure, attempting cleanup"' in result.output


def test_node_load_dropped_layer_gives_mismatched(node: Node, tmp_path: Path) -> None:
    craft.oci_archive(
        tmp_path / "drop.tar", "docker.io/library/drop:1", [b"d1", b"d22", b"d22"], order=[0, 1]
    )
    result = node.load(tmp_path / "drop.tar")
    assert (result.returncode, result.error) == (1, MISMATCHED)
    assert result.output.endswith(MISMATCHED + "\n")


def test_node_failed_import_leaves_stale_records_until_removed(node: Node, tmp_path: Path) -> None:
    ref = "docker.io/library/stale:1"
    bad = craft.oci_archive(tmp_path / "bad.tar", ref, [b"s1", b"s22", b"s22"], order=[0, 1])
    assert not node.kubelet_view(ref).present
    assert not node.load(tmp_path / "bad.tar").ok

    digest_ref = next(r.ref for r in node.images() if r.ref.endswith("@" + str(bad["manifest"])))
    assert re.fullmatch(r"import-\d{4}-\d{2}-\d{2}@sha256:[0-9a-f]{64}", digest_ref)
    checked = {c.ref: c for c in node.check()}
    assert checked[ref].complete and not checked[ref].unpacked
    assert checked[digest_ref].complete and not checked[digest_ref].unpacked

    view = node.kubelet_view(ref)
    assert view.present and view.image_id == bad["image_id"], view
    assert ref in view.repo_tags
    assert view.source == "crictl inspecti"  # the real crictl, as kind and the kubelet ask

    node.remove(ref, digest_ref)
    assert {ref, digest_ref}.isdisjoint(r.ref for r in node.images())
    assert not node.kubelet_view(ref).present

    good = craft.oci_archive(tmp_path / "good.tar", ref, [b"s1", b"s22", b"s22"])
    result = node.load(tmp_path / "good.tar")
    assert result.ok and result.error == "", result.output
    assert {c.ref: c.unpacked for c in node.check()}[ref] is True
    assert node.kubelet_view(ref).image_id == good["image_id"]


def test_node_load_echoes_kind_command(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echoed: list[str]
) -> None:
    craft.oci_archive(tmp_path / "images.tar", "docker.io/library/echo:1", [b"e1"])
    monkeypatch.chdir(tmp_path)
    result = node.load("images.tar")
    assert echoed == [KIND_IMPORT + " < images.tar"]
    assert result.command == KIND_IMPORT + " < images.tar"


def test_node_load_missing_archive_says_so(node: Node, tmp_path: Path) -> None:
    from runbook_exec.errors import LabError

    with pytest.raises(LabError, match="does not exist"):
        node.load(tmp_path / "nope.tar")


def test_node_stays_off_system_paths(node: Node) -> None:
    config = (node.root / "config.toml").read_text()
    assert "/run/containerd" not in config and "/var/lib" not in config
    assert str(node.address).startswith(str(node.root))
    import os

    # its own mount namespace: its overlay mounts die with it
    assert os.readlink(f"/proc/{node.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")


def test_node_close_removes_daemon_mounts_and_dir(tmp_path: Path) -> None:
    import os

    node = Node().start()
    craft.oci_archive(tmp_path / "a.tar", "docker.io/library/close:1", [b"c1", b"c22"])
    assert node.load(tmp_path / "a.tar").ok
    pid, root = node.pid, node.root
    assert pid is not None
    node.close()
    node.close()  # idempotent
    assert not Path(f"/proc/{pid}").exists() or _zombie_or_gone(pid)
    assert not root.exists() and mounts_under(root) == []
    assert os.path.basename(root).startswith("runbook-node-")


def _zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_render_config_enables_cri_with_overlayfs(tmp_path: Path) -> None:
    import tomllib

    conf = tomllib.loads(render_config(tmp_path, cri=True))
    cri = conf["plugins"]["io.containerd.grpc.v1.cri"]
    assert conf["version"] == 2 and cri["containerd"]["snapshotter"] == "overlayfs"
    assert "io.containerd.grpc.v1.cri" not in conf["disabled_plugins"]
    no_cri = tomllib.loads(render_config(tmp_path, cri=False))
    assert "io.containerd.grpc.v1.cri" in no_cri["disabled_plugins"]


def test_node_unpacked_reads_check_records() -> None:
    from runbook_exec.lab.results import CheckRecord, is_unpacked, parse_check

    sample = (Path(__file__).parent / "samples" / "ctr-images-check.txt").read_text()
    records = parse_check(sample)
    assert all(isinstance(r, CheckRecord) for r in records)
    assert is_unpacked(records, "docker.io/library/demo:good")
    assert not is_unpacked(records, "docker.io/library/demo:drop")  # a stale record
    assert not is_unpacked(records, "docker.io/library/never-loaded:v1")
