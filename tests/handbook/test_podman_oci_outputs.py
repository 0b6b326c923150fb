"""The podman-provider and oci-archive-names runbooks, as executed, show what their pages say.

Read from ``build/executed/`` (``./dev.sh test`` executes the runbooks first). The error
strings the pages quote in ``text`` blocks must be in the outputs, and the key facts (what
each kind release does with each way of loading, what each tool writes into ``index.json``,
what each containerd names the image) must be there too, so a behaviour change of podman, kind
or containerd cannot leave a page saying what the evidence no longer shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import executed
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = {"podman-provider": "fixes/podman", "oci-archive-names": "oci-archive-names"}
TEXT_BLOCK = re.compile(r"```text\n(.*?)```", re.S)


def outputs(name: str) -> str:
    return executed.printed(name)


@pytest.fixture(scope="module")
def podman_out() -> str:
    return outputs("podman-provider")


@pytest.fixture(scope="module")
def oci_out() -> str:
    return outputs("oci-archive-names")


@pytest.mark.parametrize(("runbook", "page"), PAGES.items())
@pytest.mark.parametrize("suffix", [".md", ".en.md"])
def test_page_embeds_its_runbook_and_quotes_only_what_it_printed(
        runbook: str, page: str, suffix: str) -> None:
    text = (DOCS / f"{page}{suffix}").read_text(encoding="utf-8")
    assert f"<!-- runbook: {runbook} -->" in text
    printed = outputs(runbook)
    blocks = TEXT_BLOCK.findall(text)
    assert blocks, f"{page}{suffix} quotes no error"
    for block in blocks:
        for line in block.strip().splitlines():
            assert line in printed, f"{page}{suffix} quotes {line!r}, not in {runbook}'s outputs"


def _kind_table(out: str, kind: str) -> dict[str, str]:
    """The per-release summary the podman runbook prints: way -> outcome."""
    block = out.split(f"\n{kind}\n", 1)[1]
    rows = {}
    for line in block.splitlines():
        if not line.startswith("    "):
            break
        way, _, outcome = line.strip().partition("  ")
        rows[way.strip()] = outcome.strip()
    return rows


@pytest.mark.parametrize("kind", ["v0.20.0", "v0.33.0"])
def test_each_kind_release_fails_docker_image_and_stdin_and_loads_files(
        podman_out: str, kind: str) -> None:
    rows = _kind_table(podman_out, kind)
    assert rows == {
        "docker-image": 'ERROR: image: "demo/podman:1" not present locally',
        "archive -": "ERROR: stat -: no such file or directory",
        "pipe /dev/stdin": "loaded",
        "docker-archive": "loaded",
        "oci-archive": "loaded",
        "multi": "loaded",
    }


def test_podman_provider_ran_the_real_kind_with_the_podman_provider(podman_out: str) -> None:
    for kind in ("0.20.0", "0.33.0"):
        assert (f"kind {kind} CLI (sigs.k8s.io/kind@v{kind}" in podman_out)
    assert "with KIND_EXPERIMENTAL_PROVIDER=podman" in podman_out
    assert "using podman due to KIND_EXPERIMENTAL_PROVIDER" in podman_out
    assert "containerd 1.7.1" in podman_out and "containerd 2.3.4" in podman_out
    assert "podman version 4.3.1" in podman_out
    # the pipe the pages quote, as run: `-` fails, `/dev/stdin` (one node) loads
    assert "$ podman save demo/podman:1 | kind load image-archive -\n" in podman_out
    assert "$ podman save demo/podman:1 | kind load image-archive /dev/stdin\n" in podman_out


def test_podman_docker_archive_is_the_old_layout(podman_out: str) -> None:
    assert "index.json: False | oci-layout: False" in podman_out
    assert "/layer.tar" in podman_out
    assert ("index.json annotations: {'org.opencontainers.image.ref.name': "
            "'localhost/demo/podman:1'}") in podman_out
    assert "[['localhost/demo/podman:1'], ['localhost/demo/podman-b:1']]" in podman_out
    assert 'unsupported format "oci-archive" for saving multiple images' in podman_out


def test_a_pipe_fails_on_two_nodes_and_the_alias_reloads(podman_out: str) -> None:
    assert "podman node containers kind-control-plane, kind-worker" in podman_out
    assert "ctr: unrecognized image format" in podman_out
    assert "not yet present on node" in podman_out
    assert "failed to re-tag image" in podman_out and "Will load it instead" in podman_out


# tool -> the annotations it wrote (as the runbook prints them)
ANNOTATIONS = {
    "podman": "[{'org.opencontainers.image.ref.name': 'localhost/demo/oci:1'}]",
    "skopeo-full": "[{'org.opencontainers.image.ref.name': 'docker.io/library/demo-oci:2'}]",
    "skopeo-short": "[{'org.opencontainers.image.ref.name': 'demo/oci:3'}]",
    "skopeo-tag": "[{'org.opencontainers.image.ref.name': '4'}]",
    "skopeo-none": "[{}]",
    "buildah": "[{'org.opencontainers.image.ref.name': 'demo/oci:5'}]",
    "buildah-none": "[{}]",
    "ctr-v0.20.0": ("[{'io.containerd.image.name': 'localhost/demo/oci:1', "
                    "'org.opencontainers.image.ref.name': '1'}]"),
    "ctr-v0.33.0": ("[{'io.containerd.image.name': 'localhost/demo/oci:1', "
                    "'org.opencontainers.image.ref.name': '1'}]"),
}


@pytest.mark.parametrize(("label", "written"), ANNOTATIONS.items())
def test_each_tool_wrote_these_annotations(oci_out: str, label: str, written: str) -> None:
    assert re.search(rf"^\s+{re.escape(label)}\s+{re.escape(written)}$", oci_out, re.M)


def _recorded(out: str, kind: str) -> dict[str, str]:
    """label -> the names the node recorded, for the cluster of ``kind``."""
    block = out.split(f"kind {kind.lstrip('v')} CLI", 1)[1].split(" CLI (", 1)[0]
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^  (\S+)\s+-> (.*)$", block, re.M)}


DATE = r"import-\d{4}-\d{2}-\d{2}"


@pytest.mark.parametrize("kind", ["v0.20.0", "v0.33.0"])
def test_each_containerd_names_the_import_by_the_same_rule(oci_out: str, kind: str) -> None:
    names = _recorded(oci_out, kind)
    expected = {
        "podman": r"localhost/demo/oci:1", "skopeo-full": r"docker\.io/library/demo-oci:2",
        "skopeo-short": r"demo/oci:3", "buildah": r"demo/oci:5",
        "skopeo-tag": DATE + ":4", f"ctr-{kind}": r"localhost/demo/oci:1",
    }
    for label, name in expected.items():
        listed = [n.strip() for n in names[label].split(",")]
        assert any(re.fullmatch(name, n) for n in listed), (kind, label, listed)
        assert any(re.fullmatch(DATE + r"@sha256:[0-9a-f]{64}", n) for n in listed)
    for label in ("skopeo-none", "buildah-none"):
        listed = [n.strip() for n in names[label].split(",")]
        assert listed and all(re.fullmatch(DATE + r"@sha256:[0-9a-f]{64}", n) for n in listed)


def test_cri_finds_full_names_only(oci_out: str) -> None:
    for name in ("localhost/demo/oci:1", "docker.io/library/demo-oci:2"):
        assert f"crictl inspecti {name}: found | {name}: found" in oci_out
    for short in ("demo/oci:3", "demo/oci:5"):
        assert (f"crictl inspecti {short}: no such image | docker.io/{short}: no such image"
                in oci_out)
    assert re.search(rf"crictl inspecti {DATE}:4: no such image", oci_out)
    assert "crictl inspecti demo/oci:3 before: no such image, after: found" in oci_out
    # crictl images shows the unreachable record normalised, as if it were there
    assert re.search(r"^docker\.io/demo/oci\s+3\s", oci_out, re.M)
