"""Typed model of what a docker-save archive carries, shared by the reader, the writers
and the doctor. Format constants are named here once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArchiveError

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


# -- the typed model of each format: parse (raises ArchiveError naming where) and to_json --
#
# One class per JSON document ``docker save`` writes, as containers/image keeps one per format.
# Each ``parse`` checks the shape and raises :class:`~runbook_exec.errors.ArchiveError` whose
# message starts with *where* (a member name or a JSON path); fields the model does not name
# are kept in ``extra`` and written back by ``to_json`` after the known ones, so a rewrite
# (the doctor's repair) drops nothing a real engine wrote.

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def parse_digest(value: Any, where: str) -> str:
    """``value`` if it is ``sha256:<64 hex>``; else ArchiveError naming ``where``."""
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise ArchiveError(f"{where}: invalid digest {value!r} (expected sha256:<64 hex>)")
    return value


def _object(value: Any, where: str, what: str = "a JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ArchiveError(f"{where} is not {what}")
    return value


def _strings(value: Any, where: str) -> dict[str, str] | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise ArchiveError(f"{where}: annotations must be a JSON object")
    return dict(value)


def _extra(value: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in known}


@dataclass(frozen=True)
class Platform:
    """``platform`` of an index entry (OCI image-spec ``Platform``)."""

    architecture: str
    os: str
    variant: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # os.version, os.features, ...

    _KNOWN = ("architecture", "os", "variant")

    @classmethod
    def parse(cls, value: Any, where: str) -> Platform:
        obj = _object(value, f"{where} platform")
        arch, os_, variant = (obj.get(k, "") for k in cls._KNOWN)
        if not all(isinstance(x, str) for x in (arch, os_, variant)):
            raise ArchiveError(f"{where} platform: architecture, os and variant are strings")
        return cls(arch, os_, variant, _extra(obj, cls._KNOWN))

    def __str__(self) -> str:
        return "/".join(x for x in (self.os, self.architecture, self.variant) if x)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor. ``media_type`` may be empty (containerd then sniffs the
    blob); ``size`` is what the blob must have."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    platform: Platform | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # urls, artifactType, data, ...

    _KNOWN = ("mediaType", "digest", "size", "annotations", "platform")

    @classmethod
    def parse(cls, value: Any, where: str) -> Descriptor:
        if not isinstance(value, dict):
            raise ArchiveError(f"{where}: a descriptor must be a JSON object")
        media = value.get("mediaType", "")
        size = value.get("size")
        if not isinstance(media, str) or not isinstance(size, int) or size < 0:
            raise ArchiveError(f"{where}: descriptor needs a mediaType string and a size >= 0")
        digest = parse_digest(value.get("digest"), where)
        annotations = _strings(value.get("annotations"), where)
        platform = value.get("platform")
        return cls(media, digest, size, annotations,
                   None if platform is None else Platform.parse(platform, where),
                   _extra(value, cls._KNOWN))

    def annotation(self, key: str) -> str:
        """The annotation ``key``, or ``""``."""
        return (self.annotations or {}).get(key, "")

    @property
    def is_index(self) -> bool:
        """Whether it points to an image index (OCI index or Docker manifest list)."""
        return self.media_type in (MT_OCI_INDEX, MT_DOCKER_LIST)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type, "digest": self.digest, "size": self.size,
        }
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))  # a Go map
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class OciIndex:
    """``index.json`` or a nested image index. ``manifests`` is None where the file says
    ``"manifests": null`` (``docker save IMAGE@digest`` on Docker 25.0.0-25.0.2)."""

    manifests: list[Descriptor] | None
    media_type: str = MT_OCI_INDEX
    schema_version: int = 2
    annotations: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("schemaVersion", "mediaType", "manifests", "annotations")

    @property
    def entries(self) -> list[Descriptor]:
        """``manifests``, with null read as no entries."""
        return self.manifests or []

    @classmethod
    def parse(cls, value: Any, where: str = INDEX_JSON) -> OciIndex:
        obj = _object(value, where)
        raw = obj.get("manifests")
        if raw is not None and not isinstance(raw, list):
            raise ArchiveError(f"{where}: manifests must be a list")
        entries = None if raw is None else [
            Descriptor.parse(e, f"{where} manifests[{n}]") for n, e in enumerate(raw)
        ]
        return cls(entries, str(obj.get("mediaType", "")), int(obj.get("schemaVersion") or 0),
                   _strings(obj.get("annotations"), where), _extra(obj, cls._KNOWN))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type:
            out["mediaType"] = self.media_type
        out["manifests"] = (None if self.manifests is None
                            else [d.to_json() for d in self.manifests])
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))  # a Go map
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class OciManifest:
    """An OCI image manifest (or Docker schema 2 manifest): config and layers."""

    config: Descriptor
    layers: list[Descriptor]
    media_type: str = MT_OCI_MANIFEST
    schema_version: int = 2
    annotations: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # subject, artifactType, ...

    _KNOWN = ("schemaVersion", "mediaType", "config", "layers", "annotations")

    @classmethod
    def parse(cls, value: Any, where: str) -> OciManifest:
        obj = _object(value, where)
        config = Descriptor.parse(obj.get("config"), f"{where} config")
        raw = obj.get("layers")
        if not isinstance(raw, list):
            raise ArchiveError(f"{where}: layers must be a list")
        layers = [Descriptor.parse(x, f"{where} layers[{n}]") for n, x in enumerate(raw)]
        return cls(config, layers, str(obj.get("mediaType", "")),
                   int(obj.get("schemaVersion") or 0), _strings(obj.get("annotations"), where),
                   _extra(obj, cls._KNOWN))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type:
            out["mediaType"] = self.media_type
        out["config"] = self.config.to_json()
        out["layers"] = [x.to_json() for x in self.layers]
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))  # a Go map
        out.update(self.extra)
        return out


def is_index(media_type: str, body: Any) -> bool:
    """Whether a blob is an image index (by media type, or by a ``manifests`` key when the
    descriptor names none, as containerd decides)."""
    return media_type in (MT_OCI_INDEX, MT_DOCKER_LIST) or (
        isinstance(body, dict) and "manifests" in body)


@dataclass(frozen=True)
class ManifestItem:
    """One entry of the legacy ``manifest.json`` (moby ``image/tarexport`` ``manifestItem``).
    ``repo_tags`` is None where the file says null (a save by ID or digest)."""

    config: str
    layers: list[str]
    repo_tags: list[str] | None = None
    layer_sources: dict[str, Descriptor] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("Config", "RepoTags", "Layers", "LayerSources")

    @classmethod
    def parse(cls, value: Any, where: str) -> ManifestItem:
        obj = _object(value, where)
        config, layers, tags = obj.get("Config"), obj.get("Layers"), obj.get("RepoTags")
        if not isinstance(config, str) or not isinstance(layers, list) or not all(
            isinstance(x, str) for x in layers
        ):
            raise ArchiveError(f"{where} needs Config (a path) and Layers (a list of paths)")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            raise ArchiveError(f"{where}: RepoTags must be a list of names")
        raw = obj.get("LayerSources")
        if raw is not None and not isinstance(raw, dict):
            raise ArchiveError(f"{where}: LayerSources must be a JSON object")
        sources = None if raw is None else {
            parse_digest(k, f"{where} LayerSources"): Descriptor.parse(
                v, f"{where} LayerSources[{k}]") for k, v in raw.items()
        }
        return cls(config, list(layers), None if tags is None else list(tags), sources,
                   _extra(obj, cls._KNOWN))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Config": self.config, "RepoTags": self.repo_tags,
                               "Layers": list(self.layers)}
        if self.layer_sources:
            out["LayerSources"] = {k: v.to_json() for k, v in self.layer_sources.items()}
        out.update(self.extra)
        return out


def parse_manifest_json(value: Any, where: str = MANIFEST_JSON) -> list[ManifestItem]:
    """The items of ``manifest.json`` (already decoded JSON); it must be a non-empty list."""
    if not isinstance(value, list) or not value:
        raise ArchiveError(f"{where} must be a non-empty JSON list of images")
    return [ManifestItem.parse(e, f"{where} entry {n}") for n, e in enumerate(value)]


@dataclass(frozen=True)
class ImageConfig:
    """What the doctor and the runbooks read from an image config: ``rootfs.diff_ids`` and
    the platform. ``raw`` is the whole decoded document."""

    diff_ids: list[str]
    os: str = ""
    architecture: str = ""
    variant: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> ImageConfig:
        rootfs = value.get("rootfs") if isinstance(value, dict) else None
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list):
            raise ArchiveError(f"{where} has no rootfs.diff_ids list")
        assert isinstance(value, dict)
        checked = [parse_digest(x, f"{where} rootfs.diff_ids") for x in diff_ids]
        os_, arch, variant = (str(value.get(k) or "") for k in ("os", "architecture", "variant"))
        return cls(checked, os_, arch, variant, raw=value)

    @property
    def platform(self) -> str:
        """``os/architecture[/variant]`` as far as the config says."""
        return "/".join(x for x in (self.os, self.architecture, self.variant) if x)


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
