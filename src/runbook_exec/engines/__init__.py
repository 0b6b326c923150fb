"""Engines: the real binaries the lab runs, built from their Go modules.

::

    from runbook_exec import engines
    built = engines.require(engines.spec("dockerd-25.0.0"))   # or EngineError: how to build
    built.bin("dockerd"), built.sha256("dockerd"), built.provenance

The table (:mod:`.table`) names every engine's module, version, Go toolchain and binaries;
:mod:`.pins` writes the wrapper go.mod/go.sum each is built from; :mod:`.build` builds into
the cache outside the repository and finds what is there; :mod:`.toolchain` finds the Go
toolchain each engine (and a runbook's own Go program) is built with. Uses are recorded
(:func:`used`) so the executor can key its cache on the binaries a runbook ran.
"""

from . import toolchain
from .builder import Built, build, cache_root, find, module_of, require
from .table import ENGINES, KIND_CONTAINERD, KIND_KUBELET, KIND_RUNC, EngineSpec, spec
from .usage import record_use, used

__all__ = [
    "ENGINES",
    "KIND_CONTAINERD",
    "KIND_KUBELET",
    "KIND_RUNC",
    "Built",
    "EngineSpec",
    "build",
    "cache_root",
    "docker_engines",
    "find",
    "module_of",
    "node_binaries",
    "node_containerd",
    "record_use",
    "require",
    "spec",
    "toolchain",
    "used",
]


def node_containerd(kind: str) -> EngineSpec:
    """The containerd engine of kind release ``kind`` (e.g. ``v0.20.0``)."""
    from ..errors import EngineError

    key = kind if kind.startswith("v") else f"v{kind}"
    try:
        return spec(KIND_CONTAINERD[key])
    except KeyError:
        known = ", ".join(KIND_CONTAINERD)
        raise EngineError(
            f"no containerd engine for kind {kind}; known releases: {known}"
        ) from None


def node_binaries(kind: str) -> dict[str, EngineSpec]:
    """The engines a lab node of kind release ``kind`` carries: containerd, runc, kubelet
    (the releases with a kubelet engine: v0.20.0 and v0.33.0) and the pause program."""
    from ..errors import EngineError

    key = kind if kind.startswith("v") else f"v{kind}"
    if key not in KIND_KUBELET:
        known = ", ".join(KIND_KUBELET)
        raise EngineError(f"no kubelet engine for kind {kind}; releases with one: {known}")
    return {"containerd": node_containerd(key), "runc": spec(KIND_RUNC[key]),
            "kubelet": spec(KIND_KUBELET[key]), "pause": spec("pause-3.9")}


def docker_engines(version: str) -> tuple[EngineSpec, EngineSpec]:
    """The dockerd and docker CLI engines of Docker release ``version`` (e.g. ``25.0.0``)."""
    return spec(f"dockerd-{version}"), spec(f"docker-cli-{version}")
