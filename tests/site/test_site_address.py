"""Where the handbook and its repository are: one variable each, no address the build cannot
know, and the reader's own address where a page links itself.

A local build (``./dev.sh site`` without HANDBOOK_SITE_URL / HANDBOOK_REPO_URL) writes no
absolute address of its own: no canonical link, relative hreflang, no repository link, and
the "copy as an issue comment" blocks keep :data:`ADDRESS_MARK` for ``assets/page-address.js``
(the browser suite checks what that script makes of it). A published build writes both
addresses everywhere they belong. Material's own repository widget asks the forge's API for
stars and forks on every page load (its ``data-md-component="source"`` mark);
``overrides/partials/source.html`` keeps the link and drops the mark.
"""

from __future__ import annotations

import re
from pathlib import Path

import mkdocsyml
import pytest

from runbook_exec.site.head import ADDRESS_MARK, fill_addresses, root_meta, root_prefix

from .conftest import PUBLISHED_REPO_URL, PUBLISHED_SITE_URL

ROOT = Path(__file__).resolve().parents[2]
# RFC 2606 / 6761 names: an address nobody can reach
_PLACEHOLDER = re.compile(r"https?://[\w.-]*\b(example\.(org|com|net)|\w+\.(example|invalid))\b")
_COMMENT_PAGES = sorted((ROOT / "docs" / "errors").glob("*.md"))


def _pages(site: Path) -> list[Path]:
    """The pages MkDocs renders from Markdown (not 404.html, a static template)."""
    pages = [p for p in sorted(site.rglob("*.html"))
             if p.name != "404.html" and 'class="md-header' in p.read_text("utf-8")]
    assert len(pages) > 40, f"only {len(pages)} pages in {site}"
    return pages


def test_both_addresses_come_from_one_variable_each() -> None:
    assert mkdocsyml.load()["site_url"] is None
    assert mkdocsyml.load()["repo_url"] is None
    config = mkdocsyml.load(HANDBOOK_SITE_URL="https://a.test/", HANDBOOK_REPO_URL="https://b.test/c")
    assert (config["site_url"], config["repo_url"]) == ("https://a.test/", "https://b.test/c")
    assert config["edit_uri"] == ""


def test_no_page_or_readme_writes_an_address_of_its_own_or_a_placeholder() -> None:
    for path in [ROOT / "README.md", ROOT / "mkdocs.yml", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not _PLACEHOLDER.search(text), f"{path}: {_PLACEHOLDER.search(text)}"


@pytest.mark.parametrize("page", _COMMENT_PAGES, ids=lambda p: p.name)
def test_every_issue_comment_links_its_page_in_both_languages(page: Path) -> None:
    stem = page.name.split(".")[0]
    text = page.read_text(encoding="utf-8")
    assert f"{ADDRESS_MARK}en/errors/{stem}/" in text
    assert f"{ADDRESS_MARK}errors/{stem}/" in text


def test_root_prefix_and_meta() -> None:
    assert root_prefix("") == "./"
    assert root_prefix("en/") == "../"
    assert root_prefix("en/errors/x/") == "../../../"
    assert root_meta("errors/x/") == '    <meta name="handbook-root" content="../../">\n'


def test_fill_addresses_only_with_an_address() -> None:
    text = f"see {ADDRESS_MARK}en/errors/x/"
    assert fill_addresses(text, None) == text
    assert fill_addresses(text, "https://h.test/kind") == "see https://h.test/kind/en/errors/x/"


def test_local_build_writes_no_address_and_tells_the_script_where_the_root_is(
    built_site: Path,
) -> None:
    for page in _pages(built_site):
        html = page.read_text(encoding="utf-8")
        rel = page.parent.relative_to(built_site).as_posix()
        depth = 0 if rel == "." else len(rel.split("/"))
        assert 'rel="canonical"' not in html, page
        assert 'class="md-source"' not in html, page  # no repository link without its address
        assert not _PLACEHOLDER.search(html), f"{page}: {_PLACEHOLDER.search(html)}"
        assert f'<meta name="handbook-root" content="{"../" * depth or "./"}">' in html, page
    comment = (built_site / "en" / "errors" / "wrong-diff-id" / "index.html").read_text("utf-8")
    assert "&lt;handbook&gt;" in comment
    assert not list(built_site.glob("sitemap.xml*"))  # it could only list "None…" addresses


def test_published_build_writes_both_addresses(published_site: Path) -> None:
    for page in _pages(published_site):
        html = page.read_text(encoding="utf-8")
        assert f'href="{PUBLISHED_REPO_URL}"' in html, page
        assert 'data-md-component="source"' not in html, page
        assert f'rel="canonical" href="{PUBLISHED_SITE_URL}' in html, page
        assert "&lt;handbook&gt;" not in html and 'name="handbook-root"' not in html, page
    comment = (published_site / "en" / "errors" / "wrong-diff-id" / "index.html").read_text("utf-8")
    assert f"{PUBLISHED_SITE_URL}en/errors/wrong-diff-id/" in comment
    assert f"{PUBLISHED_SITE_URL}errors/wrong-diff-id/" in comment
    locs = re.findall(r"<loc>([^<]*)</loc>", (published_site / "sitemap.xml").read_text("utf-8"))
    assert len(locs) > 40 and all(loc.startswith(PUBLISHED_SITE_URL) for loc in locs), locs[:3]
