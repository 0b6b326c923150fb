"""A runbook's own scratch directory, and the sweep of what dead runs left behind.

The last test is the reader's case: a real Jupyter kernel runs a real runbook, is SIGKILLed
in the middle (what a kernel restart or a closed server does), and the next lab start must
leave nothing of it: no directory, no process, no mount.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_exec.errors import LabError
from runbook_exec.lab import scratch, sweep_dead_runs, workspace
from runbook_exec.lab._containerd import OWNER_FILE
from runbook_exec.mounts import mounts_under

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def temp_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private, short temp root (unix socket paths must stay under 108 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="rbt-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def make_run_dir(parent: Path, name: str, owner: int | None) -> Path:
    path = parent / name
    (path / "data").mkdir(parents=True)
    (path / "data" / "images.tar").write_bytes(b"x" * 10)
    if owner is not None:
        (path / OWNER_FILE).write_text(str(owner))
    return path


def test_workspace_is_private_entered_and_removed(temp_root: Path) -> None:
    start = Path.cwd()
    with workspace("fix-repair") as ws:
        assert ws.path.parent == temp_root
        assert ws.path.name.startswith("runbook-fix-repair-")
        assert Path.cwd() == ws.path
        assert (ws.path / OWNER_FILE).read_text() == str(os.getpid())
        Path("repair-work").mkdir()  # what a runbook's relative paths do
        (Path("repair-work") / "in.tar").write_bytes(b"tar")
    assert Path.cwd() == start
    assert not ws.path.exists()
    assert list(temp_root.iterdir()) == []
    ws.close()  # idempotent


def test_workspace_refuses_a_name_that_is_not_a_file_name(temp_root: Path) -> None:
    with pytest.raises(LabError, match=r"^workspace name '\.\./x' is not usable"):
        workspace("../x")
    assert list(temp_root.iterdir()) == []


def test_sweep_removes_only_dead_owners_dirs(temp_root: Path) -> None:
    dead = make_run_dir(temp_root, "runbook-fix-repair-abc", dead_pid())
    dead_exec = make_run_dir(temp_root, "rbx-dead1", dead_pid())
    alive = make_run_dir(temp_root, "runbook-node-live", os.getppid())
    unowned = make_run_dir(temp_root, "runbook-gocache", None)
    other = make_run_dir(temp_root, "somebody-elses", dead_pid())
    removed = sweep_dead_runs(temp_root)
    assert sorted(removed) == sorted([dead, dead_exec])
    assert not dead.exists() and not dead_exec.exists()
    assert alive.exists() and unowned.exists() and other.exists()


def test_sweep_kills_what_still_runs_out_of_a_dead_dir(temp_root: Path) -> None:
    dead = make_run_dir(temp_root, "runbook-engine-xyz", dead_pid())
    # stragglers in their own sessions, like a shim: one works in the dead directory, one
    # names it in an argument
    straggler = subprocess.Popen(["sleep", "600"], cwd=dead / "data", start_new_session=True)
    by_arg = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", f"--root={dead}/data"],
        start_new_session=True,
    )
    bystander = subprocess.Popen(["sleep", "600"], cwd=temp_root, start_new_session=True)
    try:
        assert sorted(scratch.processes_using([dead])) == sorted([straggler.pid, by_arg.pid])
        assert sweep_dead_runs(temp_root) == [dead]
        assert straggler.wait(timeout=10) == -signal.SIGKILL
        assert by_arg.wait(timeout=10) == -signal.SIGKILL
        assert bystander.poll() is None
    finally:
        for p in (straggler, by_arg, bystander):
            p.kill()
            p.wait()


# ------------------------------------------------------------ a kernel killed mid-run


def _kernel_run_until_killed(temp_root: Path, runbook: Path, cells: int) -> int:
    """Run the first ``cells`` code cells of ``runbook`` in a real ipykernel, start the
    next one, SIGKILL the kernel while it runs, and return the kernel's pid."""
    import jupytext
    from jupyter_client.manager import KernelManager

    nb = jupytext.read(runbook)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    km = KernelManager(kernel_name="python3")
    env = {**os.environ, "TMPDIR": str(temp_root), "PYTHONUNBUFFERED": "1"}
    env.pop("RUNBOOK_TARGET", None)
    km.start_kernel(env=env, cwd=str(temp_root))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []
        client.execute_interactive("import os; print(os.getpid())", timeout=30,
                                   output_hook=_collect(out))
        pid = int("".join(out))
        for source in code[:cells]:
            reply = client.execute_interactive(source, timeout=240, output_hook=lambda _: None)
            assert reply["content"]["status"] == "ok", reply["content"]
        client.execute(code[cells])  # the kernel is busy with this cell when it dies
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not km.is_alive()
        return pid
    finally:
        client.stop_channels()
        km.cleanup_resources()


def _collect(out: list[str]):  # type: ignore[no-untyped-def]
    def hook(msg: dict) -> None:  # type: ignore[type-arg]
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    return hook


def _left_by(root: Path, pid: int) -> list[Path]:
    found = []
    for place in (root, Path("/tmp")):
        for path in place.glob("*"):
            try:
                if int((path / OWNER_FILE).read_text()) == pid:
                    found.append(path)
            except (OSError, ValueError):
                continue
    return found


@pytest.mark.daemons
@pytest.mark.slow
def test_a_kernel_killed_mid_run_leaves_nothing_after_the_next_start(temp_root: Path) -> None:
    pid = _kernel_run_until_killed(temp_root, ROOT / "runbooks" / "fix-repair.py", cells=2)
    left = _left_by(temp_root, pid)
    names = sorted(p.name.rsplit("-", 1)[0] for p in left)
    # the run really was mid-way: its workspace, node and engine were all still there (and
    # dockerd's short exec root in /tmp, runbook-x-*, when the temp root is deep)
    assert {"runbook-engine", "runbook-fix-repair", "runbook-node"} <= set(names), left
    assert set(names) <= {"runbook-engine", "runbook-fix-repair", "runbook-node", "runbook-x"}
    assert (next(p for p in left if "fix-repair" in p.name) / "repair-work" / "in.tar").exists()

    # the next start (a fresh interpreter, as a new kernel would be) sweeps all of it
    res = subprocess.run(
        [sys.executable, "-c",
         "from runbook_exec.lab import workspace\nworkspace('next-run').close()\n"],
        env={**os.environ, "TMPDIR": str(temp_root)}, cwd=temp_root,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert res.returncode == 0, res.stderr
    assert not any(p.exists() for p in left)
    assert list(temp_root.iterdir()) == []
    assert scratch.processes_using(left) == []
    assert [m for p in left for m in mounts_under(p)] == []
