"""Material's search box, typed into like a reader does, puts the right page first.

Each query is asked from the home page of its language, and the first result must be the
expected page in that same language (a reader of /en/ must not land on the Chinese page).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# (language, query, expected first result). The Chinese expectations follow the content:
# 状态不一致 is the stale-record state after a failed import (errors/already-present);
# 镜像加载 is the handbook's own subject, named in the home page's title.
QUERIES = [
    # today's errors first (Docker 29's containerd image store), each wording in both languages
    pytest.param("en", "content digest not found", "errors/content-digest-not-found.md",
                 id="en-content-digest"),
    pytest.param("zh", "content digest not found", "errors/content-digest-not-found.md",
                 id="zh-content-digest"),
    pytest.param("en", "code = NotFound desc = content digest", "errors/content-digest-not-found.md",
                 id="en-content-digest-rpc"),
    pytest.param("zh", "code = NotFound desc = content digest", "errors/content-digest-not-found.md",
                 id="zh-content-digest-rpc"),
    pytest.param("en", "number of layers and diffIDs don't match", "errors/mismatched-rootfs.md",
                 id="en-layers-diffids"),
    pytest.param("zh", "number of layers and diffIDs don't match", "errors/mismatched-rootfs.md",
                 id="zh-layers-diffids"),
    pytest.param("en", "image might be filtered out", "errors/image-filtered-out.md",
                 id="en-filtered-out"),
    pytest.param("zh", "image might be filtered out", "errors/image-filtered-out.md",
                 id="zh-filtered-out"),
    # the CI page for readers who hit it on a hosted runner
    pytest.param("en", "GitHub Actions", "fixes/ci.md", id="en-github-actions"),
    pytest.param("zh", "GitHub Actions", "fixes/ci.md", id="zh-github-actions"),
    pytest.param("zh", "按摘要引用", "digest-references.md", id="zh-by-digest"),
    # the page for readers on a desktop product, who ask which store they run
    pytest.param("en", "OrbStack", "which-docker.md", id="en-orbstack"),
    pytest.param("zh", "Colima", "which-docker.md", id="zh-colima"),
    pytest.param("en", "Rancher Desktop image store", "which-docker.md", id="en-rancher"),
    pytest.param("zh", "Rancher Desktop", "which-docker.md", id="zh-rancher"),
    pytest.param("en", "references by digest", "digest-references.md", id="en-by-digest"),
    pytest.param("en", "attestation manifests", "multi-platform.md", id="en-attestation"),
    pytest.param("zh", "来源证明", "multi-platform.md", id="zh-attestation"),
    pytest.param("en", "failed to detect containerd snapshotter", "version-skew.md",
                 id="en-skew"),
    pytest.param("zh", "failed to detect containerd snapshotter", "version-skew.md",
                 id="zh-skew"),
    pytest.param("en", "unknown containerd config version: 4", "version-skew.md",
                 id="en-skew-v4"),
    pytest.param("zh", "unknown containerd config version", "version-skew.md",
                 id="zh-skew-v4"),
    pytest.param("en", "podman save", "fixes/podman.md", id="en-podman"),
    pytest.param("zh", "podman save", "fixes/podman.md", id="zh-podman"),
    pytest.param("en", "KIND_EXPERIMENTAL_PROVIDER", "fixes/podman.md", id="en-podman-provider"),
    pytest.param("zh", "KIND_EXPERIMENTAL_PROVIDER", "fixes/podman.md", id="zh-podman-provider"),
    pytest.param("en", "oci-archive ref.name", "oci-archive-names.md", id="en-oci-names"),
    pytest.param("zh", "OCI 归档 镜像名", "oci-archive-names.md", id="zh-oci-names"),
    pytest.param("zh", "状态不一致", "errors/already-present.md", id="zh-state-mismatch"),
    pytest.param("zh", "镜像加载", "index.md", id="zh-image-load"),
    pytest.param("en", "mismatched image rootfs", "errors/mismatched-rootfs.md", id="en-rootfs"),
    pytest.param("en", "wrong diff id", "errors/wrong-diff-id.md", id="en-wrong-diff-id"),
    pytest.param("en", "already present on machine", "errors/already-present.md", id="en-present"),
    # an English error string pasted on a Chinese page finds the Chinese page of that error
    pytest.param("zh", "mismatched image rootfs", "errors/mismatched-rootfs.md", id="zh-rootfs"),
    pytest.param("zh", "wrong diff id", "errors/wrong-diff-id.md", id="zh-wrong-diff-id"),
    pytest.param("zh", "already present on machine", "errors/already-present.md", id="zh-present"),
]


@pytest.mark.parametrize(("lang", "query", "expected"), QUERIES)
def test_search_puts_right_page_first(tab, page_of, worker_warnings, lang: str, query: str,
                                      expected: str) -> None:
    home = page_of("index.md", lang)
    with worker_warnings(tab.page) as worker_said:
        _search(tab, page_of, home, query, expected, lang, worker_said)


def _search(tab, page_of, home, query: str, expected: str, lang: str,
            worker_said: list[str]) -> None:
    tab.visit(home.path, settle=False)
    page = tab.page
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    # fill() sends `input` but no key events; a real keyboard ends with a keyup, which
    # Material's search also listens to.
    box.press("End")
    first = page.locator(".md-search-result__item > a").first
    try:
        first.wait_for(state="attached", timeout=10_000)
    except Exception:  # noqa: BLE001  (playwright TimeoutError; report what the page said)
        meta = page.inner_text(".md-search-result__meta")
        pytest.fail(f"{query!r} on /{home.path}: no result ({meta.strip()}; box holds "
                    f"{box.input_value()!r}; worker said {worker_said[:2]})")
    results = [
        tab.path_of(href.split("?")[0]) for href in
        page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.href)")
    ]
    want = page_of(expected, lang).path
    assert results[0] == want, f"{query!r}: first /{results[0]}, want /{want}; got {results[:5]}"
    assert tab.problems() == []

