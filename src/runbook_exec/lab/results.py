"""What a node answers, as values: parsed ``ctr`` output, import outcomes, the kubelet's view.

Parsing is kept apart from running commands so it is tested on real captured output
(see ``tests/lab/samples/``). ``ctr`` prints tables through Go's tabwriter: every row is
aligned to the header, and some cells hold spaces (``20.8 KiB``, ``complete (3/3)``), so
columns are cut at the header's column starts rather than split on blanks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import LabError


@dataclass(frozen=True)
class ImportResult:
    """The outcome of kind's import command: exit status and the exact combined output."""

    returncode: int
    output: str
    command: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def error(self) -> str:
        """The final ``ctr: ...`` line (what kind shows the user), or "" on success."""
        for line in reversed(self.output.splitlines()):
            # ctr's stdout progress ("unpacking ...") has no newline before a failure, so
            # the error can start mid-line in the combined output.
            at = line.find("ctr: ")
            if at == 0 or (at > 0 and line[:at].endswith("...")):
                return line[at:]
        return "" if self.ok else (self.output.strip().splitlines() or [""])[-1]

    def __str__(self) -> str:
        return f"$ {self.command}\n{self.output.rstrip()}\n(exit status {self.returncode})"


# containerd >= 2.2's ctr warns on every start when the host runs cgroup v1, as this lab's
# machines do (kind nodes on a cgroup v2 host never print it). It says nothing about the
# image, so it is left out of what a runbook shows and parses.
_CGROUP_V1_WARNING = re.compile(
    r'^time="[^"]*" level=warning msg="DEPRECATION: The support for cgroup v1 is deprecated'
    r"[^\n]*\n?",
    re.M,
)


def strip_host_noise(output: str) -> str:
    """``output`` without the host's cgroup v1 deprecation warning (see above)."""
    return _CGROUP_V1_WARNING.sub("", output)


def parse_import(returncode: int, output: str, *, command: str) -> ImportResult:
    return ImportResult(returncode, output, command)


@dataclass(frozen=True)
class ImageRecord:
    """One row of ``ctr images ls``."""

    ref: str
    type: str
    digest: str
    size: str
    platforms: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckRecord:
    """One row of ``ctr images check``: is the content there, is it unpacked."""

    ref: str
    type: str
    digest: str
    status: str
    size: str
    unpacked: bool

    @property
    def complete(self) -> bool:
        return self.status.startswith("complete")


def _table(text: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = []
    for name in columns:
        match = re.search(rf"(?:^|\s){re.escape(name)}(?:\s|$)", header)
        if match is None:
            raise LabError(f"unexpected ctr output: no {name} column in header {header!r}")
        starts.append(match.start() + (1 if match.group().startswith(" ") else 0))
    rows = []
    for line in lines[1:]:
        cells = {}
        for i, name in enumerate(columns):
            end = starts[i + 1] if i + 1 < len(starts) else None
            cells[name] = line[starts[i] : end].strip()
        rows.append(cells)
    return rows


def _labels(cell: str) -> dict[str, str]:
    if cell in ("", "-"):
        return {}
    return dict(item.partition("=")[::2] for item in cell.split(","))


def parse_images(text: str) -> list[ImageRecord]:
    """Parse ``ctr images ls`` (columns REF TYPE DIGEST SIZE PLATFORMS LABELS)."""
    rows = _table(text, ("REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"))
    return [
        ImageRecord(
            ref=r["REF"],
            type=r["TYPE"],
            digest=r["DIGEST"],
            size=r["SIZE"],
            platforms=tuple(p for p in r["PLATFORMS"].split(",") if p and p != "-"),
            labels=_labels(r["LABELS"]),
        )
        for r in rows
    ]


def parse_check(text: str) -> list[CheckRecord]:
    """Parse ``ctr images check`` (columns REF TYPE DIGEST STATUS SIZE UNPACKED)."""
    rows = _table(text, ("REF", "TYPE", "DIGEST", "STATUS", "SIZE", "UNPACKED"))
    return [
        CheckRecord(
            ref=r["REF"],
            type=r["TYPE"],
            digest=r["DIGEST"],
            status=r["STATUS"],
            size=r["SIZE"],
            unpacked=r["UNPACKED"] == "true",
        )
        for r in rows
    ]


@dataclass(frozen=True)
class KubeletView:
    """What the kubelet learns about ``ref`` from the runtime: present or not, and as what."""

    ref: str
    present: bool
    image_id: str = ""
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    size: int = 0
    source: str = ""

    def __str__(self) -> str:
        if not self.present:
            return f"{self.ref}: not present (the kubelet would pull it) [{self.source}]"
        tags = ", ".join(self.repo_tags) or "no tags"
        return f"{self.ref}: present as {self.image_id} ({tags}) [{self.source}]"


def parse_crictl_inspecti(ref: str, returncode: int, output: str) -> KubeletView:
    """Parse ``crictl inspecti REF`` (JSON with a ``status`` object, or "no such image").

    crictl prints the CRI ``ImageStatusResponse`` as JSON (``status.id``, ``repoTags``,
    ``repoDigests``, ``size`` as a string); when the runtime returns no image it fails with
    ``no such image "REF" present``.
    """
    source = "crictl inspecti"
    if returncode != 0:
        if "no such image" in output:
            return KubeletView(ref, False, source=source)
        raise LabError(f"crictl inspecti {ref} failed: {output.strip()}")
    try:
        status = json.loads(output)["status"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(f"unexpected crictl inspecti output for {ref}: {output[:200]!r}") from exc
    return KubeletView(
        ref,
        True,
        status.get("id", ""),
        tuple(status.get("repoTags") or ()),
        tuple(status.get("repoDigests") or ()),
        int(status.get("size") or 0),
        source,
    )


def is_unpacked(records: list[CheckRecord], ref: str) -> bool:
    """Whether ``ref`` has a record that ``ctr images check`` reports unpacked."""
    return any(r.ref == ref and r.unpacked for r in records)
