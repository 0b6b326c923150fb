"""`runbook-exec notebooks --lang zh|en`: one clean notebook per runbook in one language."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

from runbook_exec.cli import main

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.py"))


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_runbook_gets_a_clean_notebook_in_one_language(
    lang: str, tmp_path: Path, at_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    other = {"zh": "en", "en": "zh"}[lang]
    assert main(["notebooks", "--lang", lang, "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"{len(RUNBOOKS)} notebook(s) in {tmp_path}/" in printed
    assert f"jupyter lab --allow-root {tmp_path}" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{p.stem}.ipynb" for p in RUNBOOKS)
    for runbook in RUNBOOKS:
        source = jupytext.read(runbook)
        nb = json.loads((tmp_path / f"{runbook.stem}.ipynb").read_text(encoding="utf-8"))
        cells = nb["cells"]
        # first a note saying where it comes from, in the reader's language
        assert f"runbooks/{runbook.name}" in "".join(cells[0]["source"])
        assert nb["metadata"]["runbook_exec"] == {"source": f"runbooks/{runbook.name}", "lang": lang}
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        # every code cell, in order, verbatim, never run
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        assert code == [c.source for c in source.cells if c.cell_type == "code"]
        assert all(c["outputs"] == [] and c["execution_count"] is None
                   for c in cells if c["cell_type"] == "code")
        # the prose of this language and none of the other
        prose = ["".join(c["source"]) for c in cells[1:] if c["cell_type"] == "markdown"]
        assert prose == [c.source for c in source.cells
                         if c.cell_type == "markdown" and c.metadata.get("lang") == lang]
        assert not any(c["metadata"].get("lang") == other for c in cells)


def test_notebooks_are_the_same_bytes_every_time(tmp_path: Path, at_root: None) -> None:
    assert main(["notebooks", "--lang", "zh", "runbooks/fix-repair.py", "-o", str(tmp_path)]) == 0
    first = (tmp_path / "fix-repair.ipynb").read_bytes()
    assert main(["notebooks", "--lang", "zh", "runbooks/fix-repair.py", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "fix-repair.ipynb").read_bytes() == first
    assert "本笔记本由 `runbooks/fix-repair.py` 生成" in first.decode()


def test_default_directory_is_notebooks_lang_and_ignored_by_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "demo.py").write_text(
        '# %% [markdown] lang="zh"\n# 演示\n\n# %% [markdown] lang="en"\n# Demo\n\n# %%\nprint(1)\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["notebooks", "--lang", "en"]) == 0
    assert (tmp_path / "notebooks" / "en" / "demo.ipynb").is_file()
    assert "/notebooks/" in (ROOT / ".gitignore").read_text().splitlines()


def test_a_notebook_it_did_not_write_is_never_overwritten(
    tmp_path: Path, at_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "fix-repair.ipynb"
    mine.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    before = mine.read_bytes()
    assert main(["notebooks", "--lang", "en", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"runbook-exec: error: {mine} exists and was not written by `runbook-exec "
                   "notebooks`; move it away or pass another -o DIR\n")
    assert mine.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fix-repair.ipynb"]  # nothing else written


def test_bad_input_is_one_line_and_leaves_nothing(
    tmp_path: Path, at_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "out"
    a_file.write_text("x")
    assert main(["notebooks", "--lang", "en", "-o", str(a_file)]) == 2
    assert capsys.readouterr().err == (
        f"runbook-exec: error: {a_file} is a file, not a directory; pass another -o DIR\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["notebooks", "--lang", "fr", "-o", str(tmp_path / "x")])
    assert exit_.value.code == 2
    assert "invalid choice: 'fr' (choose from 'zh', 'en')" in capsys.readouterr().err
    one_language = tmp_path / "zh-only.py"
    one_language.write_text('# %% [markdown] lang="zh"\n# 只有中文\n\n# %%\nprint(1)\n')
    assert main(["notebooks", "--lang", "en", str(one_language), "-o", str(tmp_path / "y")]) == 2
    assert 'no markdown cells with lang="en"' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "zh-only.py"]
