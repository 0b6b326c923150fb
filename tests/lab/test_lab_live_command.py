"""``runbook-exec lab live``: bad use is one line and exit 2; SIGTERM while the command runs
removes the engine, its node containers and every process the stack started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "runbook-exec")


def test_no_command_is_a_clear_error() -> None:
    res = subprocess.run([EXE, "lab", "live"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().endswith("needs a command after `--`, e.g. `runbook-exec lab "
                                       "live -- runbook-exec run --build build/live`")
    assert "Traceback" not in res.stderr


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.daemons
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for dockerd and kind nodes")
def test_sigterm_removes_the_live_stack() -> None:
    live = subprocess.Popen([EXE, "lab", "live", "--", "sleep", "600"], stderr=subprocess.PIPE,
                            text=True)
    assert live.stderr is not None
    line = live.stderr.readline()  # printed once the engine and the node container run
    assert line.startswith("live stack: kind 0.20.0 CLI"), line
    time.sleep(1)
    started = _descendants(live.pid)  # dockerd, its containerd, the command
    roots = {p.split("=", 1)[1] for pid in started
             for p in _cmdline(pid) if p.startswith("--data-root=")}
    assert len(roots) == 1, started
    # the node container's shim double-forks away; it names the engine's directory
    base = str(Path(next(iter(roots))).parent)
    started |= {int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()
                and any(base in arg for arg in _cmdline(int(e.name)))}
    started |= {d for pid in list(started) for d in _descendants(pid)}  # the node's processes
    assert len(started) >= 5, started
    live.send_signal(signal.SIGTERM)
    assert live.wait(timeout=120) != 0
    live.stderr.close()
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{p}").exists() for p in started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in started if Path(f"/proc/{p}").exists()] == []
    assert not any(Path(r).exists() for r in roots)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []
