"""Checks that the parts the lab drives are installed and usable, before anything starts.

Each failure is one line naming the Debian package and the fix, so a runbook reader knows
what to do without reading a traceback.
"""

from __future__ import annotations

import os
import shutil

from ..errors import MissingDependencyError

INSTALL_HINT = "run `bash scripts/install-system-deps.sh` as root"

# Which Debian package ships each binary the lab runs.
PACKAGE_OF = {
    "containerd": "containerd",
    "ctr": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "unshare": "util-linux",
    "kind": "",
}


def find_binary(name: str, *, path: str | None = None) -> str:
    """Return the absolute path of ``name`` or raise :class:`MissingDependencyError`."""
    found = shutil.which(name, path=path)
    if found is None:
        package = PACKAGE_OF.get(name, "")
        if not package:
            raise MissingDependencyError(f"{name} not found on PATH; install it first")
        raise MissingDependencyError(
            f"{name} not found: install the Debian package `{package}` ({INSTALL_HINT})"
        )
    return found


def require_root(what: str) -> None:
    """The sandbox daemons mount filesystems, so they need root; say so in one line."""
    if os.geteuid() != 0:
        raise MissingDependencyError(
            f"{what} needs root (it mounts overlayfs and runs containerd/dockerd): rerun as root, "
            f"or set RUNBOOK_TARGET=live to use your own Docker and kind cluster"
        )
