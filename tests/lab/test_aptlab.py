"""The apt lab: Docker's version strings, the stand-in packages, the chroot's command echo, and
clear errors when the mirror or a tool is missing (no traceback, what to do)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_exec.errors import LabError, MissingDependencyError
from runbook_exec.lab import aptlab
from runbook_exec.lab.aptlab import as_terminal, commands, deb_version, docker_stand_ins


@pytest.mark.parametrize(("release", "kwargs", "expected"), [
    ("24.0.7", {}, "5:24.0.7-1~debian.12~bookworm"),
    ("24.0.9", {}, "5:24.0.9-1~debian.12~bookworm"),
    ("25.0.3", {}, "5:25.0.3-1~debian.12~bookworm"),
    ("24.0.7", {"distro": "ubuntu", "version_id": "22.04", "suite": "jammy"},
     "5:24.0.7-1~ubuntu.22.04~jammy"),
    # gen-deb-ver: a pre-release's '-' becomes '~' so it sorts before the release
    ("25.0.0-rc.1", {}, "5:25.0.0~rc.1-1~debian.12~bookworm"),
], ids=["debian", "debian-24.0.9", "debian-25.0.3", "ubuntu-jammy", "pre-release"])
def test_deb_version_follows_docker_ce_packaging(release: str, kwargs: dict[str, str],
                                                  expected: str) -> None:
    assert deb_version(release, **kwargs) == expected


@pytest.mark.parametrize(("older", "newer"), [("25.0.0-rc.1", "25.0.0"), ("25.0.3", "29.8.1"),
                                               ("24.0.7", "24.0.9"), ("24.0.9", "25.0.0")])
def test_deb_versions_sort_as_dpkg_does(older: str, newer: str) -> None:
    res = subprocess.run(["dpkg", "--compare-versions", deb_version(older), "lt",
                          deb_version(newer)], check=False, timeout=30)
    assert res.returncode == 0


def test_stand_ins_carry_real_binaries_and_no_maintainer_scripts() -> None:
    found = docker_stand_ins(("24.0.7", "29.8.1"))
    by = {(p.package, p.version): p for p in found}
    ce24 = by["docker-ce", "5:24.0.7-1~debian.12~bookworm"]
    assert ce24.files == (("usr/bin/dockerd", "dockerd-24.0.7", "dockerd"),)
    assert ce24.depends == "containerd.io (>= 1.6.4), docker-ce-cli"
    assert by["docker-ce", "5:29.8.1-1~debian.12~bookworm"].depends.startswith(
        "containerd.io (>= 2.1.5)")
    assert {p.package for p in found} == {"docker-ce", "docker-ce-cli", "containerd.io"}
    control = ce24.control(1234)
    assert "Package: docker-ce\nVersion: 5:24.0.7-1~debian.12~bookworm\n" in control
    assert "Installed-Size: 1234\n" in control and "stand-in" in control


def test_commands_keep_a_here_document_with_its_command() -> None:
    script = "apt-mark hold a\ntee /etc/apt/x <<'EOF'\nPin: version 1*\nEOF\nv='1'\ncat <<X\nX"
    assert commands(script) == ["apt-mark hold a", "tee /etc/apt/x <<'EOF'\nPin: version 1*\nEOF",
                                "v='1'", "cat <<X\nX"]


def test_as_terminal_keeps_what_a_terminal_shows() -> None:
    text = "Get:1 x\r\n(Reading database ... 5%\r(Reading database ... 100%\rdone.\r\nnext\n"
    assert as_terminal(text) == "Get:1 x\ndone.\nnext\n"


def test_missing_mmdebstrap_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="install the Debian package `mmdebstrap`"):
        aptlab.debian_tarball()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mmdebstrap --mode=root needs root")
def test_unreachable_mirror_fails_clearly_and_leaves_no_partial(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNBOOK_ENGINES_DIR", str(tmp_path / "engines"))
    mirror = "http://127.0.0.1:9/debian"  # discard port: nothing listens
    with pytest.raises(LabError) as err:
        aptlab.debian_tarball(mirror=mirror)
    message = str(err.value)
    assert f"mmdebstrap failed fetching from {mirror}" in message
    assert aptlab.MIRROR_ENV in message and "cached tarball" in message
    assert not list((tmp_path / "engines" / "lab").iterdir())  # no partial tarball left


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the chroot needs root")
def test_chroot_runs_apt_and_close_removes_it_without_mounts_left() -> None:
    from runbook_exec.mounts import mounts_under

    if not list(aptlab.lab_cache().glob("debian-bookworm-apt-*.tar")):
        pytest.skip("no cached Debian tarball yet: run `runbook-exec run runbooks/apt-pin.py`")
    with aptlab.DebianChroot() as chroot:
        where = chroot.dir
        res = chroot.run("apt-get --version | head -1\ncat /etc/debian_version")
        assert res.output.startswith("$ apt-get --version | head -1\napt 2.6")
        assert "\n$ cat /etc/debian_version\n12." in res.output
        failed = chroot.run("exit 3", check=False, echo=False)
        assert failed.returncode == 3
        with pytest.raises(LabError, match="exited with status 3"):
            chroot.run("exit 3")
    assert not where.exists() and not mounts_under(where)


_SIGNALLED = """
import sys
from runbook_exec.lab import DebianChroot, workspace
scratch = workspace("apt-signal")
with DebianChroot() as chroot:
    print(chroot.dir, flush=True)
    chroot.run("sleep 120", echo=False)
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the chroot needs root")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_run_leaves_no_chroot_process_or_mount(sig: int, tmp_path: Path) -> None:
    """SIGINT: the run removes its chroot itself. SIGTERM (no cleanup in the dying process):
    the chroot's mounts live in its commands' own namespaces, and the next lab start sweeps the
    directory and whatever still runs in it."""
    from runbook_exec.lab import sweep_dead_runs
    from runbook_exec.lab.scratch import processes_using
    from runbook_exec.mounts import mounts_under

    if not list(aptlab.lab_cache().glob("debian-bookworm-apt-*.tar")):
        pytest.skip("no cached Debian tarball yet: run `runbook-exec run runbooks/apt-pin.py`")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    run = subprocess.Popen([sys.executable, "-c", _SIGNALLED], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert run.stdout is not None
        where = Path(run.stdout.readline().strip())
        deadline = time.monotonic() + 30
        while not any(b"sleep" in (Path(f"/proc/{p}/cmdline").read_bytes())
                      for p in processes_using([where]) if Path(f"/proc/{p}").exists()):
            assert time.monotonic() < deadline, "the chroot command never started"
            time.sleep(0.1)
        run.send_signal(sig)
        run.wait(timeout=30)
    finally:
        run.kill()
        run.communicate()
    assert not mounts_under(where)
    if sig == signal.SIGTERM:
        assert where.exists()  # nobody cleaned up: the sweep's job
        sweep_dead_runs(tmp_path)
    deadline = time.monotonic() + 10
    while processes_using([where]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_using([where])
    assert not where.exists()
    assert not list(tmp_path.iterdir())
