"""Tiny images for the writer tests: layer tars and a config made here, no daemon."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import dsave
import pytest

from runbook_exec.archive.model import Image, Layer

MakeImage = Callable[..., Image]


def _layer_tar(path: Path, content: bytes) -> Layer:
    data = dsave.layer_tar(content, "data", mtime=1700000000, fmt=tarfile.USTAR_FORMAT)
    path.write_bytes(data)
    return Layer("sha256:" + hashlib.sha256(data).hexdigest(), path, len(data))


@pytest.fixture
def make_image(tmp_path: Path) -> MakeImage:
    """``make_image([b"a", b"b", b"a"], tags=["demo:v1"])``: one layer per content, equal
    contents give the same DiffID (a repeated layer)."""

    def make(
        contents: Sequence[bytes], tags: Sequence[str] = ("demo:v1",), **extra: object
    ) -> Image:
        layers: dict[bytes, Layer] = {}
        for i, c in enumerate(contents):
            if c not in layers:
                layers[c] = _layer_tar(tmp_path / f"layer{i}.tar", c)
        config = {
            "architecture": "amd64",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["/data"], "Labels": {"x": "<&>"}},
            "created": "2024-01-19T10:00:00.120000000Z",
            "history": [{"created_by": f"COPY {i}"} for i in range(len(contents))],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layers[c].diff_id for c in contents]},
            **extra,
        }
        raw = json.dumps(config, separators=(",", ":")).encode()
        return Image(config=raw, layers=[layers[c] for c in contents], repo_tags=list(tags))

    return make
