"""The one-file download, run by a plain ``/usr/bin/python3 -I`` outside the venv (no
site-packages, no source tree), gives the same verdicts and the same repaired bytes as
the installed doctor, on every real archive of the differential corpus and every node."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from pathlib import Path

import dsave
import pytest
import realcorpus

from runbook_exec.doctor import zipapp
from runbook_exec.doctor.diagnose import diagnose
from runbook_exec.doctor.repair import repair
from runbook_exec.errors import RepairError

PLAIN_PYTHON = "/usr/bin/python3"
NODES = ("v0.20.0", "v0.27.0", "v0.33.0")


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zipapp.build(tmp_path_factory.mktemp("pyz") / "kind-doctor.pyz")


def _run(pyz: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLAIN_PYTHON, "-I", str(pyz), *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={"PATH": "/usr/bin:/bin"})


def test_import_graph_has_no_executor_lab_or_third_party(pyz: Path, tmp_path: Path) -> None:
    names = zipfile.ZipFile(pyz).namelist()
    assert not [n for n in names if "/execute/" in n or "/lab/" in n or "/site/" in n]
    archive = dsave.write_tar(tmp_path / "a.tgz", dsave.docker25(dsave.make_image(2), order=[1, 0]),
                              compress=True)
    probe = (f"import runpy, sys; sys.argv = ['kind-doctor.pyz', 'repair', {str(archive)!r}, "
             f"'-o', {str(tmp_path / 'o.tgz')!r}]\n"
             "try:\n    runpy.run_path(sys.path[0], run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "bad = sorted(m for m in sys.modules if m.startswith(('runbook_exec.execute', "
             "'runbook_exec.lab', 'rich', 'docker', 'yaml', 'nbformat')))\n"
             "print(bad)")
    # -I ignores PYTHONPATH and user site-packages: the zip goes on sys.path by hand
    res = subprocess.run([PLAIN_PYTHON, "-I", "-c", f"import sys; sys.path.insert(0, "
                          f"{str(pyz)!r}); exec({probe!r})"], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    assert (tmp_path / "o.tgz").exists()


def test_help_and_bad_input(pyz: Path, tmp_path: Path) -> None:
    res = _run(pyz, "--help", cwd=tmp_path)
    assert res.returncode == 0 and "diagnose" in res.stdout and "128+N" in res.stdout
    (tmp_path / "junk.tar").write_bytes(b"not a tar" * 100)
    res = _run(pyz, "diagnose", "junk.tar", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("kind-doctor: error: ")


def _verdict(doc: dict) -> dict:
    return {
        "exit": doc["exit_code"], "repairable": doc["repairable"],
        "findings": [(f["code"], f["severity"], f["containerd_error"]) for f in doc["findings"]],
        "refs": [i["refs"] for i in doc["images"]], "names": [i["names"] for i in doc["images"]],
    }


@pytest.mark.daemons
def test_download_agrees_with_the_installed_doctor(pyz: Path, corpus: list[realcorpus.Case],
                                                   tmp_path: Path) -> None:
    problems = []
    for node in NODES:
        for case in corpus:
            res = _run(pyz, "diagnose", "--json", "--node", node, str(case.path), cwd=tmp_path)
            want = diagnose(str(case.path), node=node)
            if res.returncode != want.exit_code or _verdict(json.loads(res.stdout)) != \
                    _verdict(want.to_json()):
                problems.append(f"{node} {case.name}: diagnose differs: {res.stdout[:300]}")
                continue
            if not want.findings:
                continue
            mine, theirs = tmp_path / "mine.tar", tmp_path / "theirs.tar"
            try:
                repair(case.path, mine, node=node)
            except RepairError:
                mine.unlink(missing_ok=True)
            res = _run(pyz, "repair", "--node", node, str(case.path), "-o", str(theirs),
                       cwd=tmp_path)
            same_status = (res.returncode == 0) == mine.exists()
            same_bytes = not mine.exists() or (
                theirs.exists() and hashlib.sha256(mine.read_bytes()).digest()
                == hashlib.sha256(theirs.read_bytes()).digest())
            if not (same_status and same_bytes):
                problems.append(f"{node} {case.name}: repair differs: {res.stderr[-300:]}")
            mine.unlink(missing_ok=True)
            theirs.unlink(missing_ok=True)
    assert not problems, "\n".join(problems)


def test_site_build_offers_the_download(tmp_path: Path) -> None:
    """A strict two-language build with the plugin links both doctor pages to the file,
    and the file served is a working zipapp carrying the site's site_url."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = tmp_path / "docs"
    docs.mkdir()
    link = "[kind-doctor.pyz](downloads/kind-doctor.pyz)\n"
    (docs / "index.md").write_text("# 首页\n\n" + link)
    (docs / "index.en.md").write_text("# Home\n\n" + link)
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nsite_url: https://handbook.test.invalid/\nnav:\n  - index.md\n"
        "plugins:\n  - i18n:\n      docs_structure: suffix\n      fallback_to_default: false\n"
        "      languages:\n        - locale: zh\n          default: true\n          name: 中文\n"
        "          build: true\n        - locale: en\n          name: English\n"
        "          build: true\n  - kind-doctor-download\n")
    cfg = load_config(str(config), strict=True)
    build(cfg)
    site = Path(cfg.site_dir)
    served = site / "downloads" / "kind-doctor.pyz"
    assert served.is_file()
    assert 'href="downloads/kind-doctor.pyz"' in (site / "index.html").read_text()
    en = (site / "en" / "index.html").read_text()
    target = (site / "en" / re.search(r'href="([^"]*kind-doctor\.pyz)"', en)[1]).resolve()
    assert target.is_file()
    with zipfile.ZipFile(served) as z:
        assert z.read("runbook_exec/doctor/site_url.txt") == b"https://handbook.test.invalid/"
    res = _run(served, "--help", cwd=tmp_path)
    assert res.returncode == 0
