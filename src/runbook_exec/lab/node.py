"""The sandbox kind node: a throwaway containerd that receives exactly kind's commands.

kind loads an image into a node by piping ``docker save`` output into
``ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -``
inside the node. :class:`Node` runs that very command against a private containerd with
the CRI plugin on, and answers the kubelet's question ("is this image present?") by asking
that CRI plugin, the way the kubelet does.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path
from types import TracebackType

from .. import proc
from ..errors import LabError
from . import cri
from ._containerd import Containerd, make_workdir, remove_workdir
from .results import (
    CheckRecord,
    ImageRecord,
    ImportResult,
    KubeletView,
    is_unpacked,
    parse_check,
    parse_images,
    parse_import,
)

NAMESPACE = "k8s.io"
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


class Node:
    """A sandbox kind node. Use ``with Node() as node:`` or ``node = Node().start()`` … ``close()``.

    The node owns a temp directory (under ``$TMPDIR``) holding containerd's root, state,
    socket, config and log; :meth:`close` stops containerd and removes all of it. An
    ``atexit`` hook closes a node a notebook forgot to close.
    """

    name = "sandbox"

    def __init__(self, *, ready_timeout: float = 15.0) -> None:
        self.ready_timeout = ready_timeout
        self.startup_seconds: float | None = None
        self._daemon: Containerd | None = None
        self._base: Path | None = None

    # lifetime -----------------------------------------------------------------
    def start(self) -> Node:
        """Start containerd and wait until it answers; return ``self``."""
        if self._daemon is not None:
            return self
        began = time.monotonic()
        self._base = make_workdir("runbook-node-")
        try:
            self._daemon = Containerd(self._base, cri=True, ready_timeout=self.ready_timeout)
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
        return proc.run(
            argv,
            timeout=timeout,
            check=check,
            stdin=stdin,
            display=["ctr", *args],
            merge_stderr=True,
        )

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

    def kubelet_view(self, ref: str) -> KubeletView:
        """What the kubelet sees for ``ref``: the CRI plugin's ``ImageStatus`` answer."""
        image, api = cri.image_status(self.address, ref)
        return KubeletView.from_cri(ref, image, source=f"CRI {api}/ImageStatus")


def _kind_form(path: Path) -> str:
    return proc.quote_argv(["ctr", *import_args()]) + f" < {path}"
