"""The table of writer profiles: one per Docker release whose ``docker save`` output
differs in a way that matters to kind's import, each citing the moby source it follows."""

from __future__ import annotations

from dataclasses import dataclass

from .save_v25 import OciKnobs

__all__ = ["PROFILES", "Profile", "SEED_25_IN_ORDER", "SEED_25_SHUFFLED"]

_SAVE_GO = "https://github.com/moby/moby/blob/{tag}/image/tarexport/save.go"

# Seeds for profile 25.0.0 on a 5-layer image (5 distinct DiffIDs), found by
# tests/writers/test_writers.py::test_seeds_give_the_named_cases: one seed whose map order
# happens to equal config order (p = 0.5), one that rotates it.
SEED_25_IN_ORDER = 2
SEED_25_SHUFFLED = 1


@dataclass(frozen=True)
class Profile:
    """One Docker release's ``docker save``.

    ``expected`` is what kind's import (containerd 1.6/1.7 ``ctr images import``) does with
    the archive: ``ok``, or the error text FACTS.md records.
    """

    name: str
    moby_tag: str
    source_url: str
    layout: str  # "legacy" | "oci" | "containerd-store"
    wrong: str
    expected: str
    knobs: OciKnobs | None = None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "24.0.7",
            "v24.0.7",
            _SAVE_GO.format(tag="v24.0.7"),
            "legacy",
            wrong="nothing for kind: legacy layout without index.json "
            "(containerd reads manifest.json)",
            expected="ok",
        ),
        Profile(
            "25.0.0-rc.1",
            "v25.0.0-rc.1",
            _SAVE_GO.format(tag="v25.0.0-rc.1"),
            "oci",
            wrong='OCI manifest lists only foreign layers: "layers": [] '
            "(moby#47065, fixed in rc.2)",
            expected="ctr: mismatched image rootfs and manifest layers",
            knobs=OciKnobs(
                "none",
                layer_sources=False,
                platform=True,
                untagged_index_entry=False,
                config_mtime_with_layer=True,
            ),
        ),
        Profile(
            "25.0.0",
            "v25.0.0",
            _SAVE_GO.format(tag="v25.0.0"),
            "oci",
            wrong="OCI manifest layers in Go map order: rotated/shuffled, duplicates collapsed "
            "(moby#47150)",
            expected="ctr: wrong diff id calculated on extraction (shuffled) / "
            "ctr: mismatched image rootfs and manifest layers (duplicate layer)",
            knobs=OciKnobs("gomap", layer_sources=True, platform=True, untagged_index_entry=False),
        ),
        Profile(
            "25.0.1",
            "v25.0.1",
            _SAVE_GO.format(tag="v25.0.1"),
            "oci",
            wrong="layer order fixed (moby#47161); a save by IMAGE@sha256:... writes "
            '"manifests": null (moby#47210, fixed in 25.0.3)',
            expected="ok; by digest: ctr: image might be filtered out",
            knobs=OciKnobs("config", layer_sources=True, platform=True, untagged_index_entry=False),
        ),
        Profile(
            "25.0.3",
            "v25.0.3",
            _SAVE_GO.format(tag="v25.0.3"),
            "oci",
            wrong="nothing for kind (an untagged save gets an index entry, moby#47294)",
            expected="ok",
            knobs=OciKnobs("config", layer_sources=True, platform=True, untagged_index_entry=True),
        ),
        Profile(
            "26.1.0",
            "v26.1.0",
            _SAVE_GO.format(tag="v26.1.0"),
            "oci",
            wrong="nothing for kind (no platform on the config descriptor or index entries "
            "from 26.1)",
            expected="ok",
            knobs=OciKnobs("config", layer_sources=True, platform=False, untagged_index_entry=True),
        ),
        Profile(
            "29-containerd-store",
            "docker-v29.0.0",
            "https://github.com/moby/moby/blob/docker-v29.0.0/daemon/containerd/image_exporter.go",
            "containerd-store",
            wrong="multi-platform index exported whole; child manifests never pulled are absent "
            "(kind#3795)",
            expected="ctr: content digest sha256:...: not found",
        ),
    ]
}
