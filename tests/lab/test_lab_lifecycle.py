"""Lifecycle: missing parts fail in one line, a killed owner leaves no daemon or mount,
the sandbox target opens, prints why, and closes everything."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import runbook_exec.lab as lab
from runbook_exec import proc
from runbook_exec.errors import EngineError, LabError, MissingDependencyError
from runbook_exec.lab import Engine, Node, open_target
from runbook_exec.lab._containerd import Containerd, make_workdir, remove_workdir, sweep_stale
from runbook_exec.mounts import mounts_under


def test_public_api_is_exactly_all() -> None:
    import types

    public = {
        name
        for name, value in vars(lab).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(lab.__all__)


@pytest.mark.parametrize(
    ("factory", "engine", "module"),
    [
        (Node, "containerd-1.7.1", "github.com/containerd/containerd@v1.7.1"),
        (Engine, "dockerd-24.0.7", "github.com/docker/docker@v24.0.7+incompatible"),
    ],
    ids=["node", "engine"],
)
def test_unbuilt_engine_names_the_build_command(
    factory: type[Node] | type[Engine],
    engine: str,
    module: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("RUNBOOK_ENGINES_DIR", str(tmp_path))  # an empty cache
    with pytest.raises(EngineError) as err:
        factory()
    assert str(err.value) == (f"engine {engine} ({module}) is not built; run "
                              f"`runbook-exec engines build {engine}` (about 1-4 min on 2 cores)")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_not_root_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(MissingDependencyError, match=r"^the sandbox containerd needs root .*"):
        Node().start()


@pytest.mark.daemons
def test_killed_owner_leaves_no_daemon_or_mount() -> None:
    code = (
        "import os, signal, sys\n"
        "from runbook_exec.lab import Node\n"
        "n = Node().start()\n"
        "print(n.pid, n.root, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    res = proc.run([sys.executable, "-c", code], timeout=60, check=False, echo=False)
    assert res.returncode == -9, res.output
    pid_text, root_text = res.stdout.split()
    pid, root = int(pid_text), Path(root_text)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "containerd outlived its killed owner"
    assert mounts_under(root) == []
    # the next lab sweeps what the dead owner could not remove (another lab running at the
    # same time may have swept it already)
    sweep_stale("runbook-node-")
    assert not root.exists()


def test_workdir_honours_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    base = make_workdir("runbook-node-")
    try:
        assert base.parent == tmp_path
    finally:
        remove_workdir(base)
    assert not base.exists()


@pytest.mark.daemons
def test_open_target_sandbox_prints_why_and_cleans_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_target({}) as target:
        assert target.kind == "sandbox"
        roots = [target.node.root, target.engine.root]
        built = target.engine.build("demo:target", [b"t1", b"t22"])
        result = target.kind_load(built.ref, tmp_path / "images.tar")
        assert result.ok, result.output
        assert target.node.kubelet_view(built.ref).present
    assert capsys.readouterr().out.startswith(
        "target: sandbox — RUNBOOK_TARGET is not set (the default)\n"
    )
    assert not any(r.exists() for r in roots)


@pytest.mark.parametrize(("length", "refused"), [(104 - len("/containerd.sock.ttrpc"), False),
                                                 (105 - len("/containerd.sock.ttrpc"), True)])
def test_a_socket_path_containerd_would_refuse_is_a_clear_error(length: int,
                                                                refused: bool) -> None:
    base = Path("/" + "d" * (length - 1))
    if not refused:
        Containerd(base, cri=False)  # only checked, nothing started
        return
    with pytest.raises(LabError, match="too long for a unix socket; set TMPDIR"):
        Containerd(base, cri=False)
