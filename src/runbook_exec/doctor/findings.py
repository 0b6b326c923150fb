"""The catalogue of findings: stable codes, what containerd will say, who writes it, the fix.

A code never changes meaning once published (the handbook and scripts match on it). The
``containerd_error`` texts are what kind's import command prints on containerd 1.6/1.7
(kind ≤ v0.26 nodes), recorded in the handbook's FACTS; ``{digest}`` is filled in per case.
``None`` means containerd imports the archive but something downstream breaks (the
message says what), or the exact text has not been measured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# The published handbook; English pages live under /en/. Override for a local build.
HANDBOOK_URL = os.environ.get("RUNBOOK_EXEC_HANDBOOK_URL", "https://kind-image-load.example.org/")

MISMATCHED = "ctr: mismatched image rootfs and manifest layers"
WRONG_DIFF_ID = 'ctr: wrong diff id calculated on extraction "{digest}"'
NOT_FOUND = "ctr: content digest {digest}: not found"
FILTERED_OUT = "ctr: image might be filtered out"

BETAS = ("25.0.0-beta.1", "25.0.0-beta.2", "25.0.0-beta.3", "25.0.0-rc.1")
GA = ("25.0.0",)
DIGEST_SAVE = ("25.0.0", "25.0.1", "25.0.2")
CONTAINERD_STORE = ("29.x with the containerd image store", "Docker Desktop >= 4.34")


@dataclass(frozen=True)
class Kind:
    """What one code means, independent of the archive it is found in."""

    severity: str  # "error": the import fails; "warning": it imports, then something breaks
    containerd_error: str | None
    docker_releases: tuple[str, ...]
    page: str
    fix: str
    repairable: bool


KINDS: dict[str, Kind] = {
    "no-layers": Kind("error", MISMATCHED, BETAS, "errors/mismatched-rootfs", "fixes/repair", True),
    "layer-count-mismatch": Kind(
        "error", MISMATCHED, GA, "errors/mismatched-rootfs", "fixes/repair", True
    ),
    "layers-out-of-order": Kind(
        "error", WRONG_DIFF_ID, GA, "errors/wrong-diff-id", "fixes/repair", True
    ),
    "layers-differ": Kind("error", WRONG_DIFF_ID, (), "errors/wrong-diff-id", "fixes/repair", True),
    "manifests-null": Kind(
        "error", FILTERED_OUT, DIGEST_SAVE, "errors/image-filtered-out", "fixes/repair", True
    ),
    "index-empty": Kind(
        "error", FILTERED_OUT, (), "errors/image-filtered-out", "fixes/repair", True
    ),
    "index-child-missing": Kind(
        "error", NOT_FOUND, CONTAINERD_STORE, "errors/content-digest-not-found",
        "fixes/save-platform", True,
    ),
    "blob-missing": Kind(
        "error", NOT_FOUND, (), "errors/content-digest-not-found", "doctor", False
    ),
    "blob-size-mismatch": Kind("error", None, (), "fixes/repair", "doctor", False),
    "blob-digest-mismatch": Kind("error", None, (), "fixes/repair", "doctor", False),
    "halves-disagree": Kind("warning", None, (), "fixes/repair", "fixes/repair", True),
    "name-unqualified": Kind("warning", None, (), "fixes/repair", "fixes/repair", True),
    "name-missing": Kind("warning", None, (), "fixes/repair", "fixes/upgrade-docker", False),
}


def page_url(slug: str) -> str:
    """The English handbook page for a slug (the Chinese page drops ``en/``)."""
    return f"{HANDBOOK_URL.rstrip('/')}/en/{slug}/"


@dataclass(frozen=True)
class Finding:
    """One problem in one archive. ``image`` is the image's first name or its ID."""

    code: str
    message: str
    image: str | None = None
    digest: str | None = None  # fills {digest} in the predicted containerd error
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        return KINDS[self.code]

    @property
    def containerd_error(self) -> str | None:
        text = self.kind.containerd_error
        if text is None:
            return None
        return text.replace("{digest}", self.digest or "sha256:…")

    def to_json(self) -> dict[str, Any]:
        k = self.kind
        return {
            "code": self.code,
            "severity": k.severity,
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
