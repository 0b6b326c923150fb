"""The fix runbooks, as executed, show what their pages claim.

Each fix page says "this works" and "this is a pitfall"; the executed notebook in
``build/executed/`` is the evidence. These tests read those notebooks (``./dev.sh test``
executes the runbooks first) and check that the exact error strings and outcomes the pages
rely on are in the outputs, so a behaviour change cannot leave a page saying something the
evidence no longer shows.
"""

from __future__ import annotations

from pathlib import Path

import executed
import pytest

ROOT = Path(__file__).resolve().parents[2]

MISMATCHED = "ctr: mismatched image rootfs and manifest layers"
FILTERED = "ctr: image might be filtered out"
KIND_IMPORT = (
    "$ ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -"
)


def outputs(name: str) -> str:
    return executed.printed(name, results=True)


# (runbook, strings its outputs must contain, in order)
CASES = [
    ("fix-upgrade-docker", [
        KIND_IMPORT,
        MISMATCHED,
        "unpacked: False",
        "written by real dockerd 25.0.1",
        "exit status 0 | unpacked: True",
        f"25.0.1: index.json manifests = null… -> {FILTERED}",
        f"25.0.2: index.json manifests = null… -> {FILTERED}",
        "25.0.3: index.json manifests = [",
        "-> imported",
        "import-<date>@sha256:",
    ]),
    ("fix-pin-docker-24", [
        "written by real dockerd 24.0.7",
        "index.json: False",
        "dockerd 24.0.7 save: imported | unpacked: True",
        "written by real dockerd 25.0.0",
        MISMATCHED,
    ]),
    ("fix-skopeo", [
        "written by real dockerd 25.0.0",
        MISMATCHED,
        "$ skopeo copy docker-archive:skopeo-work/in.tar "
        "docker-archive:skopeo-work/out.tar:docker.io/library/demo:v1",
        "imported | unpacked: True",
        "same image ID as the built image: True",
        "layer media types: ['application/vnd.oci.image.layer.v1.tar+gzip']",
        "name in index.json: ['demo:v1']",
        "demo:v1: not present (the kubelet would pull it)",
        "oci-archive:skopeo-work/oci-full.tar:docker.io/library/demo:v1",
        "demo:v1: present as",
    ]),
    ("fix-repair", [
        "[layer-count-mismatch]",
        MISMATCHED,
        "(exit status 1)",
        "(exit status 0)",
        "healthy: containerd can import this archive",
        "same image ID as the original: True",
        "removed stale record(s)",
        "unpacked: True | image ID kept: True",
    ]),
    ("fix-clean-node", [
        MISMATCHED,
        "docker.io/library/demo:v1 | unpacked: False",
        "import-<date>@sha256:",
        "$ ctr -n k8s.io images rm docker.io/library/demo:v1",
        "demo:v1: not present",
        "imported | unpacked: True",
    ]),
    ("fix-save-platform", [
        "linux/arm64",
        "in archive: False",
        "kind v0.20.0 (containerd 1.7.1): ctr: content digest sha256:",
        "records on the node: []",
        "kind v0.33.0 (containerd 2.3.4): ctr: content digest sha256:",
        "records on the node: []",
        "containerd 1.7.1: --local",
        "no unpack platforms defined",
        "$ docker save --platform linux/amd64 -o platform-work/one.tar",
        "kind v0.20.0: imported | unpacked: True",
        "kind v0.33.0: imported | unpacked: True",
        '"containerd-snapshotter": false',
        "kind v0.20.0: imported | unpacked: True",
        "kind v0.33.0: imported | unpacked: True",
    ]),
    ("ci-docker29", [
        "29.8.1\n[[driver-type io.containerd.snapshotter.v1]]\nlinux/amd64",
        "kind 0.33.0 CLI (sigs.k8s.io/kind@v0.33.0",
        "$ kind load docker-image ",
        'ERROR: failed to load image: command "docker exec --privileged -i kind-control-plane',
        "ctr: content digest sha256:",
        "records left on the node: []",
        "$ docker save --platform linux/amd64 -o image.tar ",
        "$ kind load image-archive image.tar",
        "unpacked: ['true']",
        '"containerd-snapshotter": false',
        "$ kind load docker-image ",
        "unpacked: ['true']",
    ]),
    ("digest-references", [
        "index.json entries: 1; import: ok",
        "records on the node (1 of 2 images):",
        "index.json entries: 2; import: ok",
        "records on the node (2 of 2 images):",
        ": not present (the kubelet would pull it)",
        ": not present (the kubelet would pull it)",
        "25.0.3, one save per digest: 2 of 2 images on the node",
        "demo/api:pinned: present as sha256:",
        "demo/worker:pinned: present as sha256:",
    ]),
    ("multi-platform", [
        "one platform, attested:",
        "unknown/unknown (attestation-manifest)",
        "one platform, --provenance=false:\n    one manifest (no index)",
        "two platforms, attested:",
        "linux/arm64                            in archive: False",
        "docker save --platform linux/amd64   kind v0.20.0: "
        "ctr: mismatched image rootfs and manifest layers",
        "docker save                          kind v0.20.0: ctr: content digest sha256:",
        "docker save --platform linux/amd64   kind v0.33.0: imported",
        "two platforms, --provenance=false:",
        "docker save --platform linux/amd64   kind v0.20.0: imported",
        "as the page says",
    ]),
    ("docker-load", [
        "containerd image store\n$ docker load -i broken.tar",
        "Loaded image: demo/load:1\n"
        "Error unpacking image demo/load:1: mismatched image rootfs and manifest layers",
        "exit status 0",
        "Error response from daemon: mismatched image rootfs and manifest layers",
        '"containerd-snapshotter": false\n$ docker load -i broken.tar',
        "Loaded image: demo/load:1\nexit status 0",
        "container created",
    ]),
    ("version-skew", [
        "node of kind v0.20.0: containerd config dump says version = 2",
        "kind v0.20.0 CLI: loaded",
        "kind v0.33.0 CLI: loaded",
        "node of kind v0.27.0: containerd config dump says version = 3",
        "kind v0.20.0 CLI: ERROR: failed to detect containerd snapshotter",
        "kind v0.31.0 CLI: loaded\n    kind v0.33.0 CLI: loaded\n"
        "node of kind v0.33.0: containerd config dump says version = 4",
        "kind v0.20.0 CLI: ERROR: failed to detect containerd snapshotter",
        "kind v0.31.0 CLI: ERROR: unknown containerd config version: 4 (supported versions: 2 and 3)",
        "kind v0.33.0 CLI: loaded",
    ]),
    ("fix-kind-build-node-image", [
        "['registry.k8s.io/kube-apiserver:v1.29.0']",
        "['registry.k8s.io/kube-apiserver-amd64:v1.29.0']",
        "registry.k8s.io/kube-apiserver:v1.29.0: not present",
        "images tag --force registry.k8s.io/kube-apiserver-amd64:v1.29.0 "
        "registry.k8s.io/kube-apiserver:v1.29.0",
        "registry.k8s.io/kube-apiserver:v1.29.0: present as",
    ]),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fix_runbook_outputs_show_the_claims(name: str, expected: list[str]) -> None:
    text = outputs(name)
    pos = 0
    for needle in expected:
        found = text.find(needle, pos)
        assert found >= 0, f"{name}: {needle!r} not found (in order) in the executed outputs"
        pos = found + len(needle)


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_fix_runbook_is_embedded_in_both_languages(name: str) -> None:
    marker = f"<!-- runbook: {name} -->"
    fixes = (ROOT / "docs").rglob("*.md")
    pages = [p for p in fixes if marker in p.read_text(encoding="utf-8")]
    assert len(pages) == 2, f"{marker} should appear in one zh and one en page, found {pages}"
