"""Translation parity: the check itself, on broken fixture pages and in a real mkdocs build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runbook_exec.site.parity import check_docs, compare, skeleton

ROOT = Path(__file__).resolve().parents[2]

ZH = """# 标题 { #title }

正文，见 [上游](https://github.com/moby/moby/pull/47160)。

## 加载镜像 { #load-image }

```console
$ kind load docker-image demo:v1
```
"""
EN = """# Title { #title }

Body, see [upstream](https://github.com/moby/moby/pull/47160).

## Load the image { #load-image }

```console
$ kind load docker-image demo:v1
```
"""


def write_pair(docs: Path, name: str, zh: str | None, en: str | None) -> None:
    if zh is not None:
        (docs / f"{name}.md").write_text(zh, encoding="utf-8")
    if en is not None:
        (docs / f"{name}.en.md").write_text(en, encoding="utf-8")


def test_parity_accepts_faithful_translation(tmp_path: Path) -> None:
    write_pair(tmp_path, "page", ZH, EN)
    assert check_docs(tmp_path) == []


@pytest.mark.parametrize(
    ("en", "expected"),
    [
        pytest.param(None, "no English translation", id="missing-translation"),
        pytest.param(EN.replace("#load-image", "#load"), "heading anchors differ", id="anchor-drift"),
        pytest.param(EN.replace("{ #load-image }", ""), "without a fixed anchor", id="anchor-missing"),
        pytest.param(EN.replace("demo:v1", "demo:v2"), "code block 1 differs", id="code-drift"),
        pytest.param(EN.replace("47160", "47161"), "links differ", id="link-drift"),
        pytest.param(EN + "\n<!-- runbook: stale-state -->\n", "runbooks differ", id="runbook-drift"),
    ],
)
def test_parity_reports_drift(tmp_path: Path, en: str | None, expected: str) -> None:
    write_pair(tmp_path, "page", ZH, en)
    problems = check_docs(tmp_path)
    assert any(expected in p for p in problems), problems


def test_parity_reports_orphan_english_page(tmp_path: Path) -> None:
    write_pair(tmp_path, "page", None, EN)
    assert check_docs(tmp_path) == ["page.en.md: no Chinese page page.md"]


def test_skeleton_ignores_headings_inside_code() -> None:
    sk = skeleton("# A { #a }\n\n```bash\n# not a heading\n```\n")
    assert sk.anchors == ("a",)
    assert sk.unanchored == ()
    assert sk.code_blocks == ("```bash\n# not a heading",)


def test_compare_is_clean_for_identical_skeletons() -> None:
    assert compare(skeleton(ZH), skeleton(EN)) == []


def test_parity_fails_a_real_mkdocs_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pair(docs, "index", ZH, EN)
    write_pair(docs, "other", ZH, None)  # the translation is missing
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nnav:\n  - index.md\n  - other.md\nplugins:\n  - translation-parity\n"
        "  - i18n:\n      docs_structure: suffix\n      fallback_to_default: false\n"
        "      languages:\n        - locale: zh\n          default: true\n          name: 中文\n"
        "        - locale: en\n          name: English\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "other.md: no English translation other.en.md" in proc.stderr
    assert not (tmp_path / "site" / "en").exists()


def test_repository_docs_are_in_parity() -> None:
    assert check_docs(ROOT / "docs") == []
