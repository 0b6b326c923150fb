"""Every nav page loads in both languages, offline and without console errors, and the
language switcher leads to the same page in the other language and back.

One test per page source walks zh -> (switcher) -> en -> (switcher) -> zh, so each of the
three loads is both a page check and a switcher check.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def check_page(tab, doc) -> None:
    page = tab.page
    assert tab.path_of(page.url) == doc.path, f"expected /{doc.path}, at {page.url}"
    lang = page.get_attribute("html", "lang") or ""
    assert lang.startswith(doc.lang), f"/{doc.path} says lang={lang!r}"
    title = page.inner_text("article h1").strip()
    assert title, f"/{doc.path} has no h1"
    assert page.locator("article").inner_text().strip() != title, f"/{doc.path} has no body"
    assert tab.problems() == [], f"/{doc.path}"


def switch_language(tab, target_lang: str) -> None:
    """Open the header's language menu and click the other language, as a reader does."""
    page = tab.page
    page.hover(".md-header .md-select")
    link = page.locator(f'.md-header a.md-select__link[hreflang="{target_lang}"]')
    tab.reset()
    with page.expect_navigation(wait_until="load"):
        link.click()
    tab.count_load(page.url)
    tab.settle()


def test_page_loads_and_switches_language(tab, nav_source, page_of) -> None:
    zh, en = page_of(nav_source, "zh"), page_of(nav_source, "en")
    tab.visit(zh.path)
    check_page(tab, zh)
    switch_language(tab, "en")
    check_page(tab, en)
    switch_language(tab, "zh")
    check_page(tab, zh)
