"""One search index per language, and pages that fetch their own language's index.

mkdocs-static-i18n merges every language's entries into one ``search/search_index.json``
at the site root, and every page fetches it (Material resolves the index URL against
``__config.base``, which is the site root on every page). A reader of ``/en/`` then gets
Chinese pages first: they carry the same English error strings in their code blocks.

:func:`split_index` cuts the merged index into one index per language, each with its
locations relative to that language's root; :func:`rebase_page` points a page's
``__config.base`` at its language's root, so Material fetches ``<root>/search/...`` there
and resolves result locations against it. Pure functions on text; the MkDocs plugin that
applies them is :mod:`runbook_exec.site.tidy`.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from ..errors import IndexFormatError

__all__ = [
    "IndexFormatError",
    "index_path",
    "language_of",
    "rebase_page",
    "split_index",
    "strip_alternate_links",
]

# Material's base.html writes its settings as one JSON object in this script element.
_CONFIG_SCRIPT = re.compile(
    r'(<script id="__config" type="application/json">)(?P<json>.*?)(</script>)', re.S
)
# The i18n plugin's per-page alternates, rendered by Material's base.html into <head>.
# (RSS alternates carry a type and no hreflang and are left alone.)
_HREFLANG_LINK = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def language_of(location: str, locales: list[str]) -> str | None:
    """The non-default locale whose URL prefix ``location`` starts with, else None
    (the default language, served at the site root)."""
    for locale in locales:
        if location == locale or location.startswith(f"{locale}/"):
            return locale
    return None


def index_path(locale: str | None) -> str:
    """Where a language's index lives, relative to the site directory."""
    prefix = f"{locale}/" if locale else ""
    return f"{prefix}search/search_index.json"


def split_index(index: dict[str, Any], locales: list[str]) -> dict[str | None, dict[str, Any]]:
    """Split a merged index by language: ``None`` is the default language (site root),
    each of ``locales`` (the other languages, e.g. ``["en"]``) gets its own index.

    A language's entries keep their order (Material relies on a page's article entry
    coming before its sections) and lose their ``<locale>/`` prefix, because that
    language's pages resolve locations against ``<root>/<locale>/``. The search
    languages of another language's index are just that language when it is one of the
    configured ones: English pages need no Chinese stop words, and the configured list
    stays for the default language, whose pages quote English error strings.
    """
    try:
        config = dict(index["config"])
        docs = list(index["docs"])
        configured = list(config["lang"])
    except (KeyError, TypeError) as exc:
        raise IndexFormatError(f"search index lacks config.lang or docs: {exc}") from exc
    out: dict[str | None, dict[str, Any]] = {
        None: {**index, "config": config, "docs": []},
    }
    for other in locales:
        lang = [other] if other in configured else configured
        out[other] = {**index, "config": {**config, "lang": lang}, "docs": []}
    for doc in docs:
        location = str(doc.get("location", ""))
        locale = language_of(location, locales)
        if locale is not None:
            doc = {**doc, "location": location[len(locale) + 1 :]}
        out[locale]["docs"].append(doc)
    return out


def rebase_page(html: str, page_url: str, locale: str) -> str:
    """Point ``__config.base`` of a page served at ``page_url`` (e.g. ``en/errors/x/``)
    at its language's root ``<site>/<locale>/``, written relative to the page like
    MkDocs' own ``base_url``.

    Material resolves the search index and every search result against this base. Links,
    scripts and styles use their own relative URLs and are untouched.
    """
    match = _CONFIG_SCRIPT.search(html)
    if match is None:
        raise IndexFormatError(
            f"page {page_url!r} has no <script id=\"__config\">: is the theme Material 9?"
        )
    try:
        settings = json.loads(match["json"])
    except json.JSONDecodeError as exc:
        raise IndexFormatError(f"page {page_url!r}: __config is not JSON: {exc}") from exc
    # "en/errors/x/" is served from that directory; "en/errors/x.html" from "en/errors"
    page_dir = page_url if page_url.endswith("/") else posixpath.dirname(page_url)
    page_dir = page_dir.rstrip("/") or "."
    # a trailing slash keeps the base a directory when the browser resolves it
    settings["base"] = posixpath.relpath(locale, page_dir) + "/"
    encoded = json.dumps(settings, ensure_ascii=False, separators=(",", ":"))
    # JSON inside <script>: "</" must not end the element early
    encoded = encoded.replace("</", "<\\/")
    return html[: match.start("json")] + encoded + html[match.end("json") :]


def strip_alternate_links(html: str) -> str:
    """Drop the ``<link rel="alternate" hreflang>`` tags from ``<head>``.

    Material treats each as another *site* and fetches ``<href>/sitemap.xml`` from it
    (mkdocs-material#6582); the i18n plugin points them at the page itself in the other
    language, so every page load ends in a 404. The language switcher is built from the
    same data but as ``<a>`` links, which stay.
    """
    head_end = html.find("</head>")
    if head_end < 0:
        return html
    return _HREFLANG_LINK.sub("", html[:head_end]) + html[head_end:]
