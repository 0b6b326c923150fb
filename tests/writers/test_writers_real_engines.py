"""The writer profiles are checked models: each against the real dockerd of its release,
on the same image (built by that engine, so the config bytes are the engine's own).

Deterministic releases must agree byte for byte in every archive member's content; for
25.0.0 every real layer order must be one the model produces, and the model must give the
real archive's exact bytes for that order.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_exec import proc, writers
from runbook_exec.lab import Engine
from runbook_exec.writers.source import image_from_save

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for containerd/dockerd"),
]

REPEATED = [b"one\n", b"two\n", b"one\n", b"three\n"]
FIVE = [f"layer {i}\n".encode() for i in range(5)]

# release -> the profile that models it (25.0.2's save.go equals 25.0.1's for one image)
DETERMINISTIC = {"24.0.7": "24.0.7", "25.0.0-rc.1": "25.0.0-rc.1", "25.0.1": "25.0.1",
                 "25.0.2": "25.0.1", "25.0.3": "25.0.3"}


def contents(path: Path) -> dict[str, bytes]:
    """Each regular member's bytes (headers differ in mode bits and mtimes; see FACTS.md)."""
    out: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            f = tar.extractfile(member) if member.isfile() else None
            out[member.name] = f.read() if f is not None else b""
    return out


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with proc.quiet():
        yield


@pytest.mark.parametrize(("release", "profile"), DETERMINISTIC.items(), ids=list(DETERMINISTIC))
def test_profile_writes_what_the_real_release_writes(
    release: str, profile: str, tmp_path: Path
) -> None:
    with Engine(release) as engine:
        built = engine.build("wreal/img:v1", REPEATED)
        real = engine.save([built.ref], tmp_path / "real.tar")
    ours = tmp_path / "ours.tar"
    writers.write(image_from_save(real, tmp_path / "layers"), ours, profile)
    a, b = contents(real), contents(ours)
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    assert differ == [], f"{release} vs profile {profile}: members differ: {differ}"


def test_25_0_0_real_orders_are_model_orders_with_the_same_bytes(tmp_path: Path) -> None:
    with Engine("25.0.0") as engine:
        built = engine.build("wreal/five:v1", FIVE)
        reals = [engine.save([built.ref], tmp_path / f"real-{i}.tar") for i in range(12)]
    image = image_from_save(reals[0], tmp_path / "layers")
    by_order: dict[bytes, dict[str, bytes]] = {}
    for seed in range(64):  # 64 seeds cover the 5 rotations a one-bucket map can give
        out = tmp_path / f"model-{seed}.tar"
        writers.write(image, out, "25.0.0", seed=seed)
        member = contents(out)
        by_order.setdefault(member["index.json"], member)
        out.unlink()
    assert len(by_order) == 5, "the model should give exactly the 5 rotations of 5 layers"
    for real in reals:
        got = contents(real)
        model = by_order.get(got["index.json"])
        assert model is not None, f"{real.name}: an order the model never produces"
        assert got == model, f"{real.name}: same order, different bytes"
