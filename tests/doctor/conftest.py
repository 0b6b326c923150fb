"""Doctor tests build their archives with ``tests/dsave.py`` (hand-made) and
``tests/realcorpus.py`` (real producers)."""

from __future__ import annotations

import json

import dsave
import pytest
import realcorpus


def _without_manifest(entries: list[dsave.Entry]) -> list[dsave.Entry]:
    raw = dict(entries)["index.json"]
    assert isinstance(raw, bytes)
    index = json.loads(raw)
    gone = f"blobs/sha256/{index['manifests'][0]['digest'][7:]}"
    return [e for e in entries if e[0] != gone]


UNIQ = dsave.make_image(5, seed="diff")
DUP = dsave.make_image(4, repeat=(0, 2), seed="diffdup")
HANDMADE = {
    "hand-rotated": dsave.docker25(UNIQ, order=[3, 4, 0, 1, 2]),
    "hand-collapsed": dsave.docker25(DUP, collapse=True),
    "hand-no-layers": dsave.docker25(DUP, no_layers=True),
    "hand-manifests-null": dsave.docker25(DUP, manifests_null=True),
    # the manifest index.json points to left out (content digest … not found; containerd
    # 2.0 words it `code = NotFound`, not `Unknown` like the unpack errors)
    "hand-manifest-missing": _without_manifest(dsave.docker25(UNIQ)),
    # a layer blob left out: containerd fails only when it extracts that layer, and names it
    "hand-layer-missing": [e for e in dsave.docker25(UNIQ)
                           if e[0] != f"blobs/sha256/{dsave.sha(UNIQ.layers[1])[7:]}"],
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[realcorpus.Case]:
    """Archives from every real producer (made once per session, ~30 s), plus the
    hand-made corpus's six broken shapes. Needs root and the lab's engines."""
    out = tmp_path_factory.mktemp("real-archives")
    cases = realcorpus.make_corpus(out)
    for name, entries in HANDMADE.items():
        path = dsave.write_tar(out / f"{name}.tar", entries)
        cases.append(realcorpus.Case(name, path, "tests/archive/dsave.py (hand-made)"))
    return cases
