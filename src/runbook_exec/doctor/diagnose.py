"""Diagnose a docker-save archive: read both halves, compare them with each config.

Reads tar headers and JSON only (blobs are seeked over); ``verify=True`` also hashes every
blob. Invalid input raises :class:`~runbook_exec.errors.ArchiveError` (exit 2); problems
that containerd or kubelet will trip on become :class:`~.findings.Finding` objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..archive import model
from ..archive.model import (
    Descriptor,
    ImageConfig,
    ManifestItem,
    OciIndex,
    OciManifest,
    is_index,
    parse_digest,
    parse_manifest_json,
)
from ..archive.reader import ArchiveReader, Layout, blob_path, open_archive
from ..archive.refs import has_domain, qualify
from ..errors import ArchiveError
from .findings import KINDS, Code, Finding, MissingLayer, containerd_error
from .nodes import NodeProfile, node_profile

_UNCOMPRESSED = {model.MT_OCI_LAYER_TAR, model.MT_DOCKER_LAYER_TAR}
_MAX_DEPTH = 8
# error codes whose containerd text is not measured: still errors on every node
_UNMEASURED = {str(Code.BLOB_SIZE_MISMATCH), str(Code.BLOB_DIGEST_MISMATCH)}

LAYOUT_TEXT = {
    Layout.LEGACY: "Docker <= 24 layout (manifest.json + <id>/layer.tar)",
    Layout.DOCKER25: "Docker >= 25 layout (OCI image layout + manifest.json)",
    Layout.OCI: "OCI image layout (no manifest.json)",
    Layout.CONTAINERD: "containerd image store export (multi-platform index)",
}


@dataclass
class ImageInfo:
    """One image: its config (ID), names, layers in config order, where its blobs are."""

    image_id: str
    config_member: str
    diff_ids: list[str]
    names: list[str] = field(default_factory=list)  # fully qualified: what a Pod can use
    refs: list[str] = field(default_factory=list)  # what containerd records, exactly
    manifests: list[str] = field(default_factory=list)
    legacy_layers: list[str] | None = None  # manifest.json Layers paths
    repo_tags: list[str] = field(default_factory=list)  # manifest.json RepoTags, as written
    platform: str = ""
    legacy_item: ManifestItem | None = None  # its manifest.json entry (repair keeps its fields)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.image_id,
            "names": self.names,
            "refs": self.refs,
            "manifests": self.manifests,
            "layers": len(self.diff_ids),
            "platform": self.platform,
        }


@dataclass
class Report:
    """What diagnose found. ``exit_code``: 0 healthy, 1 affected."""

    archive: str
    layout: Layout
    compressed: bool
    size: int
    verified: bool
    images: list[ImageInfo]
    findings: list[Finding]
    node: NodeProfile | None = None

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def import_fails(self) -> bool:
        """Whether kind's import command fails on the node (an error-level finding)."""
        return any(f.level == "error" for f in self.findings)

    @property
    def predicted_error(self) -> str | None:
        """The last line kind's import prints on the node: the first error's text."""
        for f in self.findings:
            if f.level == "error":
                return f.containerd_error
        return None

    @property
    def possible_errors(self) -> list[str | None]:
        """Every error text the node may print. With several broken images in one archive,
        which one containerd stops at first is not fixed (2.x unpacks them concurrently),
        so any of these is what the doctor predicts; an archive-wide error (a gzip'd
        archive on containerd 1.x) comes first and is the only one."""
        errors = [f for f in self.findings if f.level == "error"]
        if errors and errors[0].image is None:
            return [errors[0].containerd_error]
        return list(dict.fromkeys(f.containerd_error for f in errors))

    blockers: list[str] = field(default_factory=list)

    @property
    def repairable(self) -> bool:
        """Whether ``repair`` fixes every finding; ``blockers`` say why not (repair refuses
        with the first one, so diagnose and repair always agree)."""
        return bool(self.findings) and not self.blockers

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "runbook-exec/doctor-diagnose/v1",
            "archive": self.archive,
            "layout": str(self.layout),
            "layout_description": LAYOUT_TEXT[self.layout],
            "compressed": self.compressed,
            "size": self.size,
            "verified": self.verified,
            "healthy": self.healthy,
            "exit_code": self.exit_code,
            "node": self.node.to_json() if self.node else None,
            "repairable": self.repairable,
            "images": [i.to_json() for i in self.images],
            "findings": [dict(f.to_json(), repairable=self.repairable)
                         for f in self.findings],
            "blockers": self.blockers,
        }


Progress = Callable[[int], None]


def diagnose(
    source: str | BinaryIO,
    *,
    verify: bool = False,
    progress: Progress | None = None,
    node: NodeProfile | str | None = None,
) -> Report:
    """Open ``source`` (path, ``-`` or file object) and diagnose it for ``node`` (a kind
    release such as ``v0.20.0``, a containerd version, or a :class:`NodeProfile`; default:
    the newest kind release's node)."""
    profile = node if isinstance(node, NodeProfile) else node_profile(node)
    with open_archive(source, hash_blobs=verify, progress=progress) as reader:
        return diagnose_reader(reader, verify=verify, progress=progress, node=profile)


def diagnose_reader(
    reader: ArchiveReader, *, verify: bool = False, progress: Progress | None = None,
    node: NodeProfile | None = None,
) -> Report:
    """Diagnose an open archive (see :func:`diagnose`)."""
    node = node or node_profile(None)
    d = _examine(reader, node)
    if verify:
        d.verify(progress)
    return _report(reader, d, verify)


def plan_inputs(reader: ArchiveReader, node: NodeProfile | None = None
                ) -> tuple[Report, _Doctor]:
    """Diagnose without hashing; also return the examination (OCI metadata blobs a repair
    replaces, each image's OCI layer descriptors)."""
    d = _examine(reader, node or node_profile(None))
    return _report(reader, d, False), d


def _examine(reader: ArchiveReader, node: NodeProfile) -> _Doctor:
    """Every structural check (headers and JSON only, no blob hashing)."""
    d = _Doctor(reader, node)
    if reader.compressed and not node.reads_gzip:
        d.add(Code.ARCHIVE_COMPRESSED, f"the archive is gzip-compressed; {node.label} "
              "reads only a plain tar (containerd 2.x reads gzip): gunzip it first")
    d.read_legacy()
    if reader.layout is not Layout.LEGACY:
        d.read_index()
    d.compare_halves()
    d.check_names()
    return d


def _blockers(reader: ArchiveReader, d: _Doctor) -> list[str]:
    """Why ``repair`` cannot fix this archive (empty: it can, or there is nothing to fix)."""
    out = []
    for f in d.findings:
        image = d.images.get(str(f.extra.get("image_id", "")))
        if f.code == Code.NAME_MISSING and image is not None and image.repo_tags:
            continue  # repair restores the names manifest.json's RepoTags hold
        if not f.kind.repairable:
            what = f"{f.image}: " if f.image else ""
            if f.code == Code.NAME_MISSING:
                out.append(f"{what}the archive carries no name for the image, so there is none "
                           "to restore; save it by name (docker save NAME:TAG), not by ID "
                           "[name-missing]")
            else:
                out.append(f"{what}{f.message} [{f.code}]; save the image again")
    codes = {f.code for f in d.findings} - {str(Code.ARCHIVE_COMPRESSED)}
    if reader.layout is Layout.LEGACY and codes:
        out.append("a Docker <= 24 archive has no OCI half to rebuild; save the image again")
    if codes and not out:
        for image in d.images.values():
            if layer_plan(reader, d, image) is None:
                out.append(f"the layer blobs of image {image.image_id[:19]}… are neither stored "
                           "uncompressed under their diff IDs nor listed, one per diff ID, by "
                           "its OCI manifest; save the image again")
    return out


def layer_plan(reader: ArchiveReader, d: _Doctor, image: ImageInfo
               ) -> list[Descriptor] | None:
    """The layer descriptors a repaired manifest lists for ``image``: the uncompressed blobs
    named by its diff IDs when all are present (keeping what the OCI manifest's descriptor
    of the same blob said besides), else its OCI manifest's own descriptors when they are
    one per diff ID and present (compressed layers), else None."""
    manifest = d.oci_manifests.get(image.image_id)
    descs = manifest.layers if manifest is not None else None
    members = [reader.blob(x) for x in image.diff_ids]
    if all(m is not None for m in members):
        known = {x.digest: x for x in descs or []}
        return [Descriptor(model.MT_OCI_LAYER_TAR, x, m.size, known[x].annotations, None,
                           known[x].extra) if x in known
                else Descriptor(model.MT_OCI_LAYER_TAR, x, m.size)
                for x, m in zip(image.diff_ids, members) if m is not None]  # noqa: B905
    if descs is not None and len(descs) == len(image.diff_ids) and all(
        reader.blob(x.digest) is not None for x in descs
    ):
        return list(descs)
    return None


def _report(reader: ArchiveReader, d: _Doctor, verify: bool) -> Report:
    return Report(
        archive=reader.label,
        layout=reader.layout,
        compressed=reader.compressed,
        size=reader.size,
        verified=verify,
        images=list(d.images.values()),
        findings=d.findings,
        node=d.node,
        blockers=_blockers(reader, d),
    )


IMPORT_PREFIX = "import-<date>"


def containerd_ref(annotations: dict[str, Any]) -> str | None:
    """The record name containerd's import gives an index entry (``ctr images import``
    without ``--base-name``): ``io.containerd.image.name`` as written; else
    ``org.opencontainers.image.ref.name`` as written when it holds ``/``, ``:`` or ``@``,
    else that tag behind ctr's ``import-<date>:`` prefix (containerd pkg/archive
    ``AddRefPrefix``); None without either annotation."""
    name = annotations.get(model.ANN_IMAGE_NAME)
    if isinstance(name, str) and name:
        return name
    ref = annotations.get(model.ANN_REF_NAME)
    if isinstance(ref, str) and ref:
        return ref if any(c in ref for c in "/:@") else f"{IMPORT_PREFIX}:{ref}"
    return None


def usable(ref: str) -> bool:
    """Whether a Pod can refer to a record: fully qualified, not ctr's import prefix."""
    return has_domain(ref) and not ref.startswith("import-")


class _Doctor:
    def __init__(self, reader: ArchiveReader, node: NodeProfile) -> None:
        self.r = reader
        self.node = node
        self.oci_manifests: dict[str, OciManifest] = {}  # image id -> its OCI manifest
        self.index: OciIndex | None = None  # index.json (repair keeps its other fields)
        self.index_entries: dict[str, list[Descriptor]] = {}  # image id -> its top entries
        self.images: dict[str, ImageInfo] = {}
        self.findings: list[Finding] = []
        self.oci_layers: dict[str, list[str]] = {}  # image id -> OCI manifest layer digests
        self.index_names: dict[str, list[str]] = {}
        self.meta_blobs: set[str] = set()  # OCI manifests and indexes (repair replaces them)

    def add(self, code: str, message: str, image: ImageInfo | None = None,
            digest: str | None = None, *, diff_id: str | None = None,
            counts: tuple[int, int] | None = None, layer: MissingLayer | None = None,
            containerd_reads: bool = True) -> None:
        """Record a finding; ``containerd_reads=False`` for one in a part of the archive
        kind's import never reads (it then predicts no containerd error for it)."""
        code = str(code)
        label = (image.names[0] if image.names else image.image_id[:19]) if image else None
        text = containerd_error(code, self.node, digest=digest, diff_id=diff_id, counts=counts,
                                layer=layer) if containerd_reads else None
        severity = KINDS[code].severity
        if severity == "error" and text is None and code not in _UNMEASURED:
            severity = "warning"  # this node imports it (e.g. no-layers on containerd 2.x)
        extra = {"image_id": image.image_id} if image else {}
        finding = Finding(code, message, label, digest, extra, severity=severity,
                          predicted=text, node_known=True)
        if not any((f.code, f.image, f.digest) == (code, label, digest) for f in self.findings):
            self.findings.append(finding)

    # -- the legacy half: manifest.json ---------------------------------------------
    def read_legacy(self) -> None:
        if not self.r.has(model.MANIFEST_JSON):
            return
        items = parse_manifest_json(self.r.read_json(model.MANIFEST_JSON))
        for n, item in enumerate(items):
            where = f"manifest.json entry {n}"
            image = self.image_from_config(item.config, where)
            image.legacy_layers = item.layers
            image.repo_tags = list(item.repo_tags or [])
            image.legacy_item = item
            if self.r.layout is Layout.LEGACY:
                # without index.json containerd reads manifest.json and normalises RepoTags
                for tag in item.repo_tags or []:
                    if qualify(tag) not in image.refs:
                        image.refs.append(qualify(tag))
                image.names = [r for r in image.refs if usable(r)]
            for path in item.layers:
                if not self.r.has(path):
                    # with index.json beside it, containerd never reads manifest.json: only
                    # docker load and skopeo's docker-archive: fail on this half
                    legacy = self.r.layout is Layout.LEGACY
                    self.add("blob-missing", f"{where} lists layer {path}, which is not in the "
                             "archive" + ("" if legacy else " (docker load and skopeo will fail)"),
                             image, _path_digest(path), containerd_reads=legacy)

    def image_from_config(self, config_path: str, where: str) -> ImageInfo:
        if not self.r.has(config_path):
            raise ArchiveError(f"{where}: config {config_path} is not in the archive")
        raw = self.r.read_bytes(config_path)
        image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        if image_id in self.images:
            return self.images[image_id]
        cfg = ImageConfig.parse(self.r.read_json(config_path), f"config {config_path}")
        image = ImageInfo(image_id, self.r.resolve(config_path).name, cfg.diff_ids,
                          platform=cfg.platform)
        self.images[image_id] = image
        return image

    # -- the OCI half: index.json and manifests ----------------------------------------
    def read_index(self) -> None:
        if not self.r.has(model.INDEX_JSON):
            self.add("manifests-null", "the archive has oci-layout but no index.json")
            return
        index = self.index = OciIndex.parse(self.r.read_json(model.INDEX_JSON))
        if index.manifests is None:
            self.add("manifests-null", 'index.json says "manifests": null, so containerd '
                     "imports no image (docker save IMAGE@digest on Docker 25.0.0-25.0.2)")
            return
        if not index.manifests:
            self.add("index-empty", "index.json lists no manifests, so containerd imports nothing")
            return
        for n, entry in enumerate(index.manifests):
            self.walk(entry, f"index.json manifests[{n}]", (), nested=False)

    def walk(self, entry: Descriptor, where: str, stack: tuple[str, ...], *, nested: bool,
             names: list[str] | None = None) -> None:
        digest = entry.digest
        if digest in stack:
            raise ArchiveError(f"{where}: index cycle through {digest}")
        if len(stack) >= _MAX_DEPTH:
            raise ArchiveError(f"{where}: indexes nested deeper than {_MAX_DEPTH}")
        # containerd names the entries of index.json only, never those of a nested index
        name = None if nested else containerd_ref(entry.annotations or {})
        names = list(names or [])
        if name is not None and name not in names:
            names.append(name)
        member = self.r.blob(digest)
        if member is None:
            if nested:
                self.add("index-child-missing", f"{where} points to {digest[:19]}…, which this "
                         "archive does not carry (a platform that was never pulled)",
                         None, digest)
            else:
                self.add("blob-missing", f"{where} points to manifest {digest[:19]}…, which "
                         "is not in the archive", None, digest)
            return
        self.check_size(member.size, entry.size, where, digest)
        self.meta_blobs.add(digest)
        body = self.r.read_json(blob_path(digest))
        if not isinstance(body, dict):
            raise ArchiveError(f"{where}: blob {digest[:19]}… is not a JSON object")
        if is_index(entry.media_type or str(body.get("mediaType", "")), body):
            if not isinstance(body.get("manifests"), list):
                raise ArchiveError(f"{where}: nested index {digest[:19]}… has no manifests list")
            child = OciIndex.parse(body, f"index {digest[:19]}…")
            for n, grandchild in enumerate(child.manifests or []):
                self.walk(grandchild, f"index {digest[:19]}… manifests[{n}]", (*stack, digest),
                          nested=True, names=names)
            return
        self.read_manifest(body, digest, names, None if nested else entry)

    def read_manifest(self, body: dict[str, Any], digest: str, names: list[str],
                      entry: Descriptor | None) -> None:
        where = f"manifest {digest[:19]}…"
        config = Descriptor.parse(body.get("config"), f"{where} config")
        cmember = self.r.blob(config.digest)
        if cmember is None:
            self.add("blob-missing", f"{where}: config {config.digest[:19]}… is not in the "
                     "archive", None, config.digest)
            return
        image = self.image_from_config(blob_path(config.digest), where)
        self.check_size(cmember.size, config.size, f"{where} config", config.digest, image)
        if digest not in image.manifests:
            image.manifests.append(digest)
        if entry is not None:
            self.index_entries.setdefault(image.image_id, []).append(entry)
        for name in names:
            if name not in self.index_names.setdefault(image.image_id, []):
                self.index_names[image.image_id].append(name)
            if name not in image.refs:
                image.refs.append(name)
        image.names = [r for r in image.refs if usable(r)]
        manifest = OciManifest.parse(body, where)
        compressed = False
        for n, layer in enumerate(manifest.layers):
            compressed |= layer.media_type not in _UNCOMPRESSED
            lmember = self.r.blob(layer.digest)
            if lmember is None:
                missing = None
                if n < len(image.diff_ids):  # the layer containerd fails to extract
                    missing = MissingLayer(layer.media_type, image.diff_ids[n],
                                           _chain_id(image.diff_ids[:n + 1]))
                self.add("blob-missing", f"{where}: layer {n} ({layer.digest[:19]}…) is not in "
                         "the archive", image, layer.digest, layer=missing)
            else:
                self.check_size(lmember.size, layer.size, f"{where} layers[{n}]", layer.digest,
                                image)
        self.oci_layers[image.image_id] = [x.digest for x in manifest.layers]
        self.oci_manifests[image.image_id] = manifest
        self.compare_layers(image, self.oci_layers[image.image_id], compressed)

    def check_size(self, actual: int, declared: int, where: str, digest: str,
                   image: ImageInfo | None = None) -> None:
        if actual != declared:
            self.add("blob-size-mismatch", f"{where}: descriptor says {declared} bytes, blob "
                     f"{digest[:19]}… has {actual}", image, digest)

    def compare_layers(self, image: ImageInfo, layers: list[str], compressed: bool) -> None:
        want = image.diff_ids
        if not layers and want:
            self.add("no-layers", f"the OCI manifest lists no layers; the config has {len(want)}",
                     image)
        elif len(layers) != len(want):
            collapsed = set(layers) == set(want) and len(set(want)) < len(want)
            why = "a repeated layer was collapsed" if collapsed else "counts differ"
            self.add("layer-count-mismatch", f"the OCI manifest lists {len(layers)} layers, "
                     f"rootfs.diff_ids {len(want)} ({why})", image,
                     counts=(len(layers), len(want)))
        elif not compressed and layers != want:
            # same length here (checked above); zip(strict=) is 3.10+, the download runs on 3.9
            first = next(i for i, (a, b) in enumerate(zip(layers, want)) if a != b)  # noqa: B905
            code = "layers-out-of-order" if sorted(layers) == sorted(want) else "layers-differ"
            what = "in a different order than" if code == "layers-out-of-order" else "other than"
            self.add(code, f"the OCI manifest lists layers {what} rootfs.diff_ids (first "
                     f"difference at layer {first + 1} of {len(want)})", image, layers[first],
                     diff_id=want[first])

    # -- both halves -------------------------------------------------------------------
    def compare_halves(self) -> None:
        legacy_layout = self.r.layout is Layout.LEGACY
        for image in self.images.values():
            paths = image.legacy_layers
            if paths is None:
                if self.r.has(model.MANIFEST_JSON):
                    self.add("halves-disagree", "index.json has this image but manifest.json "
                             "does not (docker load would not see it)", image)
                continue
            if not legacy_layout and not image.manifests and not self._index_broken():
                self.add("halves-disagree", "manifest.json has this image but index.json does "
                         "not (containerd will not import it)", image)
            if len(paths) != len(image.diff_ids):
                code = "layer-count-mismatch" if legacy_layout else "halves-disagree"
                self.add(code, f"manifest.json lists {len(paths)} layers, rootfs.diff_ids "
                         f"{len(image.diff_ids)}", image)
                continue
            digests = [_path_digest(p) for p in paths]
            # manifest.json may list the layer blobs as stored: their diff IDs (uncompressed,
            # Docker 25 graphdriver) or the compressed blobs of the OCI manifest (Docker 29's
            # containerd image store, ctr export); docker load and skopeo read either
            stored = self.oci_layers.get(image.image_id)
            if all(digests) and digests != image.diff_ids and digests != stored:
                self.add("halves-disagree", "manifest.json lists layers other than "
                         "rootfs.diff_ids and other than the OCI manifest's (docker load and "
                         "skopeo will fail)", image)

    def _index_broken(self) -> bool:
        return any(f.code in ("manifests-null", "index-empty", "blob-missing",
                              "index-child-missing") for f in self.findings)

    def check_names(self) -> None:
        for image in self.images.values():
            odd = [r for r in image.refs if not usable(r) and not r.startswith("import-")]
            for name in odd:
                self.add("name-unqualified", f"containerd will record it as {name!r}, not "
                         f"{qualify(name)!r}; a Pod's image reference will not match", image)
            if not image.names and not odd and not (image.repo_tags and self._index_broken()):
                # (with a broken index containerd imports nothing at all; repair names the
                # image from manifest.json's RepoTags)
                self.add("name-missing", "the image has no usable name in the archive; "
                         "containerd records it only as import-<date>@sha256:… (or "
                         "import-<date>:TAG) and no Pod can refer to it", image)

    def verify(self, progress: Progress | None) -> None:
        blobs = [n for n, m in self.r.members.items()
                 if n.startswith(model.BLOBS_DIR) and m.kind == "file"]
        legacy: list[tuple[ImageInfo, int, str]] = []
        if self.r.layout is Layout.LEGACY:
            for image in self.images.values():
                for i, p in enumerate(image.legacy_layers or []):
                    if self.r.has(p) and i < len(image.diff_ids):
                        legacy.append((image, i, p))
        names = blobs + [p for _, _, p in legacy]
        got = self.r.hash_members(names, progress=progress)
        for name in blobs:
            expect = "sha256:" + name[len(model.BLOBS_DIR):]
            actual = got[self.r.resolve(name).name]
            if actual != expect:
                self.add("blob-digest-mismatch", f"blob {name} hashes to {actual[:19]}…, not "
                         "its name (corrupt or altered)", None, expect)
        for image, i, p in legacy:
            actual = got[self.r.resolve(p).name]
            if actual != image.diff_ids[i]:
                self.add("blob-digest-mismatch", f"{p} hashes to {actual[:19]}…, but "
                         f"rootfs.diff_ids[{i}] is {image.diff_ids[i][:19]}…", image,
                         image.diff_ids[i])


def _chain_id(diff_ids: list[str]) -> str:
    """The OCI chain ID of a layer stack (the snapshot containerd extracts the top layer to)."""
    chain = diff_ids[0]
    for diff_id in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
    return chain


def _path_digest(path: str) -> str | None:
    if path.startswith(model.BLOBS_DIR):
        d = "sha256:" + path[len(model.BLOBS_DIR):]
        try:
            return parse_digest(d, path)
        except ArchiveError:
            return None
    return None
