"""Per-language search indexes and page rebasing (runbook_exec.site.search_index)."""

from __future__ import annotations

import json

import pytest

from runbook_exec.site.search_index import (
    IndexFormatError,
    index_path,
    language_of,
    rebase_page,
    split_index,
    strip_alternate_links,
)

CONFIG = {
    "lang": ["zh", "en"],
    "separator": "[\\s\\u200b\\u3000\\-、。，．？！；]+",
    "pipeline": ["trimmer", "stopWordFilter"],
    "fields": {"title": {"boost": 1000.0}},
}
# the merged index as mkdocs-static-i18n leaves it: default language first, then /en/
MERGED = {
    "config": CONFIG,
    "docs": [
        {"location": "", "title": "kind 镜像加载故障手册", "text": "首页"},
        {"location": "errors/wrong-diff-id/", "title": "层顺序错了", "text": "wrong diff id"},
        {"location": "errors/wrong-diff-id/#error", "title": "报错原文", "text": "…"},
        {"location": "en/", "title": "kind image-load handbook", "text": "home"},
        {"location": "en/errors/wrong-diff-id/", "title": "Wrong diff ID", "text": "wrong diff id"},
        {"location": "en/errors/wrong-diff-id/#error", "title": "The error", "text": "…"},
        {"location": "environment/", "title": "not under en/", "text": "prefix lookalike"},
    ],
}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("", None),
        ("errors/x/", None),
        ("environment/", None),  # starts with "en" but is not under en/
        ("en", "en"),
        ("en/", "en"),
        ("en/errors/x/#fix", "en"),
    ],
    ids=["home", "zh-page", "lookalike", "bare-locale", "en-home", "en-section"],
)
def test_language_of_reads_the_url_prefix(location: str, expected: str | None) -> None:
    assert language_of(location, ["en"]) == expected


def test_index_path_per_language() -> None:
    assert index_path(None) == "search/search_index.json"
    assert index_path("en") == "en/search/search_index.json"


def test_split_index_gives_each_language_only_its_pages() -> None:
    parts = split_index(MERGED, ["en"])
    assert set(parts) == {None, "en"}
    assert [d["location"] for d in parts[None]["docs"]] == [
        "", "errors/wrong-diff-id/", "errors/wrong-diff-id/#error", "environment/",
    ]
    # relative to /en/, in the original order (article before its sections)
    assert [d["location"] for d in parts["en"]["docs"]] == [
        "", "errors/wrong-diff-id/", "errors/wrong-diff-id/#error",
    ]
    assert parts["en"]["docs"][1]["title"] == "Wrong diff ID"


def test_split_index_search_languages() -> None:
    parts = split_index(MERGED, ["en"])
    # Chinese pages quote English error strings: both languages stay configured there
    assert parts[None]["config"]["lang"] == ["zh", "en"]
    assert parts["en"]["config"]["lang"] == ["en"]
    for part in parts.values():
        assert part["config"]["separator"] == CONFIG["separator"]
        assert part["config"]["pipeline"] == ["trimmer", "stopWordFilter"]


def test_split_index_leaves_the_input_alone() -> None:
    before = json.dumps(MERGED, sort_keys=True)
    split_index(MERGED, ["en"])
    assert json.dumps(MERGED, sort_keys=True) == before


def test_split_index_keeps_configured_lang_for_a_locale_lunr_lacks() -> None:
    parts = split_index({"config": {"lang": ["en"]}, "docs": []}, ["xx"])
    assert parts["xx"]["config"]["lang"] == ["en"]


@pytest.mark.parametrize("broken", [{}, {"config": {}, "docs": []}, {"config": None, "docs": []}],
                         ids=["empty", "no-lang", "null-config"])
def test_split_index_rejects_other_shapes(broken: dict[str, object]) -> None:
    with pytest.raises(IndexFormatError, match="config.lang"):
        split_index(broken, ["en"])


PAGE = """<html><head>
      <link rel="canonical" href="https://example.org/en/errors/x/">
      <link rel="alternate" href="../../../errors/x/" hreflang="zh">
      <link rel="alternate" href="./" hreflang="en">
      <link rel="alternate" type="application/rss+xml" title="RSS" href="feed.xml">
</head><body>
<a href="../../../errors/x/" hreflang="zh" class="md-select__link">中文</a>
<script id="__config" type="application/json">{"base": "../../..", "search": "../../../assets/javascripts/workers/search.js", "translations": {"x": "</b>"}}</script>
</body></html>"""


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("en/errors/x/", "../../"),
        ("en/", "./"),
        ("en/errors/x.html", "../"),  # use_directory_urls: false
    ],
    ids=["page", "home", "no-directory-urls"],
)
def test_rebase_page_points_base_at_the_language_root(url: str, base: str) -> None:
    html = rebase_page(PAGE, url, "en")
    settings = json.loads(html.split('type="application/json">')[1].split("</script>")[0])
    assert settings["base"] == base
    # everything else in the settings is kept
    assert settings["search"] == "../../../assets/javascripts/workers/search.js"
    assert settings["translations"] == {"x": "</b>"}
    assert "<\\/b>" in html  # cannot close the script element early
    assert html[: html.index("<script")] == PAGE[: PAGE.index("<script")]


def test_rebase_page_base_resolves_to_the_index_of_its_language() -> None:
    from urllib.parse import urljoin

    for url in ("en/", "en/errors/x/", "en/fixes/index/"):
        html = rebase_page(PAGE, url, "en")
        base = json.loads(html.split('type="application/json">')[1].split("</script>")[0])["base"]
        page = urljoin("http://h/", url)
        assert urljoin(urljoin(page, base), "search/search_index.json") == (
            "http://h/en/search/search_index.json"
        )


def test_rebase_page_fails_without_material_config() -> None:
    with pytest.raises(IndexFormatError, match="__config"):
        rebase_page("<html><body></body></html>", "en/x/", "en")


def test_strip_alternate_links_keeps_the_switcher_and_rss() -> None:
    html = strip_alternate_links(PAGE)
    head = html[: html.index("</head>")]
    assert "hreflang" not in head
    assert 'rel="canonical"' in head and "application/rss+xml" in head
    assert 'hreflang="zh" class="md-select__link"' in html


def test_strip_alternate_links_without_head_is_a_no_op() -> None:
    assert strip_alternate_links("<p>x</p>") == "<p>x</p>"

