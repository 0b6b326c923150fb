"""The sandbox kind node: a throwaway containerd that receives exactly kind's commands.

kind loads an image into a node by piping ``docker save`` output into
``ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -``
inside the node. :class:`Node` runs that very command against a private containerd with
the CRI plugin on, and answers the kubelet's question ("is this image present?") by asking
that CRI plugin, the way the kubelet does.
"""

from __future__ import annotations

import atexit
import dataclasses
import time
from pathlib import Path

from .. import engines, proc
from ..daemons import Closing
from ..engines import Built
from ..errors import LabError
from ._containerd import Containerd, make_workdir, remove_workdir
from ._deps import require_root
from .results import (
    CheckRecord,
    ImageRecord,
    ImportResult,
    KubeletView,
    is_unpacked,
    parse_check,
    parse_crictl_inspecti,
    parse_images,
    parse_import,
    strip_host_noise,
)

NAMESPACE = "k8s.io"
# The seed's kind release: its nodes run containerd 1.7.1.
DEFAULT_KIND = "v0.20.0"
CRICTL = "crictl-1.36.0"
SNAPSHOTTER = "overlayfs"


def import_args(snapshotter: str = SNAPSHOTTER) -> list[str]:
    """kind's import command after ``ctr`` (kind ≥ v0.17: all platforms, digests)."""
    return [
        f"--namespace={NAMESPACE}",
        "images",
        "import",
        "--all-platforms",
        "--digests",
        f"--snapshotter={snapshotter}",
        "-",
    ]


class Node(Closing):
    """A sandbox kind node. Use ``with Node() as node:`` or ``node = Node().start()`` … ``close()``.

    The node owns a temp directory (under ``$TMPDIR``) holding containerd's root, state,
    socket, config and log; :meth:`close` stops containerd and removes all of it. An
    ``atexit`` hook closes a node a notebook forgot to close.
    """

    name = "sandbox"

    def __init__(self, *, kind: str = DEFAULT_KIND, ready_timeout: float = 15.0) -> None:
        self.kind = kind
        # the sandbox mounts overlayfs: say so before anything else can fail
        require_root("the sandbox containerd")
        # the containerd this kind release's nodes run, built from its module
        self.engine: Built = engines.require(engines.node_containerd(kind))
        # crictl, what kind's presence check and the kubelet's tooling use
        self.crictl_engine: Built = engines.require(engines.spec(CRICTL))
        self.ready_timeout = ready_timeout
        self.startup_seconds: float | None = None
        self._daemon: Containerd | None = None
        self._base: Path | None = None

    @property
    def containerd_version(self) -> str:
        """The node's containerd release, e.g. ``1.7.1``."""
        return self.engine.spec.version

    @property
    def description(self) -> str:
        """One line for outputs: which kind release's node and which real containerd."""
        return f"kind {self.kind} node: containerd {self.containerd_version} (built from source)"

    # lifetime -----------------------------------------------------------------
    def start(self) -> Node:
        """Start containerd and wait until it answers; return ``self``."""
        if self._daemon is not None:
            return self
        began = time.monotonic()
        self._base = make_workdir("runbook-node-")
        try:
            self._daemon = Containerd(
                self._base, cri=True, ready_timeout=self.ready_timeout, bindir=self.engine.bindir
            )
            atexit.register(self.close)
            self._daemon.start()
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def close(self) -> None:
        """Stop containerd, detach its mounts and delete its directory (idempotent)."""
        atexit.unregister(self.close)
        daemon, base = self._daemon, self._base
        self._daemon = self._base = None
        if daemon is not None:
            daemon.stop()
        if base is not None:
            remove_workdir(base)

    def __enter__(self) -> Node:
        return self.start()

    @property
    def running(self) -> bool:
        return self._daemon is not None

    @property
    def address(self) -> Path:
        return self._require().address

    @property
    def root(self) -> Path:
        if self._base is None:
            raise LabError("the sandbox node is not running; call start() first")
        return self._base

    @property
    def pid(self) -> int | None:
        return self._daemon.pid if self._daemon is not None else None

    def _require(self) -> Containerd:
        if self._daemon is None:
            raise LabError("the sandbox node is not running; call start() first")
        return self._daemon

    # ctr ----------------------------------------------------------------------
    def ctr(
        self,
        *args: str,
        timeout: float = 60.0,
        check: bool = True,
        stdin: Path | None = None,
    ) -> proc.Result:
        """Run ``ctr ARGS`` against this node; the echo omits the private ``--address``."""
        daemon = self._require()
        argv = [daemon.ctr, "--address", str(daemon.address), *args]
        res = proc.run(
            argv,
            timeout=timeout,
            check=check,
            stdin=stdin,
            display=["ctr", *args],
            merge_stderr=True,
        )
        return dataclasses.replace(res, stdout=strip_host_noise(res.stdout))

    def load(self, archive: str | Path, *, timeout: float = 600.0) -> ImportResult:
        """Import ``archive`` exactly as kind does; a failure is returned, not raised."""
        path = Path(archive)
        if not path.is_file():
            raise LabError(f"archive {path} does not exist; save an image first")
        res = self.ctr(*import_args(), timeout=timeout, check=False, stdin=path)
        return parse_import(res.returncode, res.stdout, command=_kind_form(path))

    def images(self) -> list[ImageRecord]:
        """The node's image records (``ctr -n k8s.io images ls``)."""
        return parse_images(self.ctr("-n", NAMESPACE, "images", "ls").stdout)

    def check(self) -> list[CheckRecord]:
        """Content and unpack state per record (``ctr -n k8s.io images check``)."""
        return parse_check(self.ctr("-n", NAMESPACE, "images", "check").stdout)

    def unpacked(self, ref: str) -> bool:
        """Whether ``ref`` is imported *and* unpacked (a stale record is not)."""
        return is_unpacked(self.check(), ref)

    def remove(self, *refs: str) -> proc.Result:
        """Delete image records (``ctr -n k8s.io images rm REF...``), e.g. stale ones."""
        if not refs:
            raise LabError("remove() needs at least one image reference")
        return self.ctr("-n", NAMESPACE, "images", "rm", *refs)

    def crictl(self, *args: str, timeout: float = 60.0, check: bool = True) -> proc.Result:
        """Run the real ``crictl ARGS`` against this node's CRI socket (as kind does inside a
        node); the echo omits the private ``--runtime-endpoint``."""
        daemon = self._require()
        config = self.root / "crictl.yaml"
        if not config.exists():
            # what a kind node has in /etc/crictl.yaml, pointed at this node's socket
            config.write_text(f"runtime-endpoint: unix://{daemon.address}\n"
                              f"image-endpoint: unix://{daemon.address}\ntimeout: 20\n")
        argv = [str(self.crictl_engine.bin("crictl")), f"--config={config}", *args]
        res = proc.run(argv, timeout=timeout, check=check, display=["crictl", *args],
                       merge_stderr=True)
        return dataclasses.replace(res, stdout=strip_host_noise(res.stdout))

    def kubelet_view(self, ref: str) -> KubeletView:
        """What the kubelet (and kind's presence check) sees for ``ref``: the CRI plugin's
        ``ImageStatus`` answer, asked with ``crictl inspecti``."""
        res = self.crictl("inspecti", ref, check=False)
        return parse_crictl_inspecti(ref, res.returncode, res.stdout)


def _kind_form(path: Path) -> str:
    return proc.quote_argv(["ctr", *import_args()]) + f" < {path}"
