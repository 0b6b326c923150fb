"""Tiny OCI-layout image archives made by the tests (the writers live elsewhere).

Layers are uncompressed tars with one small file each, so a layer's DiffID is its digest.
``order`` picks which layers the OCI manifest lists, and in which order, while the config's
``rootfs.diff_ids`` always lists all of them in build order: that is how a Docker 25.0.0
archive goes wrong (reversed: wrong diff id; dropped: mismatched layers).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def layer_tar(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_archive(
    path: Path,
    ref: str,
    contents: Sequence[bytes],
    *,
    order: Sequence[int] | None = None,
) -> dict[str, object]:
    """Write an OCI-layout archive of an image whose layers hold ``contents``.

    Returns the config digest (image ID), diff_ids and the manifest digest.
    """
    layers = [layer_tar(f"layer{i}.txt", c) for i, c in enumerate(contents)]
    diff_ids = [_digest(b) for b in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        separators=(",", ":"),
    ).encode()
    picked = list(range(len(layers))) if order is None else list(order)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": diff_ids[i], "size": len(layers[i])}
                for i in picked
            ],
        },
        separators=(",", ":"),
    ).encode()
    tag = ref.rsplit(":", 1)[1]
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": _digest(manifest),
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": tag,
                    },
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    members: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    for blob in [*layers, config, manifest]:
        members["blobs/sha256/" + _digest(blob).split(":", 1)[1]] = blob
    members["index.json"] = index
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return {"image_id": _digest(config), "diff_ids": diff_ids, "manifest": _digest(manifest)}
