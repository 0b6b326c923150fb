"""Mounts under a directory: list them (as this process sees them) and detach them.

One home for what both the executor's scratch sweep and the lab's daemon directories need:
a daemon (containerd's overlay snapshotter, dockerd) may leave mounts under its state
directory, and ``rmtree`` must never descend into a still-mounted overlay (it would delete
through it into the image layers). Detaching is ``umount2(MNT_DETACH)``, the system call
``umount -l`` makes, called directly: no binary to find, nothing echoed, nothing to time out.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

__all__ = ["MOUNTINFO", "mounts_under", "unescape", "unmount_under"]

MOUNTINFO = Path("/proc/self/mountinfo")
_MNT_DETACH = 2


def unescape(field: str) -> str:
    """Undo mountinfo's escapes: space, tab, newline and backslash are written ``\\ooo``."""
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


def mounts_under(root: Path, *, mountinfo: Path = MOUNTINFO) -> list[str]:
    """Mount points at or below ``root``, deepest first (the order to detach them in)."""
    prefix = str(root).rstrip("/") or "/"
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        point = unescape(fields[4])
        if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
            found.append(point)
    return sorted(found, key=lambda p: (p.count("/"), len(p)), reverse=True)


def unmount_under(root: Path, *, mountinfo: Path = MOUNTINFO) -> list[str]:
    """Detach every mount at or below ``root``, deepest first; return what was detached.

    A lazy detach succeeds even while something still holds the mount open. A mount this
    process may not detach (not root, another namespace's) is left and not returned.
    """
    points = mounts_under(root, mountinfo=mountinfo)
    if not points:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    return [p for p in points if libc.umount2(p.encode(), _MNT_DETACH) == 0]
