"""The built site: both languages complete, switcher to the same page, offline, Chinese search."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import mkdocsyml

from runbook_exec.site.offline import scan_site

ROOT = Path(__file__).resolve().parents[2]


def nav_pages() -> list[str]:
    config = mkdocsyml.load()

    def walk(items: list[object]) -> list[str]:
        out: list[str] = []
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            out += walk(value) if isinstance(value, list) else [str(value)]
        return out

    return walk(config["nav"])


def html_path(site: Path, page: str, lang: str) -> Path:
    stem = page[: -len(".md")]
    rel = "index.html" if stem == "index" else (
        f"{stem[: -len('index')]}index.html" if stem.endswith("/index") else f"{stem}/index.html"
    )
    return site / rel if lang == "zh" else site / "en" / rel


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.switch: dict[str, str] = {}
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "a" and "md-select__link" in a.get("class", "") and a.get("hreflang"):
            self.switch[a["hreflang"]] = a.get("href", "")


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_nav_page_is_built_in_both_languages(built_site: Path) -> None:
    pages = nav_pages()
    assert len(pages) >= 20
    missing = [str(html_path(built_site, p, lang).relative_to(built_site))
               for p in pages for lang in ("zh", "en") if not html_path(built_site, p, lang).is_file()]
    assert missing == []
    assert parse(built_site / "index.html").lang.startswith("zh")
    assert parse(built_site / "en" / "index.html").lang.startswith("en")


def test_language_switcher_leads_to_the_same_page(built_site: Path) -> None:
    wrong = []
    for page in nav_pages():
        for lang, other in (("zh", "en"), ("en", "zh")):
            here = html_path(built_site, page, lang)
            href = parse(here).switch.get(other)
            href_path = (href or "").split("#")[0]
            base = built_site if href_path.startswith("/") else here.parent
            target = (base / href_path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if href is None or target != html_path(built_site, page, other).resolve():
                wrong.append(f"{here.relative_to(built_site)} -> {other}: {href}")
    assert wrong == []


def test_site_loads_nothing_from_other_hosts(built_site: Path) -> None:
    count, found = scan_site(built_site)
    assert count > 40
    assert [str(f) for f in found] == []


def test_chinese_words_are_search_tokens(built_site: Path) -> None:
    # the default language's own index (site-tidy splits i18n's merged one per language)
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    separator = re.compile(index["config"]["separator"])
    assert "zh" in index["config"]["lang"]
    tokens: set[str] = set()
    for doc in index["docs"]:
        tokens.update(t for t in separator.split(doc["text"]) if t)
    # words taken from page bodies: they must be whole tokens, not buried in a sentence
    for word in ("镜像", "归档", "节点"):
        assert word in tokens, f"{word!r} is not a search token"
    # and no token is a whole run of Chinese sentence (segmentation happened)
    longest = max((t for t in tokens if re.fullmatch(r"[\u4e00-\u9fff]+", t)), key=len)
    assert len(longest) <= 8, longest


def test_each_language_searches_only_its_own_pages(built_site: Path) -> None:
    def load(rel: str) -> dict[str, Any]:
        return json.loads((built_site / rel).read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    zh, en = load("search/search_index.json"), load("en/search/search_index.json")
    zh_pages = {d["location"].split("#")[0] for d in zh["docs"]}
    en_pages = {d["location"].split("#")[0] for d in en["docs"]}
    # every nav page, once per language; English locations are relative to /en/
    for page in nav_pages():
        rel = html_path(built_site, page, "zh").relative_to(built_site).parent.as_posix()
        rel = "" if rel == "." else f"{rel}/"
        assert rel in zh_pages and rel in en_pages, rel
    assert not any(p.startswith("en/") for p in zh_pages | en_pages)
    # a Chinese page title in the Chinese index, its English title in the English one
    zh_titles = {d["location"]: d["title"] for d in zh["docs"]}
    en_titles = {d["location"]: d["title"] for d in en["docs"]}
    assert re.search(r"[\u4e00-\u9fff]", zh_titles["errors/wrong-diff-id/#versions"])
    assert not re.search(r"[\u4e00-\u9fff]", en_titles["errors/wrong-diff-id/#versions"])
    assert en["config"]["lang"] == ["en"]
    # Material appends `*` to typed terms and lunr then skips the query pipeline: a stemmed
    # index would never match "mismatched" or "layers"
    for index in (zh, en):
        assert "stemmer" not in index["config"]["pipeline"]
    # English pages fetch that index: Material resolves it against __config.base
    html = (built_site / "en" / "errors" / "wrong-diff-id" / "index.html").read_text(encoding="utf-8")
    settings = re.search(r'<script id="__config"[^>]*>(.*?)</script>', html, re.S)
    assert settings is not None
    assert json.loads(settings[1])["base"] == "../../"


def test_every_page_says_what_this_build_verified(built_site: Path) -> None:
    records = json.loads((ROOT / "build" / "ledger.json").read_text(encoding="utf-8"))["runbooks"]
    missing = []
    for page in nav_pages():
        for lang, phrase in (("zh", f"本站的 {len(records)} 个运行手册中"),
                             ("en", f"of this site's {len(records)} runbooks verified")):
            html = html_path(built_site, page, lang).read_text(encoding="utf-8")
            if 'class="site-verification"' not in html or phrase not in html:
                missing.append(f"{lang}:{page}")
    assert missing == []
