"""A runbook's own scratch directory, and the sweep of what dead runs left behind.

A runbook calls :func:`workspace` first: it makes ``runbook-<name>-<random>/`` under the
lab's temp root (``$TMPDIR``, else /tmp), records the owner's pid in it and makes it the
working directory, so the runbook's relative paths (``repair-work/in.tar``) land there and
never in ``runbooks/`` or wherever Jupyter was started. ``close()`` (also at interpreter
exit) goes back and removes it.

A kernel that is SIGKILLed, restarted or whose server is closed runs no cleanup. Every lab
start (:func:`workspace`, :func:`runbook_exec.lab.open_target`) therefore calls
:func:`sweep_dead_runs` first: each ``runbook-*`` or ``rbx-*`` directory in the temp root
(and in /tmp, where a deep ``$TMPDIR`` puts dockerd's exec root) whose recorded owner is
no longer running loses the processes still running out of it, its mounts and its files.
A directory without an owner file, or whose owner lives, is never touched.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

from ..daemons import Closing
from ..errors import LabError
from ..mounts import unmount_under
from ..proc import other_processes, pid_alive
from ._containerd import OWNER_FILE

# lab daemons (runbook-node-, runbook-engine-, runbook-registry-, runbook-x-), runbook
# workspaces (runbook-<name>-) and the executor's per-kernel roots (rbx-)
SWEPT_PREFIXES = ("runbook-", "rbx-")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Workspace(Closing):
    """The working directory of one runbook run. Use :func:`workspace` to make one."""

    def __init__(self, name: str, parent: Path | None = None) -> None:
        if not _NAME.match(name):
            raise LabError(
                f"workspace name {name!r} is not usable in a directory name; use letters, "
                "digits, '.', '_' and '-' (the runbook's file name, e.g. 'fix-repair')"
            )
        root = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        sweep_dead_runs(root)
        self.name = name
        self.path = Path(tempfile.mkdtemp(prefix=f"runbook-{name}-", dir=root))
        (self.path / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
        self._previous = os.getcwd()
        os.chdir(self.path)
        atexit.register(self.close)

    def close(self) -> None:
        """Leave the directory (back to where the run started) and remove it; idempotent."""
        atexit.unregister(self.close)
        if Path.cwd() == self.path or self.path in Path.cwd().parents:
            try:
                os.chdir(self._previous)
            except OSError:  # the previous directory is gone too
                os.chdir("/")
        unmount_under(self.path)
        shutil.rmtree(self.path, ignore_errors=True)

    def __repr__(self) -> str:
        return f"Workspace({self.name!r}, path={str(self.path)!r})"


def workspace(name: str) -> Workspace:
    """Sweep dead runs, then make and enter this run's own scratch directory.

    ``name`` is the runbook's name; the directory is ``$TMPDIR/runbook-<name>-<random>``.
    """
    return Workspace(name)


def dead_run_dirs(root: Path) -> list[Path]:
    """Directories in ``root`` named like a lab's whose recorded owner is gone."""
    found = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for path in entries:
        if not path.name.startswith(SWEPT_PREFIXES):
            continue
        try:
            owner = int((path / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not pid_alive(owner):
            found.append(path)
    return found


def sweep_dead_runs(root: Path | None = None) -> list[Path]:
    """Remove what dead runs left in ``root`` (default: the temp root) and in /tmp.

    Returns the directories removed. Processes still running out of them (a daemon's shim,
    say) are killed first, then their mounts are detached, then the files removed.
    """
    roots = {Path(root) if root is not None else Path(tempfile.gettempdir()), Path("/tmp")}
    dead = [path for place in sorted(roots) for path in dead_run_dirs(place)]
    if not dead:
        return []
    kill_processes_using(dead)
    for path in dead:
        unmount_under(path)
        shutil.rmtree(path, ignore_errors=True)
    return [path for path in dead if not path.exists()]


def processes_using(dirs: list[Path]) -> list[int]:
    """Pids (but ours) whose working directory, executable or any argument lies in ``dirs``."""
    prefixes = [str(d).encode() for d in dirs]

    def inside(value: bytes) -> bool:
        return any(value == p or value.startswith(p + b"/") for p in prefixes)

    found = []
    for entry in other_processes():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            links = []
            for link in ("cwd", "exe"):
                try:
                    links.append(os.fsencode(os.readlink(entry / link)))
                except OSError:
                    continue
        except OSError:  # gone, or not ours to read
            continue
        words = [w for arg in args for w in re.split(rb"[=\s]", arg)]
        if any(inside(v) for v in [*links, *words]):
            found.append(int(entry.name))
    return found


def kill_processes_using(dirs: list[Path], timeout: float = 5.0) -> list[int]:
    """SIGKILL what :func:`processes_using` finds and wait (briefly) until it is gone."""
    pids = processes_using(dirs)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) and not _zombie(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
