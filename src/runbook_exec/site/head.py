"""What a page says about itself in ``<head>``: its own description, and its twin page.

1. **Description.** Material writes ``page.meta.description`` (else the site's) into
   ``<meta name="description" content="...">`` as is: MkDocs' Jinja environment does not
   escape, so a description with a double quote ends the attribute early. A page's front
   matter ``description`` is used when it has one; otherwise the first paragraph of the
   rendered page, cut at a sentence or word boundary. Either way it is escaped here.
2. **hreflang.** Each page names itself and its twin in the other language with
   ``<link rel="alternate " hreflang=... href=...>`` (absolute URLs, plus ``x-default``).
   The trailing space in ``rel`` is deliberate: Material's script fetches
   ``<href>/sitemap.xml`` for every element matching ``link[rel=alternate]``, an exact
   match (mkdocs-material#6582), which would 404 for a page URL. ``rel`` is a token list,
   so ``"alternate "`` is still the ``alternate`` link type for crawlers and validators.

Pure functions on text; :mod:`runbook_exec.site.tidy` applies them.
"""

from __future__ import annotations

import html as htmllib
import re
from html.parser import HTMLParser

__all__ = ["describe", "escape_attribute", "hreflang_links", "insert_in_head", "twin_urls"]

# A description longer than this is cut (search engines show about 150-160 characters;
# a CJK character is about two Latin ones wide).
DESCRIPTION_WIDTH = 160
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+")


class _FirstParagraph(HTMLParser):
    """Text of the ``<p>`` elements of rendered page content, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p":
            self._depth += 1
            self._parts = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._depth:
            self._depth -= 1
            self.paragraphs.append(" ".join("".join(self._parts).split()))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._parts.append(data)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _cut(text: str, width: int) -> str:
    """``text`` if it fits in ``width``, else whole sentences that fit, else whole words."""
    if _width(text) <= width:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        candidate = kept + (" " if kept and kept[-1] in ".!?;" else "") + sentence
        if _width(candidate) > width:
            break
        kept = candidate
    if kept:
        return kept
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    if " " in out and not any(ord(c) > 0x2E7F for c in out):
        out = out.rsplit(" ", 1)[0]
    return out.rstrip(" ,，、") + "…"


def describe(front_matter: object, content_html: str, width: int = DESCRIPTION_WIDTH) -> str:
    """The page's description, not yet escaped: its front matter's, else the first
    paragraph of its rendered content with a real sentence in it (``""`` if none)."""
    if isinstance(front_matter, str) and front_matter.strip():
        return " ".join(front_matter.split())
    parser = _FirstParagraph()
    parser.feed(content_html)
    for paragraph in parser.paragraphs:
        if _width(paragraph) >= 40:
            return _cut(paragraph, width)
    return ""


def escape_attribute(text: str) -> str:
    """``text`` safe inside a double-quoted HTML attribute."""
    return htmllib.escape(text, quote=True)


def twin_urls(page_url: str, locale: str | None, others: list[str]) -> dict[str | None, str]:
    """Site-relative URL of a page in each language: ``None`` is the default language
    (site root), each of ``others`` is served under ``<locale>/``.

    ``page_url`` is MkDocs' ``page.url`` of the page in language ``locale``
    (``en/errors/x/`` for English, ``errors/x/`` for the default language).
    """
    path = page_url[len(locale) + 1 :] if locale and page_url.startswith(f"{locale}/") else page_url
    if locale and page_url == locale:
        path = ""
    urls: dict[str | None, str] = {None: path}
    for other in others:
        urls[other] = f"{other}/{path}"
    return urls


def root_prefix(page_url: str) -> str:
    """The relative way from a page (MkDocs' ``page.url``, ``en/errors/x/``) to the site root."""
    depth = len([part for part in page_url.split("/") if part])
    return "../" * depth if depth else "./"


def hreflang_links(
    urls: dict[str | None, str], default_locale: str, site_url: str | None, page_url: str = ""
) -> str:
    """``<link rel="alternate " hreflang>`` lines for every language and ``x-default``.

    Absolute under ``site_url``; without one (a build that does not know where it will be
    published), relative to the page at ``page_url``.
    """
    base = site_url.rstrip("/") + "/" if site_url else root_prefix(page_url)
    lines = []
    for locale, url in [*urls.items(), ("x-default", urls[None])]:
        lang = default_locale if locale is None else locale
        href = escape_attribute(base + url)
        lines.append(f'    <link rel="alternate " hreflang="{lang}" href="{href}">\n')
    return "".join(lines)


ADDRESS_MARK = "<handbook>/"
"""Written in a page's Markdown where the handbook's own address goes (the links of a "copy
as an issue comment" block): the configured ``site_url`` at build time, else
``assets/page-address.js`` fills it in the reader's browser from the address the page was
opened at, and a reader without JavaScript sees the mark."""


def root_meta(page_url: str) -> str:
    """The ``<meta name="handbook-root">`` that tells ``assets/page-address.js`` where the
    site root is, relative to the page at ``page_url``."""
    return f'    <meta name="handbook-root" content="{root_prefix(page_url)}">\n'


def fill_addresses(markdown: str, site_url: str | None) -> str:
    """``markdown`` with every :data:`ADDRESS_MARK` replaced by ``site_url`` (when set)."""
    if not site_url:
        return markdown
    return markdown.replace(ADDRESS_MARK, site_url.rstrip("/") + "/")


def insert_in_head(html: str, snippet: str) -> str:
    """``snippet`` inserted just before ``</head>`` (``html`` unchanged without one)."""
    head_end = html.find("</head>")
    if head_end < 0:
        return html
    return html[:head_end] + snippet + html[head_end:]
