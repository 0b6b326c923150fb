"""The doctor's predictions against the real containerd running kind's import command,
and safe load (stale record removed, repaired archive imported and unpacked)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dsave
import pytest

from runbook_exec.doctor.diagnose import diagnose
from runbook_exec.doctor.load import safe_load
from runbook_exec.doctor.repair import repair
from runbook_exec.lab import Node

pytestmark = pytest.mark.daemons

UNIQ = dsave.make_image(5, seed="node")
DUP = dsave.make_image(4, repeat=(0, 2), seed="dup")

BROKEN = {
    "rotated": dsave.docker25(UNIQ, order=[3, 4, 0, 1, 2]),
    "collapsed": dsave.docker25(DUP, collapse=True),
    "no-layers": dsave.docker25(DUP, no_layers=True),
    "manifests-null": dsave.docker25(DUP, manifests_null=True),
}


@pytest.fixture
def node() -> Iterator[Node]:
    with Node() as n:
        yield n


@pytest.mark.parametrize("case", sorted(BROKEN), ids=sorted(BROKEN))
def test_node_error_matches_prediction_and_repair_imports(case: str, node: Node,
                                                          tmp_path: Path) -> None:
    src = dsave.write_tar(tmp_path / "in.tar", BROKEN[case])
    (finding,) = diagnose(str(src), node=node.kind).findings
    result = node.load(src)
    assert not result.ok
    assert result.error == finding.containerd_error
    fixed = repair(src, tmp_path / "out.tar").output
    assert fixed is not None
    for record in node.check():
        node.remove(record.ref)
    assert node.load(fixed).ok
    assert all(r.unpacked for r in node.check() if r.ref.startswith("docker.io/"))


class _SavedEngine:
    """Stands in for ``docker save`` with an archive shaped like Docker 25.0.0's."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive

    def save(self, refs: list[str], path: Path) -> Path:
        shutil.copyfile(self.archive, path)
        return path


def test_safe_load_removes_stale_record_then_loads(node: Node, tmp_path: Path) -> None:
    broken = dsave.write_tar(tmp_path / "broken.tar", BROKEN["collapsed"])
    assert not node.load(broken).ok  # leaves the stale record behind
    assert any(not r.unpacked for r in node.check())
    said: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    (outcome,) = safe_load(["demo:v1"], engine=_SavedEngine(broken), nodes=[("node", node)],
                           workdir=work, say=said.append)
    assert "docker.io/library/demo:v1" in outcome.removed
    # all three records of the failed import go: the name, import-<date>@sha256:… and the
    # CRI plugin's sha256:<image id>
    assert any(r.startswith("import-") for r in outcome.removed), outcome.removed
    assert any(r.startswith("sha256:") for r in outcome.removed), outcome.removed
    assert any("stale" in line for line in said)
    assert node.kubelet_view("docker.io/library/demo:v1").present
    assert all(r.unpacked for r in node.check() if r.ref == "docker.io/library/demo:v1")
