"""repair leaves nothing behind when stopped by SIGINT, SIGTERM or SIGHUP, and exits 128+N;
``-o`` and ``--in-place`` treat a read-only target alike; a pipe is refused by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dsave
import pytest

from runbook_exec import cli

EXE = [sys.executable, "-m", "runbook_exec.cli"]


@pytest.fixture(scope="module")
def slow_gz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gzip'd broken archive that takes a while to repair (random, incompressible)."""
    img = dsave.Img([dsave.layer_tar(os.urandom(48 << 20), f"f{i}") for i in range(3)])
    path = tmp_path_factory.mktemp("sig") / "big.tar.gz"
    return dsave.write_tar(path, dsave.docker25(img, order=[2, 0, 1]), compress=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_leaves_nothing_behind(sig: signal.Signals, slow_gz: Path,
                                      tmp_path: Path) -> None:
    out = tmp_path / "fixed.tar.gz"
    child = subprocess.Popen([*EXE, "doctor", "repair", str(slow_gz), "-o", str(out)],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".fixed.tar.gz.*.tmp")):  # the temp file is being written
        assert child.poll() is None and time.monotonic() < deadline, "repair ended too soon"
        time.sleep(0.01)
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + sig, err
    assert f"interrupted ({sig.name}); nothing written" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_read_only_target_refused_alike(mode: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    img = dsave.make_image(3, seed="ro")
    src = dsave.write_tar(tmp_path / "in.tar", dsave.docker25(img, order=[2, 0, 1]))
    target = src
    argv = ["doctor", "repair", str(src), "--in-place"]
    if mode == "-o":
        target = tmp_path / "out.tar"
        target.write_bytes(b"keep me")
        argv = ["doctor", "repair", str(src), "-o", str(target)]
    before = target.read_bytes()
    target.chmod(0o444)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "is read-only" in err and "chmod u+w" in err
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"in.tar", target.name})


def test_repair_refuses_a_pipe_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert cli.main(["doctor", "repair", str(fifo), "-o", str(tmp_path / "o.tar")]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err and "save it to a file first" in err


def test_help_lists_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["doctor", "repair", "--help"])
    text = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "3 ", "128+N", "143 SIGTERM"):
        assert status in text
