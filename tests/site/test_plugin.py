"""The runbook-badges plugin: one executed notebook rendered into zh and en pages."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from runbook_exec.execute import ledger
from runbook_exec.site.render import (
    badge_html,
    demote_headings,
    download_html,
    filter_language,
    render_notebook,
    site_footer,
)

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000000000200015e2f3a2e0000000049454e44ae426082"
    )
).decode()


def executed_notebook() -> dict[str, Any]:
    def md(text: str, lang: str | None) -> dict[str, Any]:
        return {"cell_type": "markdown", "metadata": {"lang": lang} if lang else {}, "source": text}

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"jupytext": {"formats": "py:percent"}, "kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            md("## 复现 { #reproduce }\n中文说明", "zh"),
            md("## Reproduce { #reproduce }\nEnglish prose", "en"),
            md("Shared note", None),
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "print('ctr: mismatched image rootfs and manifest layers')",
                "outputs": [
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "\x1b[31mctr: mismatched image rootfs and manifest layers\x1b[0m\n",
                    },
                    {"output_type": "stream", "name": "stderr", "text": ["line 2\n"]},
                ],
            },
            {
                "cell_type": "code",
                "metadata": {"tags": ["raises-exception"]},
                "execution_count": 2,
                "source": "s = '```'\nraise ValueError(s)",
                "outputs": [
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": "```",
                        "traceback": ["\x1b[0;31m---------\x1b[0m", "giant traceback"],
                    },
                ],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 3,
                "source": "plot()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": PNG, "text/plain": "<Figure>"},
                    },
                    {
                        "output_type": "execute_result",
                        "metadata": {},
                        "execution_count": 3,
                        "data": {"text/plain": "'sha256:abc'"},
                    },
                ],
            },
        ],
    }


def record(name: str, status: str = "passed") -> ledger.Record:
    failure: ledger.Failure | None = None
    if status == "failed":
        failure = {
            "cell": 2,
            "first_line": "s = '```'",
            "error": "ValueError: boom",
            "kind": "exception",
        }
    return {
        "name": name,
        "source": f"runbooks/{name}.py",
        "status": status,  # type: ignore[typeddict-item]
        "started": "2025-01-02T03:04:05Z",
        "finished": "2025-01-02T03:04:17Z",
        "duration": 12.34,
        "cells": 3,
        "failure": failure,
        "engines": {
            "dockerd-25.0.0": {"module": "github.com/docker/docker@v25.0.0+incompatible",
                               "go": "go1.21.6", "digest": "d" * 64},
            "containerd-1.7.1": {"module": "github.com/containerd/containerd@v1.7.1",
                                 "go": "go1.20.4", "digest": "c" * 64},
        },
        "environment": {
            "skopeo": "skopeo version 1.9.3",
            "runc": "runc version 1.1.5+ds1",
            "target": "sandbox",
            "python": "3.11.7",
        },
        "package_version": "0.1.0",
        "git_commit": "abc",
        "cache_key": "k",
        "cached": False,
        "notebook": f"executed/{name}.ipynb",
    }


def test_render_zh_keeps_chinese_prose_code_and_outputs() -> None:
    rendered = render_notebook(executed_notebook(), "zh", "runbook-demo")
    md = rendered.markdown
    assert "中文说明" in md and "Shared note" in md and "English prose" not in md
    # code folds away under a per-language title; outputs stay outside the fold
    assert ('??? example "代码 [1]"\n\n    ```python\n'
            "    print('ctr: mismatched image rootfs and manifest layers')\n    ```") in md
    # stdout and stderr of one cell form one text block, colours stripped
    assert "``` { .text .runbook-output }\nctr: mismatched image rootfs and manifest layers\nline 2\n```" in md
    # the error is one line; a fence inside the content gets a longer fence
    assert "```` { .text .runbook-output }\nValueError: ```\n````" in md
    assert "giant traceback" not in md
    # images are files named by the cell's index in the notebook and the output's index
    assert '<img src="runbook-demo-5-0.png"' in md
    assert rendered.assets["runbook-demo-5-0.png"].startswith(b"\x89PNG")
    assert "``` { .text .runbook-output }\n'sha256:abc'\n```" in md
    assert "http" not in md


def _code(number: int, outputs: list[dict[str, Any]], tags: list[str] | None = None,
          source: str = "x") -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {"tags": tags} if tags else {},
            "execution_count": number, "source": source, "outputs": outputs}


def test_render_jpeg_html_and_tags() -> None:
    nb = executed_notebook()
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0 not a real jpeg").decode()
    nb["cells"] = [
        _code(1, [{"output_type": "display_data", "metadata": {},
                   "data": {"image/jpeg": jpeg, "text/plain": "<Image>"}}]),
        _code(2, [{"output_type": "display_data", "metadata": {},
                   "data": {"text/html": "<table><tr><td>a</td></tr>\n\n<tr><td>b</td></tr></table>",
                            "text/plain": "table"}}]),
        _code(3, [{"output_type": "stream", "name": "stdout", "text": "hidden output\n"}],
              tags=["remove-output"], source="shown_source()"),
        _code(4, [{"output_type": "stream", "name": "stdout", "text": "kept output\n"}],
              tags=["remove-input"], source="hidden_source()"),
        _code(5, [{"output_type": "stream", "name": "stdout", "text": "gone\n"}],
              tags=["remove-cell"], source="gone()"),
        _code(6, [{"output_type": "stream", "name": "stdout", "text": "  \n"}], source="y"),
    ]
    rendered = render_notebook(nb, "en", "r")
    md = rendered.markdown
    assert '<img src="r-0-0.jpg"' in md and rendered.assets["r-0-0.jpg"].startswith(b"\xff\xd8")
    assert '<div class="runbook-html" markdown="0">\n<table><tr><td>a</td>' in md
    assert "shown_source()" in md and "hidden output" not in md
    assert "kept output" in md and "hidden_source()" not in md
    assert "gone" not in md
    # numbering counts every code cell, removed ones too; a blank output leaves no block
    assert '"Code [6]"' in md and md.rstrip().endswith("```python\n    y\n    ```")


def test_render_en_has_the_same_code_and_outputs_as_zh() -> None:
    zh = render_notebook(executed_notebook(), "zh", "r").markdown
    en = render_notebook(executed_notebook(), "en", "r").markdown
    assert "English prose" in en and "中文说明" not in en
    assert '??? example "Code [1]"' in en
    assert zh.replace("## 复现 { #reproduce }\n中文说明", "").replace('"代码 [', '"[') == en.replace(
        "## Reproduce { #reproduce }\nEnglish prose", ""
    ).replace('"Code [', '"[')


def test_filter_language_drops_other_prose_only() -> None:
    nb = filter_language(executed_notebook(), "en")
    kinds = [(c["cell_type"], c["metadata"].get("lang")) for c in nb["cells"]]
    assert kinds == [
        ("markdown", "en"),
        ("markdown", None),
        ("code", None),
        ("code", None),
        ("code", None),
    ]
    assert "jupytext" not in nb["metadata"]


@pytest.mark.parametrize(
    ("status", "lang", "expected"),
    [
        (
            "passed",
            "zh",
            [
                "已验证",
                "2025-01-02 03:04:17 UTC",
                "12.3 秒",
                "dockerd 25.0.0 · containerd 1.7.1 · skopeo 1.9.3 · sandbox",
            ],
        ),
        ("passed", "en", ["Verified", "in 12.3 s", "dockerd 25.0.0 · containerd 1.7.1"]),
        ("failed", "zh", ["验证失败", "第 2 个代码单元失败", "ValueError: boom"]),
        (
            "failed",
            "en",
            ["Verification failed", "Code cell 2 failed", "<code>s = &#x27;```&#x27;</code>"],
        ),
        (None, "zh", ["未执行"]),
        (None, "en", ["Not executed"]),
    ],
    ids=["verified-zh", "verified-en", "failed-zh", "failed-en", "missing-zh", "missing-en"],
)
def test_badge_html_shows_the_verification(
    status: str | None, lang: str, expected: list[str]
) -> None:
    html = badge_html(record("demo", status) if status else None, lang)
    for text in expected:
        assert text in html


# --- the plugin inside a real (tiny, bilingual) mkdocs build ------------------------------


def make_site(root: Path, status: str | None, marker: str = "demo") -> Path:
    docs = root / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "index.md").write_text("# 首页\n")
    (docs / "index.en.md").write_text("# Home\n")
    (docs / "guide" / "demo.md").write_text(f"# 演示\n\n<!-- runbook: {marker} -->\n")
    (docs / "guide" / "demo.en.md").write_text(f"# Demo\n\n<!-- runbook: {marker} -->\n")
    build_dir = root / "build"
    records = {}
    if status is not None:
        records["demo"] = record("demo", status)
        target = ledger.executed_path(build_dir, "demo")
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(executed_notebook()))
    ledger.save(ledger.ledger_path(build_dir), records)
    config = root / "mkdocs.yml"
    config.write_text(
        "site_name: t\nsite_url: https://example.org/\nnav:\n  - index.md\n  - guide/demo.md\n"
        "plugins:\n  - i18n:\n      docs_structure: suffix\n      fallback_to_default: false\n"
        "      languages:\n        - locale: zh\n          default: true\n          name: 中文\n"
        "          build: true\n        - locale: en\n          name: English\n"
        "          build: true\n  - runbook-badges\n"
    )
    return config


def build_site(config: Path, strict: bool) -> Path:
    cfg = load_config(str(config), strict=strict)
    build(cfg)
    return Path(cfg.site_dir)


def test_site_footer_counts_records_and_names_the_environment() -> None:
    env = {"skopeo": "skopeo version 1.9.3", "target": "sandbox"}
    used = {"dockerd-25.0.0": {}, "containerd-1.7.1": {}}
    records: Any = {
        "a": {"status": "passed", "finished": "2026-11-27T10:00:00Z", "environment": env,
              "engines": used},
        "b": {"status": "failed", "finished": "2026-11-27T11:00:00Z", "environment": env},
    }
    en = site_footer(records, "en", "../verification.md")
    assert "1 of this site's 2 runbooks verified (latest run 2026-11-27 11:00:00 UTC" in en
    assert "2 engines built from source · skopeo 1.9.3 · sandbox" in en and en.endswith("[How this site is verified](../verification.md)</small>")
    assert "data-search-exclude" in en
    assert "本站的 2 个运行手册中 1 个验证通过" in site_footer(records, "zh")
    assert "no verification record" in site_footer({}, "en")


def test_download_html_links_the_howto_when_given() -> None:
    plain = download_html("../runbooks/demo.ipynb", "demo", "en")
    assert plain.startswith('<p class="runbook-download"><a href="../runbooks/demo.ipynb"')
    assert "run it" not in plain
    howto = download_html("../runbooks/demo.ipynb", "demo", "zh", "../verification.md#run")
    assert howto.endswith("\n\n[如何在自己的机器上运行](../verification.md#run)")


def test_plugin_builds_both_languages_from_one_execution(tmp_path: Path) -> None:
    site = build_site(make_site(tmp_path, "passed"), strict=True)
    zh = (site / "guide" / "demo" / "index.html").read_text()
    en = (site / "en" / "guide" / "demo" / "index.html").read_text()
    assert "中文说明" in zh and "English prose" not in zh and "已验证" in zh
    assert "English prose" in en and "中文说明" not in en and "Verified" in en
    for page in (zh, en):
        assert "ctr: mismatched image rootfs and manifest layers" in page
        assert 'src="runbook-demo-5-0.png"' in page
    assert (site / "guide" / "demo" / "runbook-demo-5-0.png").read_bytes().startswith(b"\x89PNG")
    assert (site / "en" / "guide" / "demo" / "runbook-demo-5-0.png").is_file()
    assert 'href="../../runbooks/demo.ipynb"' in zh
    assert 'href="../../runbooks/demo.ipynb"' in en  # relative to /en/guide/demo/
    zh_nb = json.loads((site / "runbooks" / "demo.ipynb").read_text())
    en_nb = json.loads((site / "en" / "runbooks" / "demo.ipynb").read_text())
    assert [c["metadata"].get("lang") for c in zh_nb["cells"]][:2] == ["zh", None]
    assert [c["metadata"].get("lang") for c in en_nb["cells"]][:2] == ["en", None]
    assert [c for c in zh_nb["cells"] if c["cell_type"] == "code"] == [
        c for c in en_nb["cells"] if c["cell_type"] == "code"
    ]


@pytest.mark.parametrize(
    ("status", "marker", "message"),
    [
        (
            "failed",
            "demo",
            "page guide/demo.md embeds a failed runbook: "
            "demo: cell 2 `s = '```'`: ValueError: boom",
        ),
        (
            None,
            "demo",
            "page guide/demo.md embeds runbook 'demo', which has no verification "
            "record in build/ledger.json; run `runbook-exec run`",
        ),
        ("passed", "other", "embeds runbook 'other', which has no verification record"),
    ],
    ids=["failed", "no-record", "unknown-name"],
)
def test_plugin_strict_build_fails(
    tmp_path: Path, status: str | None, marker: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    # mkdocs logs a plugin's error and aborts the build with a generic message
    with pytest.raises(Abort, match="BuildError"):
        build_site(make_site(tmp_path, status, marker), strict=True)
    assert message in caplog.text


def test_plugin_non_strict_build_shows_the_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = build_site(make_site(tmp_path, "failed"), strict=False)
    en = (site / "en" / "guide" / "demo" / "index.html").read_text()
    assert "Verification failed" in en and "Code cell 2 failed" in en
    assert any("embeds a failed runbook" in r.getMessage() for r in caplog.records)


def test_plugin_non_strict_build_marks_missing_as_not_executed(tmp_path: Path) -> None:
    site = build_site(make_site(tmp_path, None), strict=False)
    assert "未执行" in (site / "guide" / "demo" / "index.html").read_text()
    assert "Not executed" in (site / "en" / "guide" / "demo" / "index.html").read_text()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Title { #t }\n\n## Step", "## Title { #t }\n\n### Step"),
        ("## Already second\n### Third", "## Already second\n### Third"),
        ("# Top\n```bash\n# a shell comment\n```", "## Top\n```bash\n# a shell comment\n```"),
        ("no headings", "no headings"),
    ],
    ids=["h1-shifted", "h2-kept", "fenced-comment-kept", "none"],
)
def test_demote_headings_puts_the_runbook_below_the_page_title(source: str, expected: str) -> None:
    assert demote_headings(source) == expected
