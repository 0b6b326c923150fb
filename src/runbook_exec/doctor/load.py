"""Safe ``kind load``: save → diagnose → repair if needed → import on each node → confirm.

Works with any engine that has ``save(refs, path)`` and any node with kind's import
(``load``), ``check``, ``remove`` — the lab's sandbox :class:`~runbook_exec.lab.Node` and
:class:`~runbook_exec.lab.LiveNode` alike. A node that holds a stale record for the image
(created by an import whose unpack failed) gets it removed first, and the user is told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..archive.refs import qualify
from ..errors import LoadError, RepairError
from .diagnose import diagnose
from .repair import repair

Say = Callable[[str], None]


@dataclass(frozen=True)
class NodeOutcome:
    node: str
    removed: tuple[str, ...]
    command: str


def safe_load(
    refs: Sequence[str],
    *,
    engine: Any,
    nodes: Sequence[tuple[str, Any]],
    workdir: Path,
    say: Say = print,
) -> list[NodeOutcome]:
    """Load ``refs`` into every ``(name, node)``; raise :class:`LoadError` on any failure."""
    archive = engine.save(list(refs), workdir / "images.tar")
    report = diagnose(str(archive))
    if report.healthy:
        say(f"diagnose: {archive.name} is healthy ({report.layout})")
    else:
        for f in report.findings:
            say(f"diagnose: [{f.code}] {f.message}")
        fixed = workdir / "images.repaired.tar"
        result = repair(archive, fixed)
        if result.output is None:
            raise RepairError("the archive has problems repair cannot fix; see the findings")
        say(f"repair: wrote {fixed.name} (fixed: {', '.join(result.fixed) or 'nothing'})")
        archive = fixed
    names = {qualify(r) for r in refs}
    outcomes = []
    for label, node in nodes:
        removed = remove_stale(node, names)
        if removed:
            say(f"{label}: removed stale record(s) left by an earlier failed import: "
                f"{' '.join(removed)}")
        result = node.load(archive)
        if not result.ok:
            raise LoadError(f"{label}: import failed: {result.error}")
        not_unpacked = [r.ref for r in node.check() if r.ref in names and not r.unpacked]
        if not_unpacked:
            raise LoadError(f"{label}: imported but not unpacked: {' '.join(not_unpacked)}")
        say(f"{label}: loaded and unpacked {' '.join(sorted(names))}")
        outcomes.append(NodeOutcome(label, tuple(removed), result.command))
    return outcomes


def remove_stale(node: Any, names: set[str]) -> list[str]:
    """Remove records of ``names`` that are not unpacked, with their twins on the same
    manifest: ``import-<date>@sha256:…`` (from ``--digests``) and ``sha256:<image id>``
    (added by the CRI plugin when it saw the record)."""
    records = node.check()
    stale = {r.digest for r in records if r.ref in names and not r.unpacked}
    twins = ("import-", "sha256:")
    refs = [r.ref for r in records
            if r.digest in stale and (r.ref in names or r.ref.startswith(twins))]
    if refs:
        node.remove(*refs)
    return refs
