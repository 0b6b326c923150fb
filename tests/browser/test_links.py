"""Every internal link and anchor in the built HTML resolves, in both languages.

Parsed from the files (no browser needed): ``<a href>``, ``<link href>``, ``<script src>``,
``<img src>`` and ``<source src>`` that stay on the site, with their ``#fragment`` checked
against the ids of the target page. Links to other hosts are the reader's to click and are
not fetched (the site is offline); links to the site's own ``site_url`` count as internal.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytestmark = pytest.mark.browser

_ATTRS = {
    "a": "href", "link": "href", "script": "src", "img": "src", "source": "src", "iframe": "src",
}
_LOCAL = "http://local.invalid/"  # a fake origin to resolve relative URLs against


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        attr = _ATTRS.get(tag)
        if attr and a.get(attr):
            self.links.append(a[attr])


@functools.cache
def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def site_files(site: Path, lang: str) -> list[Path]:
    files = sorted(site.rglob("*.html"))
    in_en = [f for f in files if f.relative_to(site).parts[0] == "en"]
    return in_en if lang == "en" else [f for f in files if f not in in_en]


def target_file(site: Path, url_path: str) -> Path | None:
    rel = unquote(url_path).lstrip("/")
    candidate = site / rel
    if rel == "" or url_path.endswith("/") or candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def broken_links(site: Path, files: list[Path], site_url: str | None) -> tuple[int, list[str]]:
    checked = 0
    broken: list[str] = []
    for file in files:
        rel = PurePosixPath(file.relative_to(site).as_posix())
        # pages are served as directories: /x/ for x/index.html; 404.html is served at any
        # depth by a real host, its links are absolute
        here = _LOCAL + str(rel)
        for link in parse(file).links:
            if site_url and link.startswith(site_url):
                link = "/" + link[len(site_url):]
            parts = urlsplit(urljoin(here, link))
            if f"{parts.scheme}://{parts.netloc}/" != _LOCAL:
                continue  # another host or scheme (https://github.com/..., mailto:, data:)
            checked += 1
            target = target_file(site, parts.path)
            if target is None:
                broken.append(f"{rel}: {link} -> missing /{parts.path.lstrip('/')}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                broken.append(f"{rel}: {link} -> no #{fragment} in {target.relative_to(site)}")
    return checked, broken


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_internal_links_and_anchors_resolve(site_dir: Path, site_url: str | None, lang: str) -> None:
    files = site_files(site_dir, lang)
    assert len(files) >= 20, f"only {len(files)} {lang} pages in {site_dir}"
    checked, broken = broken_links(site_dir, files, site_url)
    assert checked > 100 * len(files) // 10, f"suspiciously few links checked: {checked}"
    assert broken == [], f"{len(broken)} of {checked} links broken:\n" + "\n".join(broken[:40])
