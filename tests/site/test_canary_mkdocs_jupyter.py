"""Canary: why runbooks are not pages of mkdocs-jupyter (README, "For developers").

With mkdocs-static-i18n, a two-language ``.ipynb`` page comes out as the notebook's raw JSON
set as text, not a rendered notebook (mkdocs-static-i18n issue 198). The control builds the
same notebook without i18n and must render, so this test fails for the right reason only.
When the i18n build starts rendering, this test fails: mkdocs-jupyter is an option again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

BIN = Path(sys.executable).parent
I18N = """  - i18n:
      docs_structure: suffix
      languages:
        - {locale: zh, default: true, name: 中文, build: true}
        - {locale: en, name: English, build: true}
"""


def build(root: Path, *, i18n: bool) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    pages = {"page.ipynb": "# 中文标题\n\n中文正文"}
    if i18n:
        pages["page.en.ipynb"] = "# English title\n\nEnglish body"
    for name, text in pages.items():
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell("print(1)")]
        )
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, docs / name)
    config = root / "mkdocs.yml"
    config.write_text(
        "site_name: canary\ntheme: {name: mkdocs}\nnav:\n  - page.ipynb\nplugins:\n"
        + (I18N if i18n else "")
        + "  - mkdocs-jupyter\n",
        encoding="utf-8",
    )
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [str(BIN / "mkdocs"), "build", "-q", "-f", str(config), "-d", str(root / "site")],
        cwd=root, capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "site"


def rendered(html: str) -> bool:
    return "jupyter-wrapper" in html and '"cell_type"' not in html


@pytest.mark.slow
def test_mkdocs_jupyter_alone_renders_the_notebook(tmp_path: Path) -> None:
    site = build(tmp_path, i18n=False)
    assert rendered((site / "page" / "index.html").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_with_static_i18n_a_two_language_notebook_comes_out_as_raw_json(tmp_path: Path) -> None:
    site = build(tmp_path, i18n=True)
    pages = {
        "zh": (site / "page" / "index.html").read_text(encoding="utf-8"),
        "en": (site / "en" / "page" / "index.html").read_text(encoding="utf-8"),
    }
    assert "中文正文" in pages["zh"] and "English body" in pages["en"]
    still_broken = {lang: '"cell_type"' in html and not rendered(html)
                    for lang, html in pages.items()}
    assert still_broken == {"zh": True, "en": True}, (
        "mkdocs-static-i18n#198 looks fixed: both languages render with mkdocs-jupyter now, "
        "so it is an option again for the runbook pages (see README, 'For developers')"
    )
