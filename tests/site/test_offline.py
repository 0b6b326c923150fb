"""The no-external-assets check, on crafted pages (it must catch each way a page loads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_exec.site.offline import scan_html, scan_site


@pytest.mark.parametrize(
    ("html", "url"),
    [
        pytest.param('<script src="https://cdn.example/x.js"></script>', "https://cdn.example/x.js", id="script-src"),
        pytest.param('<link rel="stylesheet" href="//fonts.example/css">', "//fonts.example/css", id="stylesheet"),
        pytest.param('<link rel="icon" href="http://x.example/i.png">', "http://x.example/i.png", id="icon"),
        pytest.param('<img srcset="a.png 1x, https://x.example/b.png 2x">', "https://x.example/b.png", id="srcset"),
        pytest.param('<div style="background:url(https://x.example/b.png)"></div>', "https://x.example/b.png", id="inline-style"),
        pytest.param("<style>@import 'https://x.example/f.css';</style>", "https://x.example/f.css", id="css-import"),
        pytest.param(
            '<script type="module">const m = await import("https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.esm.min.mjs");</script>',
            "https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.esm.min.mjs",
            id="nbconvert-mermaid-import",
        ),
        pytest.param('<iframe src="https://x.example/"></iframe>', "https://x.example/", id="iframe"),
    ],
)
def test_scan_html_finds_external_load(html: str, url: str) -> None:
    assert [f.url for f in scan_html(html)] == [url]


@pytest.mark.parametrize(
    "html",
    [
        pytest.param('<a href="https://github.com/moby/moby/pull/47160">PR</a>', id="clicked-link"),
        pytest.param('<script src="../assets/javascripts/bundle.js"></script>', id="local-script"),
        pytest.param('<link rel="alternate" hreflang="en" href="https://x.example/en/">', id="alternate"),
        pytest.param('<img src="data:image/png;base64,AAAA">', id="data-uri"),
    ],
)
def test_scan_html_allows_local_and_clicked(html: str) -> None:
    assert scan_html(html) == []


def test_scan_site_walks_html_and_css(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "index.html").write_text("<p>ok</p>", encoding="utf-8")
    (tmp_path / "en" / "index.html").write_text('<script src="https://x.example/a.js"></script>', encoding="utf-8")
    (tmp_path / "a.css").write_text("body{background:url('//x.example/b.png')}", encoding="utf-8")
    count, found = scan_site(tmp_path)
    assert count == 3
    assert sorted(str(f) for f in found) == [
        "a.css: <css> loads //x.example/b.png",
        "en/index.html: <script> loads https://x.example/a.js",
    ]
