"""``docker save`` as each Docker release wrote it, from an
:class:`~runbook_exec.archive.model.Image`.

>>> from runbook_exec import writers
>>> writers.write(image, Path("out.tar"), profile="25.0.0", seed=writers.SEED_25_SHUFFLED)

``PROFILES`` lists the releases with the moby file and tag each follows and what it gets
wrong. The archive is streamed to a temp file and renamed into place; on failure nothing
is left behind.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..archive.model import Image
from ..archive.writer import write_atomically
from ..errors import ArchiveError
from . import save_c8d, save_v24, save_v25
from .gomap import GO_CHECK, p_in_order
from .profiles import PROFILES, SEED_25_IN_ORDER, SEED_25_SHUFFLED, Profile

__all__ = [
    "GO_CHECK", "PROFILES", "Profile", "SEED_25_IN_ORDER", "SEED_25_SHUFFLED", "p_in_order",
    "write",
]


def write(
    image: Image,
    out_path: Path | str,
    profile: str = "25.0.0",
    *,
    seed: int | None = None,
    by_digest: bool = False,
    platform: str | None = None,
) -> dict[str, Any]:
    """Write ``image`` to ``out_path`` as Docker ``profile`` saves it.

    ``seed`` fixes the Go map order of 25.0.0 (``None``: a fresh random one, like a real
    run). ``by_digest`` models ``docker save IMAGE@sha256:...`` (no tags recorded).
    ``platform`` models ``docker save --platform OS/ARCH`` (Docker 29 containerd store only).
    Returns what was decided while writing (e.g. the OCI manifest's layer order).
    """
    prof = PROFILES.get(profile)
    if prof is None:
        raise ArchiveError(
            f"unknown writer profile {profile!r}; choose one of: {', '.join(PROFILES)}"
        )
    if len(image.layers) != len(image.diff_ids) or any(
        layer.diff_id != d for layer, d in zip(image.layers, image.diff_ids, strict=False)
    ):
        raise ArchiveError(
            "image layers do not match the config's rootfs.diff_ids; "
            "build the Image from a real save (writers.source.image_from_save)"
        )
    if not image.layers:
        raise ArchiveError("image has no layers; docker save refuses it (empty export)")
    if platform is not None and prof.layout != "containerd-store":
        raise ArchiveError(
            f"--platform is modelled for the containerd image store only, not {profile}"
        )
    rng = random.Random(seed)
    with write_atomically(Path(out_path)) as tw:
        if prof.layout == "legacy":
            save_v24.write_v24(image, tw, by_digest=by_digest)
            return {}
        if prof.layout == "containerd-store":
            return save_c8d.write_c8d(image, tw, by_digest=by_digest, platform=platform)
        assert prof.knobs is not None
        return save_v25.write_v25(image, tw, prof.knobs, by_digest=by_digest, rng=rng)
