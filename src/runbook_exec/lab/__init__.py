"""The lab a runbook drives: a kind node's runtime, a Docker engine, sandbox or live.

::

    from runbook_exec.lab import open_target
    with open_target() as target:          # prints which target and why
        target.engine.build("demo:1", layers=[b"a", b"b"])
        target.engine.save(["demo:1"], "images.tar")
        result = target.node.load("images.tar")   # kind's exact import command
        print(result.error or "imported")
        print(target.node.kubelet_view("demo:1"))

Every runbook first enters its own scratch directory, ``workspace("<runbook name>")``, under
the lab's temp root; each lab start sweeps what dead runs left there.

The apt pages' commands run in a throwaway Debian 12 chroot instead (:class:`DebianChroot`,
with :func:`docker_repo`'s stand-in docker-ce packages that carry the real binaries).

Sandbox (default): :class:`Node` is a private containerd with the CRI plugin, :class:`Engine`
a private dockerd; both live in a temp dir and are removed on ``close()``. :class:`Podman` is
Debian's podman (buildah, skopeo) on a private store, :class:`PodmanKindCluster` kind nodes
run by it for the real kind CLI's podman provider. Live
(``RUNBOOK_TARGET=live`` and a kind cluster): the user's Docker and kind node.
"""

from .aptlab import AptRepo, DebianChroot, StandIn, deb_version, docker_repo
from .engine import BuiltImage, Engine
from .kindnode import KindCluster, pause_program
from .kubelet import Event
from .live import LiveEngine, LiveNode, Target, choose_target, open_target
from .node import Node
from .podman import Podman, PodmanKindCluster
from .results import CheckRecord, ImageRecord, ImportResult, KubeletView
from .scratch import Workspace, sweep_dead_runs, workspace

__all__ = [
    "AptRepo",
    "BuiltImage",
    "CheckRecord",
    "DebianChroot",
    "Engine",
    "ImageRecord",
    "Event",
    "ImportResult",
    "KindCluster",
    "KubeletView",
    "LiveEngine",
    "LiveNode",
    "Node",
    "Podman",
    "PodmanKindCluster",
    "StandIn",
    "Target",
    "Workspace",
    "choose_target",
    "deb_version",
    "docker_repo",
    "open_target",
    "pause_program",
    "sweep_dead_runs",
    "workspace",
]
