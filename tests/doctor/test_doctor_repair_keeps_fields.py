"""Repair rebuilds index.json, the OCI manifest and manifest.json from the typed model, and
drops nothing it does not decide: fields a real engine wrote (platform, other annotations,
LayerSources, fields the model does not name) survive."""

from __future__ import annotations

import json
from pathlib import Path

import dsave

from runbook_exec.archive import open_archive
from runbook_exec.doctor import repair

LAYER = "sha256:" + "9" * 64


def test_repair_keeps_the_fields_it_does_not_decide(tmp_path: Path) -> None:
    img = dsave.make_image(3, repeat=(0, 2))
    entries = dsave.docker25(img, order=[2, 0, 1])  # layers out of order: repair has work
    index = json.loads(dict(entries)["index.json"])  # type: ignore[arg-type]
    index["annotations"] = {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    entry = index["manifests"][0]
    entry["platform"] = {"architecture": "amd64", "os": "linux"}
    entry["annotations"]["containerd.io/distribution.source.docker.io"] = "library/demo"
    entry["urls"] = ["https://example.invalid/x"]
    items = json.loads(dict(entries)["manifest.json"])  # type: ignore[arg-type]
    items[0]["LayerSources"] = {LAYER: {"mediaType": "application/vnd.docker.image.rootfs."
                                        "foreign.diff.tar.gzip", "digest": LAYER, "size": 1}}
    items[0]["Parent"] = "sha256:" + "8" * 64
    entries = dsave.replace(entries, "index.json", dsave.gojson(index))
    entries = dsave.replace(entries, "manifest.json", dsave.gojson(items))
    src = dsave.write_tar(tmp_path / "in.tar", entries)

    result = repair(src, tmp_path / "out.tar")
    assert result.fixed == ["layers-out-of-order"]
    with open_archive(tmp_path / "out.tar") as ar:
        new_index = ar.index()
        new_items = ar.manifest_items()
        assert new_index.manifests is not None
        manifest = ar.manifest(new_index.manifests[0].digest)
    assert new_index.annotations == index["annotations"]
    new_entry = new_index.manifests[0]
    assert new_entry.platform is not None and str(new_entry.platform) == "linux/amd64"
    assert new_entry.annotations == entry["annotations"]
    assert new_entry.extra == {"urls": ["https://example.invalid/x"]}
    assert [x.digest for x in manifest.layers] == img.diff_ids
    assert new_items[0].layer_sources is not None and LAYER in new_items[0].layer_sources
    assert new_items[0].extra == {"Parent": "sha256:" + "8" * 64}
    assert new_items[0].repo_tags == ["demo:v1"]
