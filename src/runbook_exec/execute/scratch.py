"""A private scratch area for one kernel, and the sweep that leaves nothing behind.

Each kernel gets its own ``TMPDIR`` and working directory inside one temp root, so what a
runbook writes (``images.tar``, a lab daemon's state) dies with the run. Every process the
kernel starts inherits ``RUNBOOK_EXEC_SCRATCH=<root>``; after the kernel is shut down the
sweep kills any process still carrying that marker (a daemon started with a new session
escapes the kernel's process group but not its environment), lazily unmounts anything
mounted under the root, then removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from .. import proc
from ..daemons import Closing
from ..engines.usage import ENV as ENGINES_USED_ENV
from ..mounts import unmount_under

MARKER = "RUNBOOK_EXEC_SCRATCH"
PYTHON_KERNEL = "python3"


class Scratch(Closing):
    """Temp root with ``t/`` (the kernel's TMPDIR), ``w/`` (its cwd), ``k/`` (kernel specs).

    A context manager; leaving it sweeps processes and mounts and deletes the root.
    """

    def __init__(self, name: str) -> None:
        # Short names on purpose: daemons put unix sockets under TMPDIR, and a socket path
        # longer than 107 bytes cannot be bound ("bind: invalid argument").
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix="rbx-"))
        self.tmp = self.root / "t"
        self.work = self.root / "w"
        self.kernels = self.root / "k"
        for path in (self.tmp, self.work, self.kernels):
            path.mkdir()
        self.killed: list[int] = []
        # the lab's sweep (runbook_exec.lab.scratch) removes the root if we die unswept
        (self.root / "owner.pid").write_text(str(os.getpid()), encoding="utf-8")

    @property
    def engines_used(self) -> Path:
        """The file the kernel's lab records its engines in (read after the run)."""
        return self.root / "engines-used.jsonl"

    @property
    def env(self) -> dict[str, str]:
        """The kernel's environment: ours, with a private TMPDIR and the sweep marker."""
        env = dict(os.environ)
        env["TMPDIR"] = str(self.tmp)
        env[MARKER] = str(self.root)
        env["RUNBOOK_NAME"] = self.name
        # the lab appends each engine it starts here (runbook_exec.engines.usage)
        env[ENGINES_USED_ENV] = str(self.engines_used)
        # Output of the lab's echo must reach the notebook in order, not in 8 KiB chunks.
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def write_python_kernelspec(self) -> Path:
        """A ``python3`` spec that runs this very interpreter, so the kernel sees our venv."""
        spec_dir = self.kernels / PYTHON_KERNEL
        spec_dir.mkdir(exist_ok=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (runbook-exec)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        return self.kernels

    def close(self) -> None:
        """Kill marked processes, unmount, remove the root; :attr:`killed` names the pids."""
        self.killed = kill_marked(str(self.root))
        unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def kill_marked(value: str) -> list[int]:
    """SIGKILL every process (but us) whose environment has ``MARKER=value``."""
    needle = f"{MARKER}={value}".encode() + b"\0"
    killed = []
    for pid in marked_pids(needle):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    return killed


def marked_pids(needle: bytes) -> list[int]:
    found = []
    for entry in proc.other_processes():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ:
            found.append(int(entry.name))
    return found
