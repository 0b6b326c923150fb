"""The one daemon context manager: start waits for the probe, a dead or silent daemon is a
clear LabError naming its log, and nothing is left running either way."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_exec.daemons import Closing, Daemon, in_private_mounts
from runbook_exec.errors import LabError
from runbook_exec.proc import pid_alive

PY = sys.executable


def test_start_waits_for_the_probe_and_close_stops(tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    argv = [PY, "-c", f"import pathlib,time; pathlib.Path({str(flag)!r}).touch(); time.sleep(60)"]
    with Daemon("sleeper", argv, log=tmp_path / "log", where=str(flag)) as daemon:
        daemon.start(flag.exists)
        pid = daemon.pid
        assert pid is not None and daemon.running
    assert daemon.pid is None and not pid_alive(pid)


def test_a_daemon_that_exits_says_so_with_its_log(tmp_path: Path) -> None:
    argv = [PY, "-c", "print('bad flag --frob'); raise SystemExit(3)"]
    daemon = Daemon("frobd", argv, log=tmp_path / "frobd.log", where="nowhere")
    with pytest.raises(LabError, match=r"frobd exited with status 3 while starting") as err:
        daemon.start(lambda: False)
    assert "bad flag --frob" in str(err.value) and str(tmp_path / "frobd.log") in str(err.value)
    assert daemon.pid is None


def test_a_silent_daemon_times_out_and_is_stopped(tmp_path: Path) -> None:
    argv = [PY, "-c", "import time; time.sleep(60)"]
    daemon = Daemon("mute", argv, log=tmp_path / "log", where="sock", ready_timeout=0.3)
    with pytest.raises(LabError, match=r"mute did not answer on sock within 0.3s"):
        daemon.start(lambda: False)
    assert daemon.pid is None and not daemon.running


def test_private_mounts_wraps_in_unshare_when_there_is_one() -> None:
    argv = in_private_mounts(["containerd", "--config", "c.toml"])
    assert argv[-3:] == ["containerd", "--config", "c.toml"]
    if len(argv) > 3:
        assert argv[1:4] == ["--mount", "--propagation", "private"]


def test_closing_closes_on_error() -> None:
    closed = []

    class Thing(Closing):
        def close(self) -> None:
            closed.append(True)

    with pytest.raises(RuntimeError), Thing():
        raise RuntimeError("boom")
    assert closed == [True]

