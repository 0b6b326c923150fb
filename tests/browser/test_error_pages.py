"""Error pages, as linked from issue trackers: stable URLs, fixed anchors, and a
"copy as issue comment" block whose copy button yields the page's own Markdown."""

from __future__ import annotations

import re

import pytest

from runbook_exec.site.head import ADDRESS_MARK

pytestmark = pytest.mark.browser

COMMENT_ANCHOR = "issue-comment"
_HEADING_WITH_ANCHOR = re.compile(
    r"^#{1,6}[ \t].*\{[^}]*#" + COMMENT_ANCHOR + r"\b[^}]*\}[ \t]*$", re.M)
_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})[^\n]*\n", re.M)


def expected_comment(markdown: str) -> str:
    """The first fenced block after the ``{ #issue-comment }`` heading in the page source."""
    heading = _HEADING_WITH_ANCHOR.search(markdown)
    assert heading, f"no heading with {{ #{COMMENT_ANCHOR} }} in the page source"
    opening = _FENCE_OPEN.search(markdown, heading.end())
    assert opening, "no fenced block after the issue-comment heading"
    closing = re.compile(r"^" + re.escape(opening["fence"]) + r"[ \t]*$", re.M).search(
        markdown, opening.end())
    assert closing, "the issue-comment block is not closed"
    return markdown[opening.end():closing.start()].rstrip("\n")


def test_error_page_has_stable_url_and_anchors(tab, error_page) -> None:
    tab.visit(error_page.path, settle=False)
    page = tab.page
    # The h1 and the comment heading carry fixed ids, identical in both languages.
    slug = error_page.stem.rsplit("/", 1)[-1]
    where = f"/{error_page.path}"
    assert page.locator(f"article h1#{slug}").count() == 1, f"h1 of {where} is not #{slug}"
    assert page.locator(f"article #{COMMENT_ANCHOR}").count() == 1, f"{where}: no #{COMMENT_ANCHOR}"
    # Following the anchor from an issue lands on the heading.
    tab.page.goto(tab.url(error_page.path) + f"#{COMMENT_ANCHOR}")
    assert page.locator(f"#{COMMENT_ANCHOR}").is_visible()
    assert tab.problems() == []


def test_issue_comment_copy_button_copies_markdown(tab, error_page, base_url) -> None:
    # The site under test is built without HANDBOOK_SITE_URL: assets/page-address.js puts the
    # address the page was opened at where the source has the mark.
    source = expected_comment(error_page.markdown())
    assert ADDRESS_MARK in source, "the comment block does not link the handbook's own page"
    want = source.replace(ADDRESS_MARK, base_url)
    tab.visit(error_page.path, settle=False)
    page = tab.page
    # The first code block after the heading, and Material's copy button on it.
    block = page.locator(
        f"xpath=//*[@id='{COMMENT_ANCHOR}']/following::div[contains(@class,'highlight')][1]")
    block.scroll_into_view_if_needed()
    block.hover()
    page.evaluate("navigator.clipboard.writeText('')")
    # Material < 9.7 renders the copy button as .md-clipboard; 9.7+ as a code-nav button.
    block.locator('.md-clipboard, .md-code__button[data-md-type="copy"]').first.click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)", timeout=5_000)
    copied = page.evaluate("navigator.clipboard.readText()").rstrip("\n")
    assert copied == want
    # The comment sends readers back to this very page (its stable URL).
    assert f"{base_url}{error_page.path}" in copied, "the comment does not link its own page"
    assert tab.problems() == []
