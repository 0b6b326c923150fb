"""The typed model of each format (archive.model): parse names where input is malformed,
to_json writes back every field it read (what repair relies on to drop nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dsave
import pytest

from runbook_exec.archive import (
    ImageConfig,
    ManifestItem,
    OciIndex,
    OciManifest,
    open_archive,
    parse_manifest_json,
)
from runbook_exec.errors import ArchiveError

D = "sha256:" + "1" * 64
E = "sha256:" + "2" * 64

INDEX = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D, "size": 7,
        "annotations": {"io.containerd.image.name": "docker.io/library/a:1",
                        "org.opencontainers.image.ref.name": "1"},
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8",
                     "os.features": ["x"]},
        "urls": ["https://example.invalid/blob"],
    }],
    "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    "artifactType": "application/x-future",
}
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": E, "size": 3,
                "annotations": {"k": "v"}}],
    "annotations": {"a": "b"},
    "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": E,
                "size": 1},
}
ITEM = {"Config": "blobs/sha256/" + "1" * 64, "RepoTags": ["a:1"],
        "Layers": ["blobs/sha256/" + "2" * 64],
        "LayerSources": {E: {"mediaType": "application/vnd.docker.image.rootfs.foreign."
                                          "diff.tar.gzip", "digest": E, "size": 3,
                             "urls": ["https://example.invalid/l"]}},
        "Parent": "sha256:" + "3" * 64}


@pytest.mark.parametrize(("doc", "parse"), [
    (INDEX, OciIndex.parse),
    (MANIFEST, lambda v: OciManifest.parse(v, "m")),
    ([ITEM], parse_manifest_json),
], ids=["index", "manifest", "manifest.json"])
def test_to_json_keeps_every_field_it_read(doc: Any, parse: Any) -> None:
    parsed = parse(doc)
    back = [x.to_json() for x in parsed] if isinstance(parsed, list) else parsed.to_json()
    assert back == doc
    assert json.dumps(back, sort_keys=True) == json.dumps(doc, sort_keys=True)


def test_manifests_null_is_not_an_empty_list() -> None:
    assert OciIndex.parse({"schemaVersion": 2, "manifests": None}).manifests is None
    assert OciIndex.parse({"schemaVersion": 2, "manifests": []}).manifests == []


# (what is parsed, the document, the start of the message: where it is wrong)
MALFORMED = [
    ("index", [], "index.json is not a JSON object"),
    ("index", {"manifests": {}}, "index.json: manifests must be a list"),
    ("index", {"manifests": [{"digest": D}]}, "index.json manifests[0]: descriptor needs"),
    ("index", {"manifests": [{"digest": "sha256:x", "size": 1}]},
     "index.json manifests[0]: invalid digest"),
    ("index", {"manifests": [{"digest": D, "size": 1, "platform": []}]},
     "index.json manifests[0] platform is not a JSON object"),
    ("index", {"manifests": [{"digest": D, "size": 1, "annotations": [1]}]},
     "index.json manifests[0]: annotations must be a JSON object"),
    ("manifest", {"config": None}, "m config: a descriptor must be a JSON object"),
    ("manifest", dict(MANIFEST, layers=None), "m: layers must be a list"),
    ("manifest", dict(MANIFEST, layers=[{"digest": D, "size": -1}]), "m layers[0]: descriptor"),
    ("manifest.json", {}, "manifest.json must be a non-empty JSON list"),
    ("manifest.json", [[]], "manifest.json entry 0 is not a JSON object"),
    ("manifest.json", [{"Config": 1, "Layers": []}], "manifest.json entry 0 needs Config"),
    ("manifest.json", [dict(ITEM, RepoTags="a")], "manifest.json entry 0: RepoTags must be"),
    ("manifest.json", [dict(ITEM, LayerSources={"x": {}})],
     "manifest.json entry 0 LayerSources: invalid digest"),
    ("config", {"rootfs": {}}, "c has no rootfs.diff_ids list"),
    ("config", {"rootfs": {"diff_ids": ["x"]}}, "c rootfs.diff_ids: invalid digest"),
]
PARSERS = {
    "index": OciIndex.parse,
    "manifest": lambda v: OciManifest.parse(v, "m"),
    "manifest.json": parse_manifest_json,
    "config": lambda v: ImageConfig.parse(v, "c"),
}


@pytest.mark.parametrize(("kind", "doc", "message"), MALFORMED,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_input_says_where(kind: str, doc: Any, message: str) -> None:
    with pytest.raises(ArchiveError) as info:
        PARSERS[kind](doc)
    assert str(info.value).startswith(message)


def test_reader_walks_index_manifest_config(tmp_path: Path) -> None:
    img = dsave.make_image(3, repeat=(0, 2))
    path = dsave.write_tar(tmp_path / "a.tar", dsave.docker25(img))
    with open_archive(path) as ar:
        index = ar.index()
        assert index.manifests is not None
        entry = index.manifests[0]
        manifest = ar.manifest(entry.digest)
        config = ar.image_config(manifest.config.digest)
        items = ar.manifest_items()
    assert entry.annotation("io.containerd.image.name") == "docker.io/library/demo:v1"
    assert config.diff_ids == [x.digest for x in manifest.layers] == img.diff_ids
    assert items == [ManifestItem(items[0].config, items[0].layers, ["demo:v1"])]
    with open_archive(path) as ar:  # the Config path of manifest.json works as well
        assert ar.image_config(items[0].config).diff_ids == img.diff_ids
