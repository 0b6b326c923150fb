"""Each page's <head>: its own escaped description, hreflang alternates to its twin."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from runbook_exec.site.head import (
    describe,
    escape_attribute,
    hreflang_links,
    insert_in_head,
    twin_urls,
)

from .conftest import PUBLISHED_SITE_URL
from .test_built_site import html_path, nav_pages

SITE_URL = "https://handbook.dev/kind/"


@pytest.mark.parametrize(
    ("front_matter", "content", "expected"),
    [
        pytest.param("  Own   words.\n", "<p>ignored</p>", "Own words.", id="front-matter-wins"),
        pytest.param(None, "<p>short</p><p>A paragraph long enough to describe the page.</p>",
                     "A paragraph long enough to describe the page.", id="skips-short"),
        pytest.param(None, "<p>Say <code>ctr: x</code> and <strong>stop</strong> here, then go on reading.</p>",
                     "Say ctr: x and stop here, then go on reading.", id="strips-tags"),
        pytest.param(None, "<h1>only a title</h1>", "", id="nothing"),
    ],
)
def test_describe_picks_front_matter_else_first_real_paragraph(
    front_matter: object, content: str, expected: str
) -> None:
    assert describe(front_matter, content) == expected


def test_describe_cuts_long_paragraphs_at_a_sentence() -> None:
    text = "First sentence is here. " + "word " * 60
    assert describe(None, f"<p>{text}</p>", width=40) == "First sentence is here."


def test_describe_counts_cjk_as_double_width() -> None:
    text = "第一句话在这里。" + "很长" * 80
    assert describe(None, f"<p>{text}</p>", width=30) == "第一句话在这里。"


def test_escape_attribute_keeps_an_inner_quote_inside_the_attribute() -> None:
    text = 'a "b" <c> & d'
    html = f'<meta name="description" content="{escape_attribute(text)}">'

    class Meta(HTMLParser):
        content = ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.content = dict(attrs).get("content") or ""

    parser = Meta()
    parser.feed(html)
    assert parser.content == text


@pytest.mark.parametrize(
    ("url", "locale", "expected"),
    [
        pytest.param("", None, {None: "", "en": "en/"}, id="zh-home"),
        pytest.param("en/", "en", {None: "", "en": "en/"}, id="en-home"),
        pytest.param("errors/x/", None, {None: "errors/x/", "en": "en/errors/x/"}, id="zh-page"),
        pytest.param("en/errors/x/", "en", {None: "errors/x/", "en": "en/errors/x/"}, id="en-page"),
    ],
)
def test_twin_urls(url: str, locale: str | None, expected: dict[str | None, str]) -> None:
    assert twin_urls(url, locale, ["en"]) == expected


def test_hreflang_links_name_every_language_and_x_default() -> None:
    links = hreflang_links({None: "a/", "en": "en/a/"}, "zh", SITE_URL)
    assert links.splitlines() == [
        f'    <link rel="alternate " hreflang="zh" href="{SITE_URL}a/">',
        f'    <link rel="alternate " hreflang="en" href="{SITE_URL}en/a/">',
        f'    <link rel="alternate " hreflang="x-default" href="{SITE_URL}a/">',
    ]


def test_hreflang_links_are_relative_without_an_address() -> None:
    links = hreflang_links({None: "a/", "en": "en/a/"}, "zh", None, "en/a/")
    assert links.splitlines() == [
        '    <link rel="alternate " hreflang="zh" href="../../a/">',
        '    <link rel="alternate " hreflang="en" href="../../en/a/">',
        '    <link rel="alternate " hreflang="x-default" href="../../a/">',
    ]


def test_insert_in_head() -> None:
    assert insert_in_head("<head>x</head><p>", "Y") == "<head>xY</head><p>"
    assert insert_in_head("<p>no head</p>", "Y") == "<p>no head</p>"


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.descriptions: list[str] = []
        self.alternates: dict[str, str] = {}
        self.material_alternates = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and a.get("name") == "description":
            self.descriptions.append(a.get("content", ""))
        if tag == "link" and "alternate" in a.get("rel", "").split() and a.get("hreflang"):
            self.alternates[a["hreflang"]] = a.get("href", "")
            # what Material's script matches (link[rel=alternate]) and fetches sitemaps for
            self.material_alternates += a.get("rel") == "alternate"


def _head(path: Path) -> _Head:
    parser = _Head()
    parser.feed(path.read_text(encoding="utf-8").split("</head>", 1)[0])
    return parser


def test_every_page_has_its_own_description(built_site: Path) -> None:
    seen: dict[str, str] = {}
    problems = []
    for page in nav_pages():
        for lang in ("zh", "en"):
            path = html_path(built_site, page, lang)
            head = _head(path)
            if len(head.descriptions) != 1 or len(head.descriptions[0]) < 40:
                problems.append(f"{path}: descriptions {head.descriptions}")
                continue
            other = seen.setdefault(head.descriptions[0], str(path))
            if other != str(path):
                problems.append(f"{path} has the description of {other}")
    assert problems == []


def test_english_description_survives_inner_quotes(built_site: Path) -> None:
    raw = (built_site / "en" / "index.html").read_text(encoding="utf-8")
    assert "Docker 25.0.0&#x27;s" in raw or "Docker 25.0.0's" in raw
    assert "Docker 25.0.0's mismatched" in _head(built_site / "en" / "index.html").descriptions[0]


@pytest.mark.parametrize("published", [False, True], ids=["local", "published"])
def test_every_page_links_its_twin_with_hreflang(
    published: bool, request: pytest.FixtureRequest
) -> None:
    """Absolute under the published address; in a local build relative, resolving to the twin."""
    site: Path = request.getfixturevalue("published_site" if published else "built_site")
    problems = []
    for page in nav_pages():
        zh = f"/{html_path(Path(), page, 'zh').parent.as_posix()}/".replace("/./", "/")
        en = f"/{html_path(Path(), page, 'en').parent.as_posix()}/"
        want = {"zh": zh, "en": en, "x-default": zh}
        for lang in ("zh", "en"):
            path = html_path(site, page, lang)
            head = _head(path)
            if published:
                got = {k: v.removeprefix(PUBLISHED_SITE_URL.rstrip("/")) for k, v in
                       head.alternates.items() if v.startswith(PUBLISHED_SITE_URL)}
            else:
                here = f"http://h/{path.parent.relative_to(site).as_posix()}/".replace("/./", "/")
                got = {k: urljoin(here, v).removeprefix("http://h") for k, v in
                       head.alternates.items() if not v.startswith(("/", "http"))}
            if got != want or len(head.alternates) != 3 or head.material_alternates:
                problems.append(f"{page} ({lang}): {head.alternates}")
    assert problems == []
