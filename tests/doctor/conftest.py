"""Doctor tests build their archives with ``tests/dsave.py`` (hand-made) and
``tests/realcorpus.py`` (real producers)."""

from __future__ import annotations

import dsave
import pytest
import realcorpus

UNIQ = dsave.make_image(5, seed="diff")
DUP = dsave.make_image(4, repeat=(0, 2), seed="diffdup")
HANDMADE = {
    "hand-rotated": dsave.docker25(UNIQ, order=[3, 4, 0, 1, 2]),
    "hand-collapsed": dsave.docker25(DUP, collapse=True),
    "hand-no-layers": dsave.docker25(DUP, no_layers=True),
    "hand-manifests-null": dsave.docker25(DUP, manifests_null=True),
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[realcorpus.Case]:
    """Archives from every real producer (made once per session, ~30 s), plus the
    hand-made corpus's four broken shapes. Needs root and the lab's engines."""
    out = tmp_path_factory.mktemp("real-archives")
    cases = realcorpus.make_corpus(out)
    for name, entries in HANDMADE.items():
        path = dsave.write_tar(out / f"{name}.tar", entries)
        cases.append(realcorpus.Case(name, path, "tests/archive/dsave.py (hand-made)"))
    return cases
