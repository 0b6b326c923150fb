"""A reader's own run: JupyterLab, headless, as the README says, driven by Debian's Chromium.

The notebook is what `runbook-exec notebooks --lang en` writes; JupyterLab is started the
way the README starts it as root (`--allow-root`); the browser opens the notebook by its URL,
runs every cell from the Run menu and reads containerd's error in the page. Afterwards the
run's scratch directory is gone, and nothing it started is left once the server stops.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runbook_exec.lab import scratch

from .conftest import DESKTOP

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = "mismatched-rootfs"
EXPECTED = "ctr: mismatched image rootfs and manifest layers"
LAST_OUTPUT = "lab closed, work directory removed"

pytestmark = [pytest.mark.browser, pytest.mark.daemons, pytest.mark.slow]


@dataclass
class Lab:
    url: str
    token: str
    notebooks: Path
    temp_root: Path
    server: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, server: subprocess.Popen[bytes], log: Path, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:  # noqa: S310 (127.0.0.1)
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {limit:g} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[Lab]:
    bindir = Path(sys.executable).parent
    notebooks = tmp_path / "notebooks" / "en"
    res = subprocess.run(
        [bindir / "runbook-exec", "notebooks", "--lang", "en", f"runbooks/{RUNBOOK}.py",
         "-o", notebooks],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert res.returncode == 0, res.stderr
    # a short temp root (daemons bind unix sockets under it) that only this server uses
    temp_root = Path(tempfile.mkdtemp(prefix="rbj-", dir="/tmp"))
    home = tmp_path / "home"
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # every cell in the DOM (JupyterLab 4 otherwise renders only the cells on screen)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    # and no "get Jupyter news?" question, whose answer would be a request to another host
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "TMPDIR": str(temp_root),
        # the reader's own Jupyter settings and kernels stay out of it; the engines do not
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("RUNBOOK_TARGET", None)
    log = tmp_path / "jupyterlab.log"
    argv = [
        str(bindir / "jupyter"), "lab", "--allow-root", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks.parent}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(f"{url}/api/status?token={token}", server, log)
        yield Lab(url, token, notebooks, temp_root, server, log)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # jupyter's own shutdown: kernels first
            time.sleep(0.5)
            server.send_signal(signal.SIGINT)  # the second ^C skips the "are you sure"
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        shutil.rmtree(temp_root, ignore_errors=True)


def _run_all_cells(page: Any) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


_IDLE = ("() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')]"
         ".some(e => e.getAttribute('data-status') === 'idle')")


def test_a_runbook_runs_in_jupyterlab_and_shows_the_error(browser: Any, jupyterlab: Lab) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(
        (jupyterlab.url, "data:", "blob:", "ws://127.0.0.1")) else outside.append(r.url))
    try:
        page.goto(f"{jupyterlab.url}/lab/tree/en/{RUNBOOK}.ipynb?token={jupyterlab.token}")
        # opened as a notebook (not as text), in English only, with its kernel started
        body = page.locator(".jp-NotebookPanel:visible")
        try:
            body.get_by_role("heading", name="Reproducing").first.wait_for(timeout=120_000)
            page.wait_for_function(_IDLE, timeout=120_000)
        except Exception:
            page.screenshot(path=str(jupyterlab.log.with_suffix(".png")))
            raise
        assert "Reproducing" in body.inner_text()
        assert "复现" not in body.inner_text()

        _run_all_cells(page)
        outputs = body.locator(".jp-OutputArea-output")
        # the last cell's output (not its source, which has the same words)
        try:
            outputs.filter(has_text=LAST_OUTPUT).or_(
                outputs.filter(has_text="Traceback (most recent call last)")
            ).first.wait_for(timeout=180_000)
        except Exception:
            page.screenshot(path=str(jupyterlab.log.with_suffix(".png")), full_page=True)
            raise AssertionError("\n".join(outputs.all_inner_texts())[-4000:]) from None
        page.wait_for_function(_IDLE, timeout=60_000)
        shown = "\n".join(outputs.all_inner_texts())
        assert "Traceback" not in shown, shown[-4000:]
        assert EXPECTED in shown
        # every code cell ran, in order, once
        nb = json.loads((jupyterlab.notebooks / f"{RUNBOOK}.ipynb").read_text(encoding="utf-8"))
        code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
        prompts = body.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        assert [t.strip() for t in prompts] == [f"[{n}]:" for n in range(1, code_cells + 1)]
        # the run cleaned up after itself: its scratch dir and lab dirs are gone
        assert [p.name for p in jupyterlab.temp_root.iterdir()] == []
        # and nothing was written next to the notebook but JupyterLab's own checkpoints
        names = {p.name for p in jupyterlab.notebooks.iterdir()} - {".ipynb_checkpoints"}
        assert names == {f"{RUNBOOK}.ipynb"}
    finally:
        context.close()
    assert outside == []
    assert scratch.processes_using([jupyterlab.temp_root]) == []

