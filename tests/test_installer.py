"""scripts/install-system-deps.sh: idempotent, and clear on bad input (no root, no apt, apt fails)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"
POLICY = Path("/usr/sbin/policy-rc.d")


def fake_apt(tmp_path: Path, body: str) -> Path:
    """An apt-get stand-in that logs its calls; ``body`` runs for `install`."""
    log = tmp_path / "apt-calls.log"
    script = tmp_path / "apt-get"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {log}\ncase "$1" in update) exit 0;; esac\n{body}\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def run_script(env_extra: dict[str, str], *, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    argv = ["bash", str(SCRIPT)]
    if as_nobody:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_installer_is_idempotent_when_everything_is_present(tmp_path: Path) -> None:
    apt = fake_apt(tmp_path, "exit 0")
    proc = run_script({"RUNBOOK_APT_GET": str(apt)})
    assert proc.returncode == 0, proc.stderr
    assert "all system parts present" in proc.stdout
    assert not (tmp_path / "apt-calls.log").exists(), "apt was called although nothing was missing"


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_installer_without_root_names_missing_packages_and_command() -> None:
    proc = run_script({"RUNBOOK_EXTRA_PACKAGES": "demo-missing-pkg"}, as_nobody=True)
    assert proc.returncode == 1
    assert "not root, so nothing was installed" in proc.stderr
    assert "apt-get install -y --no-install-recommends demo-missing-pkg" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_installer_without_apt_says_so(tmp_path: Path) -> None:
    proc = run_script({"RUNBOOK_EXTRA_PACKAGES": "demo-missing-pkg",
                       "RUNBOOK_APT_GET": str(tmp_path / "no-apt-get")})
    assert proc.returncode == 1
    assert "needs Debian/Ubuntu apt" in proc.stderr
    assert "demo-missing-pkg" in proc.stderr


def test_installer_reports_failing_package_and_leaves_no_policy(tmp_path: Path) -> None:
    had_policy = POLICY.exists()
    apt = fake_apt(tmp_path, 'echo "E: Unable to locate package demo-missing-pkg" >&2; exit 100')
    proc = run_script({"RUNBOOK_EXTRA_PACKAGES": "demo-missing-pkg", "RUNBOOK_APT_GET": str(apt)})
    assert proc.returncode == 2
    assert "apt-get install failed" in proc.stderr
    assert "demo-missing-pkg" in proc.stderr
    calls = (tmp_path / "apt-calls.log").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].startswith("install -y -qq --no-install-recommends demo-missing-pkg")
    assert POLICY.exists() == had_policy, "the installer left its policy-rc.d behind"


def test_installer_forbids_service_starts_while_installing(tmp_path: Path) -> None:
    # The fake apt records what policy-rc.d answers while "installing": 101 = forbidden.
    apt = fake_apt(tmp_path, f"/usr/sbin/policy-rc.d docker start; echo $? > {tmp_path}/policy-rc; exit 0")
    proc = run_script({"RUNBOOK_EXTRA_PACKAGES": "demo-missing-pkg", "RUNBOOK_APT_GET": str(apt)})
    assert (tmp_path / "policy-rc").read_text().strip() == "101"
    # the fake apt installs nothing, so the post-install check must notice
    assert proc.returncode == 2
    assert "installed demo-missing-pkg but /nonexistent/demo-missing-pkg is still missing" in proc.stderr
