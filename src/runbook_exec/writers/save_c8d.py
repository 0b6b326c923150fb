"""``docker save`` of Docker 29 with the containerd image store (FACTS failure F).

The daemon hands the export to containerd's archive exporter (moby
``daemon/containerd/image_exporter.go`` at docker-v29.0.0: ``archive.WithPlatform`` plus
``archive.WithSkipMissing``), which writes the image's whole multi-platform index blob
verbatim but skips every child manifest whose content was never pulled. kind's
``--all-platforms`` import then walks a child that is not in the archive.

The image given is the one platform that was pulled (linux/amd64 here); the index also
lists a linux/arm64 manifest whose blob is absent. Layout as containerd's exporter writes
it: ``blobs/sha256/*`` (index, manifest, config, layers), ``oci-layout``, ``index.json``
(one entry, the image index, with both name annotations), ``manifest.json`` for the
present platform. Header details (mtimes epoch, names sorted) follow the exporter's
records; they do not affect the import.
"""

from __future__ import annotations

import hashlib
from typing import Any

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
from ..archive.writer import TarWriter
from ..errors import ArchiveError
from .save_v25 import descriptor

__all__ = ["write_c8d"]

EPOCH = 0.0


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_c8d(
    image: Image, tw: TarWriter, *, by_digest: bool, platform: str | None = None
) -> dict[str, Any]:
    """Write the archive; returns ``{"missing": [digests of absent child manifests]}``.

    ``platform`` (``"linux/amd64"``) models ``docker save --platform``: one platform is
    exported, so ``index.json`` points straight at that platform's manifest and the
    multi-platform index (with its unpulled children) is not in the archive at all.
    """
    config = image.config_json
    arch = str(config.get("architecture") or "amd64")
    here = {"architecture": arch, "os": str(config.get("os") or "linux")}
    if platform is not None and platform != f"{here['os']}/{arch}":
        raise ArchiveError(
            f"platform {platform} was never pulled for this image (it has "
            f"{here['os']}/{arch}); docker save --platform would find no content for it"
        )
    distinct = list(dict.fromkeys(layer.diff_id for layer in image.layers))
    paths = {layer.diff_id: layer.path for layer in image.layers}
    manifest = encode(
        struct(
            [
                ("schemaVersion", 2, False),
                ("mediaType", MT_OCI_MANIFEST, False),
                ("config", descriptor(MT_OCI_CONFIG, image.image_id, len(image.config)), False),
                (
                    "layers",
                    [
                        descriptor(MT_OCI_LAYER_TAR, layer.diff_id, layer.size)
                        for layer in image.layers
                    ],
                    False,
                ),
            ]
        )
    ).encode()
    # The other platform's manifest: plausible bytes, never written (never pulled).
    other_arch = "arm64" if arch != "arm64" else "amd64"
    absent = encode(
        struct(
            [
                ("schemaVersion", 2, False),
                ("mediaType", MT_OCI_MANIFEST, False),
                (
                    "config",
                    descriptor(
                        MT_OCI_CONFIG,
                        _digest(image.config + other_arch.encode()),
                        len(image.config),
                    ),
                    False,
                ),
                ("layers", [], False),
            ]
        )
    ).encode()
    other = {"architecture": other_arch, "os": here["os"]}
    if other_arch == "arm64":
        other["variant"] = "v8"
    index = encode(
        struct(
            [
                ("schemaVersion", 2, False),
                ("mediaType", MT_OCI_INDEX, False),
                (
                    "manifests",
                    [
                        descriptor(
                            MT_OCI_MANIFEST, _digest(manifest), len(manifest), platform=here
                        ),
                        descriptor(MT_OCI_MANIFEST, _digest(absent), len(absent), platform=other),
                    ],
                    False,
                ),
            ]
        )
    ).encode()
    refs = [] if by_digest else [parse_tagged(t) for t in image.repo_tags]
    # What index.json points at: the whole image index, or with --platform the one manifest.
    top_type, top_blob = (MT_OCI_INDEX, index) if platform is None else (MT_OCI_MANIFEST, manifest)
    top = [
        descriptor(
            top_type,
            _digest(top_blob),
            len(top_blob),
            annotations={ANN_IMAGE_NAME: r.full, ANN_REF_NAME: r.tag},
        )
        for r in refs
    ]
    if not top:
        top = [descriptor(top_type, _digest(top_blob), len(top_blob))]
    index_json = encode(
        struct(
            [
                ("schemaVersion", 2, False),
                ("mediaType", MT_OCI_INDEX, False),
                ("manifests", top, False),
            ]
        )
    ).encode()
    legacy = encode(
        [
            struct(
                [
                    ("Config", f"blobs/sha256/{image.image_id.removeprefix('sha256:')}", False),
                    ("RepoTags", [r.familiar for r in refs] or None, False),
                    (
                        "Layers",
                        [
                            f"blobs/sha256/{layer.diff_id.removeprefix('sha256:')}"
                            for layer in image.layers
                        ],
                        False,
                    ),
                ]
            )
        ]
    ).encode()

    blobs: dict[str, bytes | None] = {
        _digest(manifest): manifest,
        image.image_id: image.config,
    }
    if platform is None:
        blobs[_digest(index)] = index
    for d in distinct:
        blobs[d] = None  # a file
    tw.add_dir("blobs", EPOCH)
    tw.add_dir("blobs/sha256", EPOCH)
    for d in sorted(blobs):
        name = "blobs/sha256/" + d.removeprefix("sha256:")
        data = blobs[d]
        if data is None:
            tw.add_file(name, paths[d], EPOCH)
        else:
            tw.add_bytes(name, data, EPOCH)
    tw.add_bytes("index.json", index_json, EPOCH)
    tw.add_bytes("manifest.json", legacy, EPOCH)
    tw.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', EPOCH)
    return {"missing": [_digest(absent)] if platform is None else []}
