"""``docker save`` of Docker 24.0.7 and earlier (the legacy layout; the 20.10 engine here
writes the same): moby ``image/tarexport/save.go`` at v24.0.7.

Members, in the order ``pkg/archive`` walks the temp dir (names sorted, a directory
before its contents)::

    <image id>.json                      config bytes, mtime = image created
    <v1 id>/  VERSION ("1.0")  json  layer.tar
    manifest.json  repositories          mtime = epoch

A layer whose DiffID was already saved gets its own ``<v1 id>/`` directory whose
``layer.tar`` is a symlink ``../<first v1 id>/layer.tar``; only the first directory and
its files get the created time, the others keep the time they were written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..archive.gojson import encode, struct
from ..archive.model import Image
from ..archive.refs import parse_tagged
from ..archive.writer import TarWriter, now
from .legacy import v1_layers

__all__ = ["write_v24"]

EPOCH = 0.0


def created_time(config: dict[str, Any]) -> float | None:
    """The config's ``created`` as Unix seconds (whole seconds, as tar keeps them)."""
    from datetime import datetime

    created = config.get("created")
    if not isinstance(created, str):
        return None
    text = created.replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # drop the fraction: fromisoformat takes at most 6 digits
        tz = rest[next((i for i, c in enumerate(rest) if c in "+-"), len(rest)) :]
        text = head + tz
    return datetime.fromisoformat(text).timestamp()


def write_v24(image: Image, tw: TarWriter, *, by_digest: bool) -> None:
    config = image.config_json
    created = created_time(config)
    c_mtime = created if created is not None else now()
    v1s = v1_layers(image.config, start_interval=False)
    refs = [] if by_digest else [parse_tagged(t) for t in image.repo_tags]
    image_hex = image.image_id.removeprefix("sha256:")

    entries: dict[str, list[tuple[str, Any]]] = {}
    first_dir: dict[str, str] = {}
    for v1, layer in zip(v1s, image.layers, strict=True):
        members: list[tuple[str, Any]] = []
        seen = first_dir.get(v1.diff_id)
        mtime = now() if seen else c_mtime
        members.append(("dir", mtime))
        members.append(("VERSION", (b"1.0", mtime)))
        members.append(("json", (v1.json, mtime)))
        if seen:
            members.append(("layer.tar", ("symlink", f"../{seen}/layer.tar", now())))
        else:
            first_dir[v1.diff_id] = v1.v1_id
            members.append(("layer.tar", ("file", layer.path, mtime)))
        entries[v1.v1_id] = members

    repos: dict[str, dict[str, str]] = {}
    for ref in refs:
        repos.setdefault(ref.familiar_name, {})[ref.tag] = v1s[-1].v1_id
    # manifestItem field order; Parent and LayerSources are empty (omitempty) here
    manifest = [
        struct(
            [
                ("Config", f"{image_hex}.json", False),
                ("RepoTags", [r.familiar for r in refs] or None, False),
                ("Layers", [f"{v.v1_id}/layer.tar" for v in v1s], False),
            ]
        )
    ]

    top: list[str] = sorted(
        [f"{image_hex}.json", *entries, "manifest.json"] + (["repositories"] if repos else [])
    )
    for name in top:
        if name == f"{image_hex}.json":
            tw.add_bytes(name, image.config, c_mtime)
        elif name == "manifest.json":
            tw.add_bytes(name, (encode(manifest) + "\n").encode(), EPOCH)
        elif name == "repositories":
            tw.add_bytes(name, (encode(repos) + "\n").encode(), EPOCH)
        else:
            _write_layer_dir(tw, name, entries[name])


def _write_layer_dir(tw: TarWriter, v1_id: str, members: list[tuple[str, Any]]) -> None:
    tw.add_dir(v1_id, members[0][1])
    for fname, spec in sorted(members[1:]):
        name = f"{v1_id}/{fname}"
        if fname != "layer.tar":
            data, mtime = spec
            tw.add_bytes(name, data, mtime)
        elif spec[0] == "symlink":
            tw.add_symlink(name, spec[1], spec[2])
        else:
            tw.add_file(name, Path(spec[1]), spec[2])
