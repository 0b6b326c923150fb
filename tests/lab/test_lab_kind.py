"""The real kind CLIs against lab node containers: get nodes, a healthy load, the 25.0.0
failure with kind's full error text, and "already present" on the second load."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for containerd/dockerd"),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with proc.quiet(), Engine("25.0.0") as e:
        yield e


@pytest.mark.parametrize("kind", ["v0.20.0", "v0.33.0"])
def test_real_kind_loads_into_lab_nodes(engine: Engine, kind: str) -> None:
    with proc.quiet(), KindCluster(engine, kind=kind, name=f"k{kind[3:5]}") as cluster:
        nodes = cluster.kind_cmd("get", "nodes", "--name", cluster.name)
        assert nodes.ok and nodes.stdout.split() == [f"{cluster.name}-control-plane"]

        # one layer: Docker 25.0.0 cannot get its order wrong (two come out rotated 1 in 8)
        good = engine.build(f"kindtest/good-{kind}:1", [b"g1"])
        res = cluster.kind_cmd("load", "docker-image", "--name", cluster.name, good.ref)
        assert res.ok, res.output
        assert "not yet present on node" in res.output
        check = cluster.node_exec(f"{cluster.name}-control-plane", "ctr", "-n", "k8s.io",
                                  "images", "check")
        assert f"docker.io/{good.ref}" in check.stdout and "true" in check.stdout.lower()

        bad = engine.build(f"kindtest/bad-{kind}:1", [b"b1", b"b22", b"b1"])  # repeated layer
        res = cluster.kind_cmd("load", "docker-image", "--name", cluster.name, bad.ref)
        assert not res.ok
        node = f"{cluster.name}-control-plane"
        assert (f'ERROR: failed to load image: command "docker exec --privileged -i {node} ctr '
                "--namespace=k8s.io images import --all-platforms --digests "
                '--snapshotter=overlayfs -" failed with error: exit status 1') in res.output
        if kind == "v0.20.0":  # containerd 1.7: records stay, the next load skips the node
            assert res.output.rstrip().endswith("ctr: mismatched image rootfs and manifest layers")
            again = cluster.kind_cmd("load", "docker-image", "--name", cluster.name, bad.ref)
            assert again.ok and "found to be already present on all nodes." in again.output
        else:  # containerd 2.x: the transfer service keeps no record, the next load retries
            assert "number of layers and diffIDs don't match: 2 != 3" in res.output
            again = cluster.kind_cmd("load", "docker-image", "--name", cluster.name, bad.ref)
            assert not again.ok and "not yet present on node" in again.output
    left = engine.cli("ps", "-a", "-q", check=False).stdout.split()
    assert left == []
