"""The standalone kubelet in a lab kind node: the real events of a pod whose image a failed
``kind load`` left behind, and the pod starting after the clean-up and a good load."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster, pause_program

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for containerd/dockerd"),
]


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    with proc.quiet(), Engine("25.0.0") as broken, Engine("25.0.3") as fixed:
        yield broken, fixed


@pytest.mark.parametrize("kind", ["v0.20.0", "v0.33.0"])
def test_kubelet_events_for_an_image_a_failed_load_left(
    engines: tuple[Engine, Engine], kind: str
) -> None:
    broken, fixed = engines
    name = f"kl{kind[3:5]}"
    with proc.quiet(), KindCluster(broken, kind=kind, name=name, kubelet=True) as cluster:
        node = cluster.control_plane
        image = broken.build(f"kubelettest/app-{kind}:1", [b"a1", b"b22", b"a1"],
                             program=pause_program())
        ref = f"docker.io/{image.ref}"
        failed = cluster.kind_cmd("load", "docker-image", "--name", name, image.ref)
        assert not failed.ok, failed.output

        pod = cluster.run_pod("app", ref)
        assert pod == f"app-{node}"
        if kind == "v0.20.0":
            # containerd 1.7 kept the records: the kubelet takes the image as present and
            # fails when the CRI plugin unpacks it for the container
            events = cluster.wait_event(pod, "Failed")
            messages = [(e.reason, e.message) for e in events]
            assert ("Pulled", f'Container image "{ref}" already present on machine') in messages
            assert ("Failed", "Error: failed to create containerd container: error unpacking "
                    "image: mismatched image rootfs and manifest layers") in messages
            left = [r.ref for r in cluster_images(cluster, node) if image.ref in r.ref
                    or r.ref.startswith("import-")]
            assert left, "the failed import left image records"
            rm = cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "rm", *left)
            assert rm.ok, rm.output
        else:
            # containerd 2.x kept nothing: the kubelet tries to pull (no registry here)
            events = cluster.wait_event(pod, "Failed")
            assert any(e.reason == "Failed" and "Failed to pull image" in e.message
                       for e in events), events

        # a good archive of the same image, written by Docker 25.0.3, loaded by kind
        archive = broken.root / "good.tar"
        handoff = broken.root / "handoff.tar"
        broken.save([image.ref], handoff)
        fixed.load(handoff)
        fixed.save([image.ref], archive)
        good = cluster.kind_cmd("load", "image-archive", "--name", name, str(archive))
        assert good.ok, good.output
        cluster.delete_pod("app")
        seen = len(cluster.events(pod))
        pod = cluster.run_pod("app", ref)
        started = cluster.wait_event(pod, "Started", after=seen)
        # the wording changed between the releases (kubelet 1.26.15 vs 1.37.0, measured)
        want = "Started container app" if kind == "v0.20.0" else "Container started"
        assert any(e.reason == "Started" and e.message == want for e in started), started
        for e in cluster.events():
            print(e)
    assert broken.cli("ps", "-a", "-q", check=False).stdout.split() == []


def cluster_images(cluster: KindCluster, node: str) -> list[object]:
    from runbook_exec.lab.results import parse_images

    res = cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "ls")
    return parse_images(res.stdout)  # type: ignore[return-value]
