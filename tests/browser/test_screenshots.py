"""Screenshots of the pages people look at first, in both languages, at desktop and phone
width, saved under test-artifacts/screenshots/ (not committed) for a person to review.
At phone width nothing may overflow horizontally."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TARGETS = ["index.md", "errors/mismatched-rootfs.md", "<runbook>", "matrix.md"]

_OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    // inside a scroll container (code blocks, tables) overflow is by design
    let p = el.parentElement, scrolls = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { scrolls = true; break; }
      p = p.parentElement;
    }
    const name = `${el.tagName.toLowerCase()}.${el.className}`;
    if (!scrolls) out.push(`${name} right=${Math.round(r.right)}`);
  }
  return out.slice(0, 5);
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("target", TARGETS)
def test_screenshot_fits_width(tab, page_of, runbook_page_list, artifacts_dir,
                               target: str, lang: str, viewport: str) -> None:
    if target == "<runbook>":
        # a runbook page other than the targets above, preferably one under runbooks/
        sources = [p.source for p in runbook_page_list if p.source not in TARGETS]
        assert sources, "no page embeds a runbook"
        target = sorted(sources, key=lambda s: not s.startswith("runbooks/"))[0]
    doc = page_of(target, lang)
    page = tab.page
    page.set_viewport_size(VIEWPORTS[viewport])
    tab.visit(doc.path)
    # lazy images (runbook plots) belong in the picture
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading='eager')")
    page.wait_for_function("[...document.images].every(i => i.complete)")
    name = f"{doc.stem.replace('/', '_')}-{lang}-{viewport}.png"
    page.screenshot(path=str(artifacts_dir / name), full_page=True)
    sizes = page.evaluate(
        "(e => ({scroll: e.scrollWidth, client: e.clientWidth}))(document.documentElement)")
    if viewport == "phone":
        assert sizes["scroll"] <= sizes["client"], (
            f"/{doc.path} overflows at phone width: {sizes}; widest: {page.evaluate(_OVERFLOWING)}")
    assert tab.problems() == []
