"""Writer profiles against the real parts: the 20.10 engine's own save, and kind's import
command on a sandbox node (containerd 1.6). Exact error texts as FACTS.md records them."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_exec import writers
from runbook_exec.archive.model import Image
from runbook_exec.lab import Engine, Node
from runbook_exec.writers.source import image_from_save

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for containerd/dockerd"),
]

FIVE = [b"one\n", b"two\n", b"three\n", b"four\n", b"five\n"]
REPEATED = [b"one\n", b"two\n", b"one\n"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, Image]]]:
    """Real saves from the 20.10 engine: a 5-layer image and one with a repeated layer."""
    base = tmp_path_factory.mktemp("saves")
    out: dict[str, tuple[Path, Image]] = {}
    with Engine() as engine:
        for name, layers in (("five", FIVE), ("repeated", REPEATED)):
            built = engine.build(f"wtest-{name}:v1", layers)
            path = engine.save([built.ref], base / f"{name}.tar")
            out[name] = (path, image_from_save(path, base / f"{name}-layers"))
    yield out


@pytest.fixture
def node() -> Iterator[Node]:
    with Node() as n:
        yield n


@pytest.mark.parametrize("name", ["five", "repeated"])
def test_legacy_profile_matches_the_real_engine(
    saved: dict[str, tuple[Path, Image]], tmp_path: Path, name: str
) -> None:
    real, image = saved[name]
    ours = tmp_path / "ours.tar"
    writers.write(image, ours, "24.0.7")
    with tarfile.open(real) as a, tarfile.open(ours) as b:
        assert a.getnames() == b.getnames()
        for member in ("manifest.json", "repositories"):
            fa, fb = a.extractfile(member), b.extractfile(member)
            assert fa is not None and fb is not None
            assert fa.read() == fb.read()
        for ma, mb in zip(a.getmembers(), b.getmembers(), strict=True):
            assert (ma.type, ma.linkname, ma.size) == (mb.type, mb.linkname, mb.size), ma.name


@pytest.mark.parametrize(
    ("image", "profile", "seed", "by_digest", "expected"),
    [
        ("five", "24.0.7", None, False, ""),
        ("five", "25.0.0-rc.1", None, False, "ctr: mismatched image rootfs and manifest layers"),
        ("five", "25.0.0", writers.SEED_25_IN_ORDER, False, ""),
        (
            "five",
            "25.0.0",
            writers.SEED_25_SHUFFLED,
            False,
            'ctr: wrong diff id calculated on extraction "sha256:',
        ),
        ("repeated", "25.0.0", 0, False, "ctr: mismatched image rootfs and manifest layers"),
        ("repeated", "25.0.1", None, False, ""),
        ("five", "25.0.1", None, True, "ctr: image might be filtered out"),
        ("five", "25.0.3", None, True, ""),
        ("five", "26.1.0", None, False, ""),
        ("five", "29-containerd-store", None, False, "ctr: content digest sha256:"),
        ("five", "29-containerd-store/linux/amd64", None, False, ""),
    ],
    ids=[
        "24.0.7",
        "rc.1",
        "25.0.0-in-order",
        "25.0.0-shuffled",
        "25.0.0-repeated",
        "25.0.1-repeated",
        "25.0.1-by-digest",
        "25.0.3-by-digest",
        "26.1.0",
        "29-c8d",
        "29-c8d-platform",
    ],
)
def test_profile_imports_as_facts_say(
    saved: dict[str, tuple[Path, Image]],
    node: Node,
    tmp_path: Path,
    image: str,
    profile: str,
    seed: int | None,
    by_digest: bool,
    expected: str,
) -> None:
    _, img = saved[image]
    out = tmp_path / "a.tar"
    profile, _, platform = profile.partition("/")
    info = writers.write(
        img, out, profile, seed=seed, by_digest=by_digest, platform=platform or None
    )
    result = node.load(out)
    if not expected:
        assert result.ok, str(result)
        records = node.check()
        assert records and all(c.complete and c.unpacked for c in records), records
        return
    assert not result.ok, str(result)
    assert result.error.startswith(expected), str(result)
    if profile == "29-containerd-store":
        assert result.error == f"ctr: content digest {info['missing'][0]}: not found"
