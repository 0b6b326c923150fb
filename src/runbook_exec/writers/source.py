"""An :class:`Image` from a real ``docker save`` archive (the lab's 20.10 engine writes the
legacy layout; a Docker >= 25 archive works too, read through its ``manifest.json``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..archive.model import Image, Layer
from ..archive.reader import open_archive
from ..errors import ArchiveError

__all__ = ["image_from_save"]


def image_from_save(path: Path | str, work_dir: Path | str, index: int = 0) -> Image:
    """Read image ``index`` of ``manifest.json`` in archive ``path``; its layers are copied
    to ``work_dir`` (created if needed; the caller owns and removes it) as
    ``<diffid hex>.tar``, one file per distinct layer. Layer bytes are checked against the
    config's ``rootfs.diff_ids``.
    """
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    with open_archive(path) as ar:
        items = ar.manifest_items()
        if len(items) <= index:
            raise ArchiveError(f"{path}: manifest.json has no image #{index}")
        item = items[index]
        config = ar.read_bytes(item.config)
        image = Image(config=config, layers=[], repo_tags=list(item.repo_tags or []))
        diff_ids = image.diff_ids
        members = item.layers
        if len(members) != len(diff_ids):
            raise ArchiveError(
                f"{path}: manifest.json lists {len(members)} layers, the config "
                f"{len(diff_ids)}; not a save this tool can reuse"
            )
        done: dict[str, Layer] = {}
        for member, diff_id in zip(members, diff_ids, strict=True):
            if diff_id not in done:
                dest = work / (diff_id.removeprefix("sha256:") + ".tar")
                digest = hashlib.sha256()
                size = 0
                with ar.open_member(member) as src, dest.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                if "sha256:" + digest.hexdigest() != diff_id:
                    raise ArchiveError(f"{path}: {member} does not hash to {diff_id}")
                done[diff_id] = Layer(diff_id=diff_id, path=dest, size=size)
            image.layers.append(done[diff_id])
    return image
