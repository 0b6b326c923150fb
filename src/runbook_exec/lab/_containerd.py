"""A private containerd daemon: its own root, state, socket and pid in a temp dir.

Used twice by the lab: as the runtime of a sandbox kind node (CRI plugin on, overlayfs
snapshotter), and as the containerd behind the sandbox dockerd (CRI off). Nothing here
touches the system's containerd (``/run/containerd``) or ``/var/lib/containerd``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .. import proc
from ..errors import LabError
from ..proc import pid_alive
from ._deps import find_binary, require_root

# A unix socket path is limited to 107 bytes on Linux (sun_path).
_MAX_SOCKET_PATH = 107
_MNT_DETACH = 2

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
    sweep_stale(prefix, parent)
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


def unmount_under(root: Path) -> list[str]:
    """Detach every mount at or below ``root`` (deepest first); return what was unmounted.

    The daemons run in their own mount namespace, so normally there is nothing to do;
    this covers a run where ``unshare`` was unavailable.
    """
    targets = mounts_under(root)
    libc = ctypes.CDLL(None, use_errno=True)
    done = []
    for target in sorted(targets, key=len, reverse=True):
        if libc.umount2(target.encode(), _MNT_DETACH) == 0:
            done.append(target)
    return done


def mounts_under(root: Path) -> list[str]:
    """Mount points (as this process sees them) at or below ``root``."""
    prefix = str(root).rstrip("/")
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            point = _unescape(line.split()[4])
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    out: list[str] = []
    i = 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
            continue
        out.append(field[i])
        i += 1
    return "".join(out)


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
        self._proc: subprocess.Popen[bytes] | None = None
        self.ctr = ""
        if len(str(self.address)) + len(".ttrpc") > _MAX_SOCKET_PATH:
            raise LabError(
                f"socket path {self.address} is too long for a unix socket; "
                "set TMPDIR to a shorter directory"
            )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

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
        argv = [binary, "--config", str(config)]
        unshare = shutil.which("unshare")
        if unshare is not None:
            argv = [unshare, "--mount", "--propagation", "private", *argv]
        # containerd finds its shim (containerd-shim-runc-v2) on PATH: the engine's first.
        env = dict(os.environ, PATH=path) if path else None
        self._proc = proc.spawn(argv, log=self.log, env=env)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise LabError(
                    f"containerd exited with status {self._proc.returncode} while starting; "
                    f"its log ({self.log}) ends:\n{self.log_tail()}"
                )
            if self.address.exists():
                res = proc.run(
                    [self.ctr, "--address", str(self.address), "version"],
                    timeout=5,
                    check=False,
                    echo=False,
                )
                if res.ok:
                    return
            if time.monotonic() > deadline:
                raise LabError(
                    f"containerd did not answer on {self.address} within "
                    f"{self.ready_timeout:g}s; its log ends:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = 15) -> str:
        return proc.log_tail(self.log, lines)

    def stop(self) -> None:
        """Stop the daemon only (its directory stays)."""
        if self._proc is not None:
            proc.stop(self._proc, grace=10.0)
            self._proc = None
        unmount_under(self.base)


def remove_workdir(base: Path) -> None:
    """Detach leftover mounts, then delete ``base``; raise :class:`LabError` if it stays."""
    unmount_under(base)
    shutil.rmtree(base, ignore_errors=True)
    if base.exists():
        raise LabError(f"could not remove the lab directory {base}; remove it by hand")

