"""``docker save`` of Docker 25 … 28 with the graphdriver image store: the OCI image layout
plus the legacy ``manifest.json``. moby ``image/tarexport/save.go`` at the profile's tag.

Members (``pkg/archive`` walk order)::

    blobs/            mtime = image created
    blobs/sha256/     mtime = epoch (the OCI manifest is written last)
    blobs/sha256/*    layers (uncompressed tar), config, one v1 json per layer (created),
                      OCI manifest (epoch)
    index.json        mtime = when written
    manifest.json  oci-layout  repositories   mtime = epoch

What differs by tag is captured by :class:`OciKnobs`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..archive.gojson import encode, struct
from ..archive.model import (
    ANN_IMAGE_NAME,
    ANN_REF_NAME,
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_LAYER_TAR,
    MT_OCI_MANIFEST,
    Image,
)
from ..archive.refs import parse_tagged
from ..archive.writer import TarWriter, now
from .gomap import iteration_order
from .legacy import v1_layers
from .save_v24 import EPOCH, created_time

__all__ = ["OciKnobs", "write_v25"]

OCI_LAYOUT_BYTES = b'{"imageLayoutVersion": "1.0.0"}'


@dataclass(frozen=True)
class OciKnobs:
    """How one tag's save.go builds the OCI half."""

    # "none": only foreign layers listed (none for local images) -> "layers": [];
    # "gomap": ranged over map[DiffID]Descriptor; "config": config order, duplicates kept
    manifest_layers: Literal["none", "gomap", "config"]
    # manifest.json carries LayerSources (every layer's descriptor) once all layers are
    # "sources" (25.0.0 onwards)
    layer_sources: bool
    # config descriptor and index entries carry the image platform (25.0.0 … 26.0.x)
    platform: bool
    # an image saved without a tag still gets an index entry (25.0.3 onwards)
    untagged_index_entry: bool
    # v1 json written only with a newly written layer (rc.1) -> its mtime
    config_mtime_with_layer: bool = False


def _platform(config: dict[str, Any]) -> Any:
    return struct(
        [
            ("architecture", config.get("architecture", ""), False),
            ("os", config.get("os", ""), False),
            ("os.version", config.get("os.version", ""), True),
            ("os.features", config.get("os.features"), True),
            ("variant", config.get("variant", ""), True),
        ]
    )


def descriptor(
    media_type: str,
    digest: str,
    size: int,
    *,
    annotations: dict[str, str] | None = None,
    platform: Any = None,
) -> Any:
    """An OCI descriptor as Go encodes ``ocispec.Descriptor`` (field order: mediaType digest
    size urls annotations data platform; empty ones omitted)."""
    return struct(
        [
            ("mediaType", media_type, False),
            ("digest", digest, False),
            ("size", size, False),
            ("annotations", annotations, True),
            ("platform", platform, True),
        ]
    )


def _distribution_descriptor(digest: str, size: int) -> Any:
    # docker/distribution Descriptor: mediaType size digest (all omitempty)
    return struct(
        [("mediaType", MT_OCI_LAYER_TAR, True), ("size", size, True), ("digest", digest, True)]
    )


def manifest_layer_order(diff_ids: list[str], mode: str, rng: random.Random) -> list[int]:
    """Indices into ``diff_ids`` for the OCI manifest's layers under ``mode``."""
    if mode == "none":
        return []
    if mode == "config":
        return list(range(len(diff_ids)))
    distinct = list(dict.fromkeys(diff_ids))
    first = {d: diff_ids.index(d) for d in distinct}
    return [first[distinct[k]] for k in iteration_order(diff_ids, rng)]


def write_v25(
    image: Image, tw: TarWriter, knobs: OciKnobs, *, by_digest: bool, rng: random.Random
) -> dict[str, Any]:
    """Write the archive; returns the OCI manifest as written (for callers to show)."""
    config = image.config_json
    created = created_time(config)
    c_mtime = created if created is not None else now()
    diff_ids = [layer.diff_id for layer in image.layers]
    v1s = v1_layers(image.config, start_interval=True)
    refs = [] if by_digest else [parse_tagged(t) for t in image.repo_tags]
    platform = _platform(config) if knobs.platform else None

    blobs: dict[str, tuple[str, Any, float]] = {}  # hex -> (kind, data|path, mtime)
    layer_seen: set[str] = set()
    for v1, layer in zip(v1s, image.layers, strict=True):
        new_layer = layer.diff_id not in layer_seen
        hexd = hashlib.sha256(v1.json).hexdigest()
        if hexd not in blobs:
            stamp = c_mtime if (new_layer or not knobs.config_mtime_with_layer) else now()
            blobs[hexd] = ("bytes", v1.json, stamp)
        if new_layer:
            layer_seen.add(layer.diff_id)
            blobs[layer.diff_id.removeprefix("sha256:")] = ("file", layer.path, c_mtime)
    image_hex = image.image_id.removeprefix("sha256:")
    blobs[image_hex] = ("bytes", image.config, c_mtime)

    sizes = {layer.diff_id: layer.size for layer in image.layers}
    order = manifest_layer_order(diff_ids, knobs.manifest_layers, rng)
    layers_json = [descriptor(MT_OCI_LAYER_TAR, diff_ids[i], sizes[diff_ids[i]]) for i in order]
    manifest = struct(
        [
            ("schemaVersion", 2, False),
            ("mediaType", MT_OCI_MANIFEST, True),
            (
                "config",
                descriptor(MT_OCI_CONFIG, image.image_id, len(image.config), platform=platform),
                False,
            ),
            ("layers", layers_json, False),
        ]
    )
    manifest_bytes = encode(manifest).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    blobs[manifest_digest.removeprefix("sha256:")] = ("bytes", manifest_bytes, EPOCH)

    index_entries = [
        descriptor(
            MT_OCI_MANIFEST,
            manifest_digest,
            len(manifest_bytes),
            annotations={ANN_IMAGE_NAME: r.full, ANN_REF_NAME: r.tag},
            platform=platform,
        )
        for r in refs
    ]
    if not index_entries and knobs.untagged_index_entry:
        index_entries = [
            descriptor(MT_OCI_MANIFEST, manifest_digest, len(manifest_bytes), platform=platform)
        ]
    index = struct(
        [
            ("schemaVersion", 2, False),
            ("mediaType", MT_OCI_INDEX, True),
            ("manifests", index_entries or None, False),
        ]
    )

    repos: dict[str, dict[str, str]] = {}
    for r in refs:
        repos.setdefault(r.familiar_name, {})[r.tag] = diff_ids[-1].removeprefix("sha256:")
    sources = (
        {d: _distribution_descriptor(d, sizes[d]) for d in diff_ids}
        if knobs.layer_sources
        else None
    )
    legacy_manifest = [
        struct(
            [
                ("Config", f"blobs/sha256/{image_hex}", False),
                ("RepoTags", [r.familiar for r in refs] or None, False),
                ("Layers", [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in diff_ids], False),
                ("LayerSources", sources, True),
            ]
        )
    ]

    tw.add_dir("blobs", c_mtime)
    tw.add_dir("blobs/sha256", EPOCH)
    for hexd in sorted(blobs):
        kind, data, mtime = blobs[hexd]
        name = f"blobs/sha256/{hexd}"
        if kind == "file":
            tw.add_file(name, Path(data), mtime)
        else:
            tw.add_bytes(name, data, mtime)
    tw.add_bytes("index.json", encode(index).encode(), now())
    tw.add_bytes("manifest.json", (encode(legacy_manifest) + "\n").encode(), EPOCH)
    tw.add_bytes("oci-layout", OCI_LAYOUT_BYTES, EPOCH)
    if repos:
        tw.add_bytes("repositories", (encode(repos) + "\n").encode(), EPOCH)
    return {"digest": manifest_digest, "layers": [diff_ids[i] for i in order]}
