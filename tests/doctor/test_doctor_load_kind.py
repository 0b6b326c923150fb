"""``runbook-exec load`` takes kind's own flags and is checked against the real kind CLI on
the same lab cluster (kind v0.20.0's CLI, node containers in a real Docker 25.0.0)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_exec import cli, proc
from runbook_exec.lab import Engine, KindCluster

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for containerd/dockerd"),
]
NAME = "ld"


@pytest.fixture(scope="module")
def cluster() -> Iterator[KindCluster]:
    with proc.quiet(), Engine("25.0.0") as engine:
        c = KindCluster(engine, kind="v0.20.0", name=NAME)
        try:
            yield c.start(roles=("control-plane", "worker"))
        finally:
            c.close()


@pytest.fixture
def as_user(cluster: KindCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a user's shell has: ``kind`` and ``docker`` on PATH, DOCKER_HOST."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kind").symlink_to(cluster.kind_cli.bin("kind"))
    engine = cluster.engine
    monkeypatch.setenv("PATH", f"{bindir}:{engine.cli_engine.bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine.socket}")
    monkeypatch.setenv("DOCKER_CONFIG", str(engine.root / "cli-config"))


def _has(cluster: KindCluster, node: str, ref: str) -> bool:
    out = cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "check").stdout
    return any(line.startswith(ref + " ") and "complete" in line for line in out.splitlines())


def test_nodes_flag_loads_only_the_named_node_like_kind(cluster: KindCluster,
                                                        as_user: None) -> None:
    worker, control = f"{NAME}-worker", f"{NAME}-control-plane"
    good = cluster.engine.build("ldtest/kind:1", [b"k1"])
    res = cluster.kind_cmd("load", "docker-image", "--name", NAME, "--nodes", worker, good.ref)
    assert res.ok, res.output
    assert _has(cluster, worker, f"docker.io/{good.ref}")
    assert not _has(cluster, control, f"docker.io/{good.ref}")

    # a repeated layer: Docker 25.0.0 collapses it, so the doctor repairs before importing
    bad = cluster.engine.build("ldtest/ours:1", [b"o1", b"o22", b"o1"])
    assert cli.main(["load", "--name", NAME, "--nodes", worker, bad.ref]) == 0
    assert _has(cluster, worker, f"docker.io/{bad.ref}")
    assert not _has(cluster, control, f"docker.io/{bad.ref}")


def test_unknown_node_refused_like_kind(cluster: KindCluster, as_user: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ref = cluster.engine.build("ldtest/none:1", [b"n1"]).ref
    res = cluster.kind_cmd("load", "docker-image", "--name", NAME, "--nodes", "nope", ref)
    assert not res.ok and "unknown node" in res.output.lower(), res.output
    assert cli.main(["load", "-n", NAME, "--nodes", "nope", ref]) == 2
    assert "unknown node: nope" in capsys.readouterr().err
