"""The catalogue of findings: stable codes, what containerd will say, who writes it, the fix.

A code never changes meaning once published (the handbook and scripts match on it). The
``containerd_error`` texts of :data:`KINDS` are what kind's import command prints on
containerd 1.7 (kind <= v0.26 nodes); :func:`containerd_error` gives the text for any node
(containerd 2.x wraps or rewords some). ``None`` means the node imports the archive but
something downstream breaks (the message says what), or the text has not been measured.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .nodes import NodeProfile

# Where the handbook is published comes from one place: mkdocs.yml's ``site_url`` (read
# from the checkout, where it names the variable HANDBOOK_SITE_URL that a publisher sets, or
# baked into the one-file download when it is built), overridable with
# $RUNBOOK_EXEC_HANDBOOK_URL. Unset, or a placeholder domain (example.org/.com/.net, RFC
# 2606), is never printed: links are then page paths inside the handbook (``en/fixes/repair/``).
_MKDOCS = Path(__file__).resolve().parents[3] / "mkdocs.yml"
_BAKED = Path(__file__).with_name("site_url.txt")
_PLACEHOLDER = re.compile(r"^https?://([^/]*\.)?example\.(org|com|net)(/|$)|^https?://[^/]*"
                          r"\.(example|invalid|test)(/|$)", re.I)
_ENV_TAG = re.compile(r"^!ENV\s+(?:\[\s*(?P<names>[^\]]*)\]|(?P<name>\w+))\s*$")


def _site_url_of(mkdocs_yml: str, environ: Mapping[str, str]) -> str:
    """The ``site_url`` a build of ``mkdocs_yml`` gets in ``environ``: the literal value, or,
    for MkDocs' ``!ENV NAME`` / ``!ENV [NAME, ..., default]``, the first variable set (else
    the default); ``""`` when none."""
    m = re.search(r"^site_url:[ \t]*(.*?)[ \t]*(?:#.*)?$", mkdocs_yml, re.M)
    if m is None:
        return ""
    value = m.group(1)
    tag = _ENV_TAG.match(value)
    if tag is None:
        return value.strip("'\"")
    if tag.group("name"):
        return environ.get(tag.group("name"), "")
    items = [item.strip().strip("'\"") for item in tag.group("names").split(",") if item.strip()]
    for name in items[:-1] if len(items) > 1 else items:
        if environ.get(name):
            return environ[name]
    return items[-1] if len(items) > 1 and items[-1] not in ("null", "~") else ""


def _configured_url() -> str:
    env = os.environ.get("RUNBOOK_EXEC_HANDBOOK_URL")
    if env is not None:
        return env.strip()
    baked = _baked()
    if baked is not None:
        return baked
    try:
        text = _MKDOCS.read_text(encoding="utf-8")
    except OSError:
        return ""
    return _site_url_of(text, os.environ)


def _baked() -> str | None:
    """``site_url.txt`` next to this module (written into the one-file download), read
    through the package loader so it also works from inside the zip."""
    import pkgutil

    try:
        data = pkgutil.get_data(__package__ or "runbook_exec.doctor", _BAKED.name)
    except OSError:
        return None
    return None if data is None else data.decode("utf-8").strip()


def handbook_url() -> str | None:
    """The handbook's configured address, or None when none (or a placeholder) is set."""
    url = _configured_url()
    if not url or _PLACEHOLDER.match(url):
        return None
    return url.rstrip("/") + "/"

MISMATCHED = "ctr: mismatched image rootfs and manifest layers"
WRONG_DIFF_ID = 'ctr: wrong diff id calculated on extraction "{digest}"'
NOT_FOUND = "ctr: content digest {digest}: not found"
FILTERED_OUT = "ctr: image might be filtered out"
INVALID_TAR = "ctr: archive/tar: invalid tar header"

BETAS = ("25.0.0-beta.1", "25.0.0-beta.2", "25.0.0-beta.3", "25.0.0-rc.1")
GA = ("25.0.0",)
DIGEST_SAVE = ("25.0.0", "25.0.1", "25.0.2")
# the store decides, not the release: Docker Desktop >= 4.34.0 (fresh installs), Colima >= 0.8.3
# and Rancher Desktop >= 1.21 (moby) turn it on by default; docs/which-docker.md has the sources
CONTAINERD_STORE = ("29.x with the containerd image store",
                    "Docker Desktop, Colima, OrbStack or Rancher Desktop with that store")


class Code(str, Enum):  # noqa: UP042 (StrEnum is 3.11; the download runs on 3.9)
    """Every finding code. SCHEMA.md and both doctor pages list exactly these (a test checks)."""

    ARCHIVE_COMPRESSED = "archive-compressed"
    NO_LAYERS = "no-layers"
    LAYER_COUNT_MISMATCH = "layer-count-mismatch"
    LAYERS_OUT_OF_ORDER = "layers-out-of-order"
    LAYERS_DIFFER = "layers-differ"
    MANIFESTS_NULL = "manifests-null"
    INDEX_EMPTY = "index-empty"
    INDEX_CHILD_MISSING = "index-child-missing"
    BLOB_MISSING = "blob-missing"
    BLOB_SIZE_MISMATCH = "blob-size-mismatch"
    BLOB_DIGEST_MISMATCH = "blob-digest-mismatch"
    HALVES_DISAGREE = "halves-disagree"
    NAME_UNQUALIFIED = "name-unqualified"
    NAME_MISSING = "name-missing"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Kind:
    """What one code means, independent of the archive it is found in.

    ``containerd_error`` is the text on containerd 1.7 (kind <= v0.26 nodes); the text a
    given node prints comes from :func:`containerd_error`.
    """

    severity: str  # "error": the import fails; "warning": it imports, then something breaks
    containerd_error: str | None
    docker_releases: tuple[str, ...]
    page: str
    fix: str
    repairable: bool


KINDS: dict[str, Kind] = {
    Code.ARCHIVE_COMPRESSED.value: Kind(
        "error", INVALID_TAR, (), "doctor", "fixes/repair", True
    ),
    Code.NO_LAYERS.value: Kind(
        "error", MISMATCHED, BETAS, "errors/mismatched-rootfs", "fixes/repair", True
    ),
    Code.LAYER_COUNT_MISMATCH.value: Kind(
        "error", MISMATCHED, GA, "errors/mismatched-rootfs", "fixes/repair", True
    ),
    Code.LAYERS_OUT_OF_ORDER.value: Kind(
        "error", WRONG_DIFF_ID, GA, "errors/wrong-diff-id", "fixes/repair", True
    ),
    Code.LAYERS_DIFFER.value: Kind(
        "error", WRONG_DIFF_ID, (), "errors/wrong-diff-id", "fixes/repair", True
    ),
    Code.MANIFESTS_NULL.value: Kind(
        "error", FILTERED_OUT, DIGEST_SAVE, "errors/image-filtered-out", "fixes/repair", True
    ),
    Code.INDEX_EMPTY.value: Kind(
        "error", FILTERED_OUT, (), "errors/image-filtered-out", "fixes/repair", True
    ),
    Code.INDEX_CHILD_MISSING.value: Kind(
        "error", NOT_FOUND, CONTAINERD_STORE, "errors/content-digest-not-found",
        "fixes/save-platform", True,
    ),
    Code.BLOB_MISSING.value: Kind(
        "error", NOT_FOUND, (), "errors/content-digest-not-found", "doctor", False
    ),
    Code.BLOB_SIZE_MISMATCH.value: Kind("error", None, (), "fixes/repair", "doctor", False),
    Code.BLOB_DIGEST_MISMATCH.value: Kind("error", None, (), "fixes/repair", "doctor", False),
    Code.HALVES_DISAGREE.value: Kind(
        "warning", None, (), "fixes/repair", "fixes/repair", True
    ),
    Code.NAME_UNQUALIFIED.value: Kind(
        "warning", None, (), "doctor", "fixes/repair", True
    ),
    Code.NAME_MISSING.value: Kind("warning", None, (), "doctor", "doctor", False),
}


@dataclass(frozen=True)
class MissingLayer:
    """A layer the OCI manifest lists whose blob the archive lacks: containerd fails only
    when it extracts that layer, and names it (its DiffID from the config, its media type, the
    chain ID of the snapshot it was extracting into)."""

    media_type: str
    diff_id: str
    chain_id: str


def _missing_blob(node: NodeProfile | None, d: str, layer: MissingLayer | None) -> str:
    """What ``ctr`` prints for a blob the archive lacks. Measured with kind's command on
    containerd 1.7.1, 1.7.24, 2.0.2, 2.1.4 and 2.3.4: a missing manifest or config reads
    ``content digest …: not found``; a missing layer fails at extraction, which 1.7 and 2.0
    name by DiffID and 2.1.4 and 2.3.4 by media type, digest and snapshot key (a unique part
    the doctor cannot know is written ``…``; the snapshotter is kind's overlayfs)."""
    text = NOT_FOUND.removeprefix("ctr: ").replace("{digest}", d)  # the catalogue's text
    version = node.version if node is not None else (1, 7, 0)
    if layer is not None and version >= (2, 1, 0):
        text = (f'failed to extract layer ({layer.media_type} {d}) to overlayfs as "extract-… '
                f'{layer.chain_id}": failed to get reader from content store: {text}')
    elif layer is not None:
        text = (f"failed to extract layer {layer.diff_id}: failed to get reader from content "
                f"store: {text}")
    return node.ctr_error(text, status="NotFound") if node is not None else f"ctr: {text}"


def containerd_error(code: str, node: NodeProfile | None, *, digest: str | None = None,
                     diff_id: str | None = None, counts: tuple[int, int] | None = None,
                     layer: MissingLayer | None = None) -> str | None:
    """The last line kind's import command prints on ``node`` for a finding, or None when
    that node imports the archive (or the text was not measured there).

    Measured on containerd 1.7.1, 1.7.24, 2.0.2, 2.1.4 and 2.3.4 (see ``nodes``); where a
    release between two measured ones changed a text, the boundary is the release the source
    history gives (FACTS: 2.1.1 still prefixes ``rpc error``; 2.2.0 words ``wrong diff id``
    the new way)."""
    if code in (Code.INDEX_CHILD_MISSING, Code.BLOB_MISSING):
        return _missing_blob(node, digest or "sha256:…", layer)
    if node is None or not node.reads_gzip:  # containerd 1.x: the texts of KINDS
        text = KINDS[code].containerd_error
        return None if text is None else text.replace("{digest}", digest or "sha256:…")
    d = digest or "sha256:…"
    want = diff_id or "sha256:…"
    if code == Code.ARCHIVE_COMPRESSED:
        return None
    if code == Code.NO_LAYERS:
        return None  # containerd 2.x imports a manifest without layers (and never unpacks it)
    if code == Code.LAYER_COUNT_MISMATCH:
        layers, diff_ids = counts or (0, 0)
        return node.ctr_error(f"number of layers and diffIDs don't match: {layers} != "
                              f"{diff_ids}")
    if code in (Code.LAYERS_OUT_OF_ORDER, Code.LAYERS_DIFFER):
        if node.version >= (2, 2, 0):
            return node.ctr_error(f'wrong diff id "{d}" calculated on extraction "{want}", '
                                  f'desc "{d}"')
        return node.ctr_error(f'wrong diff id calculated on extraction "{want}"')
    if code in (Code.MANIFESTS_NULL, Code.INDEX_EMPTY):
        return node.ctr_error("image might be filtered out")
    return None


def page_url(slug: str) -> str:
    """The English handbook page for a slug (the Chinese page drops ``en/``); a path inside
    the handbook (``en/fixes/repair/``) when no real ``site_url`` is configured."""
    base = handbook_url()
    return f"{base}en/{slug}/" if base else f"en/{slug}/"


@dataclass(frozen=True)
class Finding:
    """One problem in one archive. ``image`` is the image's first name or its ID.

    ``severity`` and ``containerd_error`` are for the node the diagnosis predicted for
    (an empty severity means the catalogue's)."""

    code: str
    message: str
    image: str | None = None
    digest: str | None = None  # fills {digest} in the catalogue's containerd error
    extra: dict[str, Any] = field(default_factory=dict)
    severity: str = ""
    predicted: str | None = None  # what the node's ctr prints; see containerd_error()
    node_known: bool = False  # predicted was computed for a node

    @property
    def kind(self) -> Kind:
        return KINDS[self.code]

    @property
    def containerd_error(self) -> str | None:
        if self.node_known:
            return self.predicted
        text = self.kind.containerd_error
        if text is None:
            return None
        return text.replace("{digest}", self.digest or "sha256:…")

    @property
    def level(self) -> str:
        return self.severity or self.kind.severity

    def to_json(self) -> dict[str, Any]:
        k = self.kind
        return {
            "code": self.code,
            "severity": self.level,
            "message": self.message,
            "image": self.image,
            "containerd_error": self.containerd_error,
            "docker_releases": list(k.docker_releases),
            "page": k.page,
            "page_url": page_url(k.page),
            "fix": k.fix,
            "fix_url": page_url(k.fix),
            "repairable": k.repairable,
        }
