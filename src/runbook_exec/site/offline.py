"""Air-gap check of a built site: nothing a page *loads* may come from another host.

Links a reader clicks (``<a href>``) may point anywhere; what the browser fetches by itself
at page load may not: ``src``/``srcset``/``data``/``poster`` attributes, ``<link>`` elements
that load (stylesheet, icon, preload, manifest ...), ``url()``/``@import`` in inline CSS,
and URLs that inline scripts import or assign as a source (nbconvert's lazy mermaid import
is the classic case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(?P<url>[^'")\s]+)""", re.I)
_SCRIPT_LOAD = re.compile(
    r"""(?:import\s*\(\s*|from\s+|\.src\s*=\s*|src\s*:\s*|fetch\s*\(\s*|importScripts\s*\(\s*)"""
    r"""['"`](?P<url>(?:https?:)?//[^'"`]+)""",
    re.I,
)
_LOADING_RELS = {
    "stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload",
    "prefetch", "manifest", "mask-icon", "dns-prefetch", "preconnect",
}
_SRC_ATTRS = {"src", "data", "poster", "background"}


@dataclass(frozen=True)
class ExternalLoad:
    page: str
    tag: str
    url: str

    def __str__(self) -> str:
        return f"{self.page}: <{self.tag}> loads {self.url}"


def is_external(url: str) -> bool:
    return bool(_EXTERNAL.match(url.strip()))


class _Scanner(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.found: list[ExternalLoad] = []
        self._in: str | None = None

    def _add(self, tag: str, url: str) -> None:
        if is_external(url):
            self.found.append(ExternalLoad(self.page, tag, url.strip()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        for attr in _SRC_ATTRS & values.keys():
            self._add(tag, values[attr])
        for candidate in values.get("srcset", "").split(","):
            if candidate.strip():
                self._add(tag, candidate.split()[0])
        if tag == "link" and set(values.get("rel", "").lower().split()) & _LOADING_RELS:
            self._add(tag, values.get("href", ""))
        if "style" in values:
            for m in _CSS_URL.finditer(values["style"]):
                self._add(tag, m["url"])
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            for m in _CSS_URL.finditer(data):
                self._add("style", m["url"])
        elif self._in == "script":
            for m in _SCRIPT_LOAD.finditer(data):
                self._add("script", m["url"])


def scan_html(html: str, page: str = "<string>") -> list[ExternalLoad]:
    """Every external load in one HTML document."""
    scanner = _Scanner(page)
    scanner.feed(html)
    scanner.close()
    return scanner.found


def scan_site(site_dir: Path) -> tuple[int, list[ExternalLoad]]:
    """Scan every built HTML file and every CSS file; return (files scanned, loads found)."""
    found: list[ExternalLoad] = []
    count = 0
    for path in sorted(site_dir.rglob("*.html")):
        count += 1
        found += scan_html(path.read_text(encoding="utf-8"), path.relative_to(site_dir).as_posix())
    for path in sorted(site_dir.rglob("*.css")):
        count += 1
        rel = path.relative_to(site_dir).as_posix()
        for m in _CSS_URL.finditer(path.read_text(encoding="utf-8", errors="replace")):
            if is_external(m["url"]):
                found.append(ExternalLoad(rel, "css", m["url"]))
    return count, found
