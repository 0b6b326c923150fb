"""Pages that embed a runbook (``<!-- runbook: NAME -->`` in the source) render as pages,
not notebook JSON, with the verification badge, executed outputs and loaded plots."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

# The badge markup written by runbook_exec.site.render.badge_html.
BADGE = ".runbook-badge"


def test_runbook_page_shows_badge_outputs_and_plots(tab, runbook_page) -> None:
    tab.visit(runbook_page.path, settle=False)  # visit() fails unless served as text/html
    page = tab.page
    article = page.locator("article")
    assert not article.inner_text().lstrip().startswith("{"), "notebook JSON shown as text"
    badges = page.locator(f"article {BADGE}")
    assert badges.count() == len(runbook_page.runbooks()), "one badge per embedded runbook"
    statuses = [badges.nth(i).get_attribute("data-runbook-status") for i in range(badges.count())]
    assert statuses == ["passed"] * len(statuses), f"badges say {statuses}"
    assert badges.first.is_visible()
    # Executed outputs: the plugin fences them with the class `runbook-output`.
    outputs = page.evaluate(
        """(sel) => {
          const badge = document.querySelector(sel);
          return [...document.querySelectorAll('article .runbook-output code')]
            .filter(c => badge.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING)
            .map(c => c.innerText.trim()).filter(t => t.length);
        }""",
        f"article {BADGE}",
    )
    assert outputs, "no executed output under the badge"
    # Every plot is a real, decodable image (lazy images load once scrolled to).
    images = page.locator("article img")
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=img.element_handle())
        width = img.evaluate("img => img.naturalWidth")
        assert width > 0, f"image {img.get_attribute('src')} did not load"
    tab.settle()
    assert tab.problems() == []


def test_some_runbook_page_shows_a_plot(runbook_page_list, site_dir) -> None:
    """Plots are part of the evidence: at least one runbook page carries one (the
    test above checks that each image loads in the browser)."""
    assert runbook_page_list, "no page embeds a runbook"
    with_plots = [
        str(p) for p in runbook_page_list
        if re.search(r'<img[^>]+src="runbook-[^"]+\.(?:png|svg)"',
                     (site_dir / p.path / "index.html").read_text(encoding="utf-8"))
    ]
    assert with_plots, f"none of {[str(p) for p in runbook_page_list]} shows a plot"
