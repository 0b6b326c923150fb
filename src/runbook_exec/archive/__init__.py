"""docker-save archives: the typed model, a safe streaming reader and an atomic writer.

>>> from runbook_exec.archive import open_archive
>>> with open_archive("images.tar") as reader:
...     index = reader.index()                      # OciIndex of index.json
...     manifest = reader.manifest(index.manifests[0].digest)
...     print(reader.layout, reader.image_config(manifest.config.digest).diff_ids)

Each JSON document has one typed class (``ManifestItem`` of ``manifest.json``, ``OciIndex``,
``OciManifest``, ``Descriptor``, ``Platform``, ``ImageConfig``) whose ``parse`` raises
:class:`~runbook_exec.errors.ArchiveError` naming where the input is malformed and whose
``to_json`` writes back every field it read. ``refs`` holds Docker's reference grammar.
"""

from . import refs
from .model import (
    Descriptor,
    Image,
    ImageConfig,
    Layer,
    ManifestItem,
    OciIndex,
    OciManifest,
    Platform,
    parse_manifest_json,
)
from .reader import ArchiveReader, Layout, blob_path, open_archive

__all__ = [
    "ArchiveReader",
    "Descriptor",
    "Image",
    "ImageConfig",
    "Layer",
    "Layout",
    "ManifestItem",
    "OciIndex",
    "OciManifest",
    "Platform",
    "blob_path",
    "open_archive",
    "parse_manifest_json",
    "refs",
]
