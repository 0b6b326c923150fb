"""A private containerd daemon: its own root, state, socket and pid in a temp dir.

Used twice by the lab: as the runtime of a sandbox kind node (CRI plugin on, overlayfs
snapshotter), and as the containerd behind the sandbox dockerd (CRI off). Nothing here
touches the system's containerd (``/run/containerd``) or ``/var/lib/containerd``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .. import proc
from ..daemons import Daemon
from ..errors import LabError
from ..mounts import mounts_under, unmount_under
from ..proc import pid_alive
from ._deps import find_binary, require_root

__all__ = [
    "OWNER_FILE",
    "Containerd",
    "make_workdir",
    "mounts_under",
    "remove_workdir",
    "render_config",
    "sweep_stale",
]

# Linux allows 107 bytes in a unix socket path (sun_path), but containerd refuses more than
# 104 (the BSD limit) for its ttrpc socket: "unix socket path too long (> 104)", seen here
# with a 106-byte path under a deep $TMPDIR.
_MAX_SOCKET_PATH = 104

# Plugins a lab containerd never needs; disabling them keeps startup quick and quiet.
_DISABLED_PLUGINS = (
    "io.containerd.internal.v1.opt",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.tracing.processor.v1.otlp",
)


OWNER_FILE = "owner.pid"


def make_workdir(prefix: str, parent: Path | None = None) -> Path:
    """Create a private directory under ``parent`` (default ``$TMPDIR`` or /tmp) for one
    daemon's state.

    The directory records its owner's pid, so a later lab can remove what a SIGKILLed
    owner could not (see :func:`sweep_stale`).
    """
    from .scratch import sweep_dead_runs  # (scratch imports this module)

    sweep_dead_runs(parent)  # every lab start removes what dead runs left, not only ``prefix*``
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o711)
    (path / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
    return path


def sweep_stale(prefix: str, parent: Path | None = None) -> list[Path]:
    """Remove lab directories named ``prefix*`` whose owning process is gone."""
    removed = []
    for path in (parent or Path(tempfile.gettempdir())).glob(prefix + "*"):
        try:
            owner = int((path / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not pid_alive(owner):
            unmount_under(path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def render_config(base: Path, *, cri: bool) -> str:
    """containerd's config.toml (version 2) with everything kept under ``base``.

    With ``cri`` the CRI plugin is set up like a kind node's (overlayfs snapshotter,
    layers discarded after unpack as kind does); CNI is pointed at empty directories,
    which containerd reports once and otherwise ignores (no pods run here).
    """
    disabled = list(_DISABLED_PLUGINS)
    if not cri:
        disabled.append("io.containerd.grpc.v1.cri")
    lines = [
        "version = 2",
        f'root = "{base / "root"}"',
        f'state = "{base / "state"}"',
        "disabled_plugins = [" + ", ".join(f'"{p}"' for p in disabled) + "]",
        "",
        "[grpc]",
        f'  address = "{base / "containerd.sock"}"',
        "[ttrpc]",
        f'  address = "{base / "containerd.sock.ttrpc"}"',
        "[debug]",
        '  address = ""',
        "[metrics]",
        '  address = ""',
    ]
    if cri:
        lines += [
            "",
            '[plugins."io.containerd.grpc.v1.cri"]',
            '  sandbox_image = "registry.k8s.io/pause:3.9"',
            "  restrict_oom_score_adj = false",
            "  tolerate_missing_hugetlb_controller = true",
            '[plugins."io.containerd.grpc.v1.cri".containerd]',
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            "  discard_unpacked_layers = true",
            '[plugins."io.containerd.grpc.v1.cri".cni]',
            f'  bin_dir = "{base / "cni" / "bin"}"',
            f'  conf_dir = "{base / "cni" / "net.d"}"',
        ]
    return "\n".join(lines) + "\n"


class Containerd:
    """One private containerd. The owner calls :meth:`start` then :meth:`close`.

    ``close`` stops the daemon (SIGTERM, then SIGKILL), detaches any mount left under its
    directory and removes the directory. The daemon is started inside its own mount
    namespace (``unshare --mount --propagation private``) so its overlay mounts disappear
    with it even if this process is SIGKILLed; it also gets SIGTERM when its parent dies.
    """

    def __init__(
        self, base: Path, *, cri: bool, ready_timeout: float = 15.0, bindir: Path | None = None,
        runc_dir: Path | None = None,
    ) -> None:
        self.base = base
        self.cri = cri
        # a built engine's bin dir (containerd, ctr, shim); None: the system's containerd
        self.bindir = bindir
        # where the shim finds runc (a built runc engine); None: PATH's
        self.runc_dir = runc_dir
        self.ready_timeout = ready_timeout
        self.address = base / "containerd.sock"
        self.log = base / "containerd.log"
        self._daemon: Daemon | None = None
        self.ctr = ""
        if len(str(self.address)) + len(".ttrpc") > _MAX_SOCKET_PATH:
            raise LabError(
                f"socket path {self.address} is too long for a unix socket; "
                "set TMPDIR to a shorter directory"
            )

    @property
    def pid(self) -> int | None:
        return self._daemon.pid if self._daemon is not None else None

    def start(self) -> None:
        require_root("the sandbox containerd")
        dirs = [str(d) for d in (self.bindir, self.runc_dir) if d is not None]
        path = ":".join([*dirs, os.environ.get("PATH", "/usr/bin:/bin")]) if dirs else None
        binary = find_binary("containerd", path=path)
        self.ctr = find_binary("ctr", path=path)
        config = self.base / "config.toml"
        config.write_text(render_config(self.base, cri=self.cri), encoding="utf-8")
        if self.cri:
            (self.base / "cni" / "bin").mkdir(parents=True, exist_ok=True)
            (self.base / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
        # containerd finds its shim (containerd-shim-runc-v2) on PATH: the engine's first.
        env = dict(os.environ, PATH=path) if path else None
        self._daemon = Daemon(
            "containerd",
            [binary, "--config", str(config)],
            log=self.log,
            where=str(self.address),
            env=env,
            private_mounts=True,
            ready_timeout=self.ready_timeout,
        )
        self._daemon.start(self._answers)

    def _answers(self) -> bool:
        if not self.address.exists():
            return False
        res = proc.run(
            [self.ctr, "--address", str(self.address), "version"], timeout=5, check=False,
            echo=False,
        )
        return res.ok

    def log_tail(self, lines: int = 15) -> str:
        return proc.log_tail(self.log, lines)

    def stop(self) -> None:
        """Stop the daemon only (its directory stays)."""
        if self._daemon is not None:
            self._daemon.close()
            self._daemon = None
        unmount_under(self.base)


def remove_workdir(base: Path) -> None:
    """Detach leftover mounts, then delete ``base``; raise :class:`LabError` if it stays."""
    unmount_under(base)
    shutil.rmtree(base, ignore_errors=True)
    if base.exists():
        raise LabError(f"could not remove the lab directory {base}; remove it by hand")

