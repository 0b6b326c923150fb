"""The tests' one builder of tiny archives and layers: Docker 25 layout (OCI + manifest.json),
legacy (Docker <= 24), a bare OCI layout (:func:`oci_archive`) and single layers
(:func:`layer_tar`). Imported as ``dsave`` (``pythonpath = ["tests"]`` in pyproject.toml).

Entries are ``(name, bytes)`` for files, ``(name, Link(...))`` for links, ``(name, None)``
for directories; :func:`write_tar` turns them into a tar (plain or gzip).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_exec.archive.gojson import dumps
from runbook_exec.archive.refs import qualify

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class Link:
    target: str
    hard: bool = False


Entry = tuple[str, "bytes | Link | None"]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gojson(obj: Any) -> bytes:
    """JSON as a Go struct encodes it (dicts in field order): the package's one encoder."""
    return dumps(obj, sort_keys=False)


def layer_tar(
    content: bytes, name: str = "f", *, mtime: int = 0, fmt: int = tarfile.PAX_FORMAT
) -> bytes:
    """An uncompressed layer holding one file ``name`` (mode 0644) with ``content``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mtime = mtime
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(content))
    return buf.getvalue()


@dataclass
class Img:
    layers: list[bytes]  # config order, duplicates kept
    tags: list[str] = field(default_factory=lambda: ["demo:v1"])
    config: bytes = b""

    def __post_init__(self) -> None:
        if not self.config:
            cfg = {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/f0"]},
                "rootfs": {"type": "layers", "diff_ids": [sha(x) for x in self.layers]},
            }
            self.config = gojson(cfg)

    @property
    def diff_ids(self) -> list[str]:
        return [sha(x) for x in self.layers]

    @property
    def image_id(self) -> str:
        return sha(self.config)


def make_image(n: int = 3, repeat: tuple[int, int] | None = None, tag: str = "demo:v1",
               seed: str = "") -> Img:
    """``n`` layers; ``repeat=(i, j)`` makes layer j a copy of layer i."""
    layers = [layer_tar(f"{seed}layer {i}\n".encode() * (i + 1), f"f{i}") for i in range(n)]
    if repeat is not None:
        layers[repeat[1]] = layers[repeat[0]]
    return Img(layers, [tag] if tag else [])


def docker25(
    img: Img,
    *,
    order: list[int] | None = None,
    collapse: bool = False,
    no_layers: bool = False,
    manifests_null: bool = False,
    legacy_order: list[int] | None = None,
) -> list[Entry]:
    """A Docker >= 25 archive. ``order`` permutes the OCI manifest's layers (25.0.0),
    ``collapse`` drops repeated layers from it, ``no_layers`` empties it (25.0.0-rc.1)."""
    entries: list[Entry] = [("blobs", None), ("blobs/sha256", None)]
    seen: set[str] = set()
    for data in img.layers:
        d = sha(data)
        if d not in seen:
            seen.add(d)
            entries.append((f"blobs/sha256/{d[7:]}", data))
    entries.append((f"blobs/sha256/{img.image_id[7:]}", img.config))
    idx = order if order is not None else list(range(len(img.layers)))
    descs = [{"mediaType": OCI_LAYER, "digest": sha(img.layers[i]), "size": len(img.layers[i])}
             for i in idx]
    if collapse:
        uniq: dict[str, dict[str, Any]] = {}
        for desc in descs:
            uniq.setdefault(desc["digest"], desc)
        descs = list(uniq.values())
    if no_layers:
        descs = []
    manifest = gojson({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": img.image_id, "size": len(img.config)},
        "layers": descs,
    })
    entries.append((f"blobs/sha256/{sha(manifest)[7:]}", manifest))
    mdesc = {"mediaType": OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest)}
    index_entries = []
    for tag in img.tags:
        full = qualify(tag)
        index_entries.append(dict(mdesc, annotations={
            "io.containerd.image.name": full,
            "org.opencontainers.image.ref.name": full.rsplit(":", 1)[1],
        }))
    if not img.tags:
        index_entries.append(mdesc)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": None if manifests_null else index_entries}
    entries.append(("index.json", gojson(index)))
    lorder = legacy_order if legacy_order is not None else list(range(len(img.layers)))
    legacy = [{
        "Config": f"blobs/sha256/{img.image_id[7:]}",
        "RepoTags": img.tags or None,
        "Layers": [f"blobs/sha256/{sha(img.layers[i])[7:]}" for i in lorder],
    }]
    entries.append(("manifest.json", gojson(legacy)))
    entries.append(("oci-layout", gojson({"imageLayoutVersion": "1.0.0"})))
    repos: dict[str, dict[str, str]] = {}
    for tag in img.tags:
        name, t = tag.rsplit(":", 1)
        repos.setdefault(name, {})[t] = img.image_id[7:]
    entries.append(("repositories", gojson(repos)))
    return entries


def legacy24(img: Img) -> list[Entry]:
    """A Docker <= 24 archive: <v1id>/layer.tar, a repeated layer as a relative symlink."""
    entries: list[Entry] = []
    first: dict[str, str] = {}
    layer_paths = []
    parent = ""
    for i, data in enumerate(img.layers):
        v1 = hashlib.sha256(f"{parent} {sha(data)} {i}".encode()).hexdigest()
        parent = v1
        entries.append((v1, None))
        entries.append((f"{v1}/VERSION", b"1.0"))
        entries.append((f"{v1}/json", gojson({"id": v1})))
        d = sha(data)
        if d in first:
            entries.append((f"{v1}/layer.tar", Link(f"../{first[d]}/layer.tar")))
        else:
            first[d] = v1
            entries.append((f"{v1}/layer.tar", data))
        layer_paths.append(f"{v1}/layer.tar")
    entries.append((f"{img.image_id[7:]}.json", img.config))
    entries.append(("manifest.json", gojson([{
        "Config": f"{img.image_id[7:]}.json", "RepoTags": img.tags or None, "Layers": layer_paths,
    }])))
    return entries


def replace(entries: list[Entry], name: str, data: bytes | Link | None) -> list[Entry]:
    return [(n, data if n == name else d) for n, d in entries]


def drop(entries: list[Entry], name: str) -> list[Entry]:
    return [(n, d) for n, d in entries if n != name]


def tar_bytes(entries: list[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            elif isinstance(data, Link):
                info.type = tarfile.LNKTYPE if data.hard else tarfile.SYMTYPE
                info.linkname = data.target
                tf.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_tar(path: Path, entries: list[Entry], *, compress: bool = False) -> Path:
    data = tar_bytes(entries)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def oci_archive(
    path: Path, ref: str, contents: Sequence[bytes], *, order: Sequence[int] | None = None
) -> dict[str, object]:
    """An OCI-layout-only archive (no ``manifest.json``) of one image tagged ``ref`` whose
    layers hold ``contents`` (one file ``layer<i>.txt`` each, so equal contents still differ).

    ``order`` picks which layers the OCI manifest lists, and in which order, while the
    config's ``rootfs.diff_ids`` lists all in build order: reversed is Docker 25.0.0's wrong
    diff id, dropped its mismatched layers. Returns image_id, diff_ids and manifest digest.
    """
    img = Img([layer_tar(c, f"layer{i}.txt") for i, c in enumerate(contents)], [ref])
    entries = docker25(img, order=list(order) if order is not None else None)
    entries = drop(drop(entries, "manifest.json"), "repositories")
    index = json.loads(dict(entries)["index.json"] or b"")
    write_tar(path, entries)
    return {
        "image_id": img.image_id,
        "diff_ids": img.diff_ids,
        "manifest": index["manifests"][0]["digest"],
    }
