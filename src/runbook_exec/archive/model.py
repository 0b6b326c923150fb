"""Typed model of what a docker-save archive carries, shared by the reader, the writers
and the doctor. Format constants are named here once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Media types (OCI image-spec v1.0/1.1 and Docker schema 2).
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
MT_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# Well-known archive members.
MANIFEST_JSON = "manifest.json"
REPOSITORIES = "repositories"
INDEX_JSON = "index.json"
OCI_LAYOUT = "oci-layout"
BLOBS_DIR = "blobs/sha256/"

# Index annotations Docker >= 25 writes.
ANN_IMAGE_NAME = "io.containerd.image.name"
ANN_REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Platform:
    architecture: str
    os: str
    variant: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    platform: Platform | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type, "digest": self.digest, "size": self.size,
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out


@dataclass(frozen=True)
class Layer:
    """One layer as Docker stores it: an uncompressed tar on disk and its DiffID.

    For an uncompressed layer the blob digest equals the DiffID.
    """

    diff_id: str
    path: Path
    size: int


@dataclass
class Image:
    """An image as a writer needs it: the exact config bytes, the layers in config order
    (duplicates kept, as ``rootfs.diff_ids`` lists them) and the names it is saved under.

    The config bytes are kept verbatim: their sha256 is the image ID.
    """

    config: bytes
    layers: list[Layer]
    repo_tags: list[str] = field(default_factory=list)

    @property
    def config_json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.config)
        return parsed

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config_json.get("rootfs", {}).get("diff_ids", []))

    @property
    def image_id(self) -> str:
        import hashlib

        return "sha256:" + hashlib.sha256(self.config).hexdigest()
