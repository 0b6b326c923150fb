"""End to end: a bilingual runbook executed once by the executor, published in two languages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

from runbook_exec.execute.fingerprint import CacheInputs
from runbook_exec.execute.notebooks import discover
from runbook_exec.execute.progress import PlainReporter
from runbook_exec.execute.runner import Options, run

RUNBOOK = """# %% [markdown] lang="zh"
# ## 画图 { #plot }
# 这一步画一张图。

# %% [markdown] lang="en"
# ## Plot { #plot }
# This step draws a figure.

# %%
import matplotlib.pyplot as plt
print("\\x1b[32mlayers: 3\\x1b[0m")
plt.plot([1, 2, 3])
plt.show()
"""


@pytest.mark.slow
def test_plugin_publishes_one_execution_in_both_languages(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "plot.py").write_text(RUNBOOK)
    summary = run(
        discover([], tmp_path / "runbooks"),
        Options(tmp_path / "build", jobs=1, timeout=60),
        inputs=CacheInputs({"target": "sandbox"}, {}, ""),
        reporter=PlainReporter(io.StringIO()),
    )
    assert not summary.failed, summary.records
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# 图\n\n<!-- runbook: plot -->\n")
    (docs / "index.en.md").write_text("# Figure\n\n<!-- runbook: plot -->\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nplugins:\n  - i18n:\n      docs_structure: suffix\n"
        "      languages:\n        - locale: zh\n          default: true\n          name: 中文\n"
        "        - locale: en\n          name: English\n  - runbook-badges\n"
    )
    cfg = load_config(str(tmp_path / "mkdocs.yml"), strict=True)
    build(cfg)
    site = Path(cfg.site_dir)
    zh = (site / "index.html").read_text()
    en = (site / "en" / "index.html").read_text()
    assert "这一步画一张图" in zh and "This step draws a figure" in en
    for page, folder in ((zh, site), (en, site / "en")):
        assert "layers: 3" in page and "\x1b" not in page
        assert 'src="runbook-plot-2-1.png"' in page
        assert (folder / "runbook-plot-2-1.png").read_bytes().startswith(b"\x89PNG")
        assert (folder / "runbooks" / "plot.ipynb").is_file()
