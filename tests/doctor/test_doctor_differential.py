"""The doctor's contract: on archives from every real producer here, imported with kind's
exact command into the real containerd of several kind releases, the doctor's verdict,
predicted error text, record names and repairability agree with what happened.

The archives are made once per session (``realcorpus``, ~1 min); every import runs in a
fresh node, so no content or stale record carries over from one archive to the next.
The hand-made corpus (``dsave``) stays for hostile input; its six broken shapes are
checked here too, as containerd 2.x words some errors differently.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import realcorpus

from runbook_exec.doctor.diagnose import Report, diagnose
from runbook_exec.doctor.nodes import KIND_CONTAINERD
from runbook_exec.doctor.repair import repair
from runbook_exec.errors import RepairError
from runbook_exec.lab import Node

pytestmark = pytest.mark.daemons

NODES = ("v0.20.0", "v0.27.0", "v0.33.0")  # containerd 1.7.1, 2.0.2, 2.3.4
_IMPORT_DATE = re.compile(r"^import-\d{4}-\d{2}-\d{2}")

def test_corpus_covers_every_real_producer(corpus: list[realcorpus.Case]) -> None:
    real = [c for c in corpus if not c.name.startswith("hand-")]
    assert len(real) >= 30, [c.name for c in real]
    producers = {c.name.split("-")[0] for c in real}
    assert {"d24", "d250", "d253", "d29", "d29g", "skopeo", "podman", "buildah", "umoci",
            "ctr"} <= producers
    assert any(c.path.suffix == ".gz" for c in real)


def _records(node: Node) -> tuple[set[str], bool]:
    """The names the node recorded (digest-only and CRI ``sha256:`` records left out;
    ctr's ``import-<date>`` prefix written as the doctor writes it) and whether all of
    them are unpacked."""
    names, unpacked = set(), True
    for r in node.check():
        if r.ref.startswith("sha256:") or "@" in r.ref:
            continue
        names.add(_IMPORT_DATE.sub("import-<date>", r.ref))
        unpacked &= r.unpacked
    return names, unpacked


def _says(predicted: str | None, actual: str | None) -> bool:
    """Whether containerd printed what the doctor predicted. Only the unique part of a
    snapshot key (``extract-<time>-<random>``, made up each run) may differ: the doctor
    writes it ``extract-…``; every other ``…`` must match as printed."""
    if predicted is None or actual is None:
        return predicted == actual
    pattern = r"extract-\d+-[^ ]+".join(re.escape(part) for part in predicted.split("extract-…"))
    return re.fullmatch(pattern, actual) is not None


def _disagreements(report: Report, kind: str, path: Path) -> Iterator[str]:
    with Node(kind=kind) as node:
        result = node.load(path)
        names, unpacked = _records(node)
    if report.import_fails != (not result.ok):
        said = "fails" if report.import_fails else "imports"
        yield f"doctor: import {said}; containerd: {result.error or 'imported'}"
        return
    if not result.ok:
        if not any(_says(p, result.error) for p in report.possible_errors):
            yield f"error text: doctor {report.possible_errors!r}, containerd {result.error!r}"
        return
    predicted = {ref for image in report.images for ref in image.refs}
    if names != predicted:
        yield f"names: doctor {sorted(predicted)}, containerd {sorted(names)}"
    no_layers = any(f.code == "no-layers" for f in report.findings)
    if unpacked == no_layers:
        yield f"unpacked: containerd {unpacked}, doctor expected {not no_layers}"


def _repair_disagreements(report: Report, kind: str, path: Path, tmp: Path) -> Iterator[str]:
    out = tmp / f"repaired-{path.name}"
    try:
        result = repair(path, out, node=kind)
    except RepairError as exc:
        if report.repairable:
            yield f"repairable per diagnose, but repair refused: {exc}"
        return
    if not report.findings:
        if result.output is not None:
            yield "healthy, but repair wrote an output"
        return
    if not report.repairable:
        yield "not repairable per diagnose, but repair wrote an output"
        return
    assert result.after is not None
    gz_node = KIND_CONTAINERD[kind] >= "2"
    if path.suffix == ".gz" and gz_node and out.read_bytes()[:2] != b"\x1f\x8b":
        yield "gzip input for a gzip-reading node, but the repair is not compressed"
    with Node(kind=kind) as node:
        loaded = node.load(out)
        names, unpacked = _records(node)
    if not loaded.ok or not unpacked:
        yield f"repaired archive does not import: {loaded.error}"
    usable = {n for image in result.after.images for n in image.names}
    if not usable or not usable <= names:
        yield f"repaired names: doctor {sorted(usable)}, containerd {sorted(names)}"
    out.unlink()


@pytest.mark.parametrize("kind", NODES)
def test_doctor_agrees_with_containerd(kind: str, corpus: list[realcorpus.Case],
                                       tmp_path: Path) -> None:
    problems = []
    for case in corpus:
        report = diagnose(str(case.path), node=kind)
        for what in _disagreements(report, kind, case.path):
            problems.append(f"{case.name} ({case.producer}): {what}")
        for what in _repair_disagreements(report, kind, case.path, tmp_path):
            problems.append(f"{case.name} ({case.producer}) repair: {what}")
    assert not problems, "\n".join(problems)


def test_halves_verdict_agrees_with_skopeo(corpus: list[realcorpus.Case],
                                           tmp_path: Path) -> None:
    """``halves-disagree`` says docker load and skopeo fail on the archive; skopeo reads the
    docker-archive half (manifest.json) exactly as ``docker load`` does."""
    problems = []
    for case in corpus:
        report = diagnose(str(case.path))
        if report.layout == "oci" or case.path.suffix == ".gz":
            continue
        predicted_fail = any(f.code == "halves-disagree"
                             or "docker load and skopeo will fail" in f.message
                             for f in report.findings)
        failed = []
        for i in range(len(report.images)):  # one image at a time: docker-archive:PATH:@N
            dest = tmp_path / "dir"
            res = subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{case.path}:@{i}",
                                  f"dir:{dest}"], capture_output=True, text=True, timeout=120)
            shutil.rmtree(dest, ignore_errors=True)
            if res.returncode != 0:
                failed.append(res.stderr.strip()[-200:])
        if predicted_fail != bool(failed):
            problems.append(f"{case.name}: doctor says skopeo "
                            f"{'fails' if predicted_fail else 'reads it'}; skopeo: "
                            f"{failed or 'ok'}")
    assert not problems, "\n".join(problems)
