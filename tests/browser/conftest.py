"""The built site as a reader meets it: served on 127.0.0.1, read by Debian's Chromium.

One HTTP server, one browser, one context and one tab serve the whole session (cheap on a
2-core CI box). Every request the browser makes is watched: one that would leave 127.0.0.1 is
counted (and fails at the network layer), so "offline" is measured, not assumed.

The page list comes from ``mkdocs.yml``'s ``nav``, so pages added by other rooms are checked
without editing these tests. ``BROWSER_SITE_DIR`` points the suite at another built site
(used to show that the suite fails on a deliberately broken copy).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mkdocsyml
import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing may leave 127.0.0.1: other hosts don't resolve, and anything else (an IP
    # literal) goes to a proxy on a closed local port. Loopback bypasses the proxy.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
_RUNBOOK_MARKER = re.compile(r"^[ \t]*<!--\s*runbook:\s*([\w.-]+)\s*-->", re.M)


# --------------------------------------------------------------------------- pages


def _load_mkdocs_config() -> dict[str, Any]:
    return mkdocsyml.load()


MKDOCS = _load_mkdocs_config()


def nav_sources() -> list[str]:
    """Every Markdown source named in mkdocs.yml's nav, in nav order."""

    def walk(items: list[Any]) -> list[str]:
        out: list[str] = []
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                out += walk(value)
            elif isinstance(value, str) and value.endswith(".md"):
                out.append(value)
        return out

    return walk(MKDOCS["nav"])


@dataclass(frozen=True)
class DocPage:
    """One page in one language: its Markdown source and where the site serves it."""

    source: str  # nav entry, e.g. "errors/mismatched-rootfs.md"
    lang: str

    @property
    def stem(self) -> str:
        return self.source[: -len(".md")]

    @property
    def path(self) -> str:
        """URL path relative to the site root, e.g. ``en/errors/mismatched-rootfs/``."""
        stem = self.stem
        if stem == "index":
            rel = ""
        elif stem.endswith("/index"):
            rel = stem[: -len("index")]
        else:
            rel = f"{stem}/"
        return rel if self.lang == DEFAULT_LANG else f"{self.lang}/{rel}"

    @property
    def markdown_file(self) -> Path:
        suffix = ".md" if self.lang == DEFAULT_LANG else f".{self.lang}.md"
        return ROOT / MKDOCS.get("docs_dir", "docs") / f"{self.stem}{suffix}"

    def markdown(self) -> str:
        return self.markdown_file.read_text(encoding="utf-8")

    def other(self) -> DocPage:
        return DocPage(self.source, next(lang for lang in LANGS if lang != self.lang))

    def runbooks(self) -> list[str]:
        return _RUNBOOK_MARKER.findall(self.markdown())

    def __str__(self) -> str:
        return f"{self.lang}:{self.stem}"


def all_pages() -> list[DocPage]:
    return [DocPage(src, lang) for src in nav_sources() for lang in LANGS]


def runbook_pages() -> list[DocPage]:
    return [p for p in all_pages() if p.markdown_file.is_file() and p.runbooks()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Data-driven from the nav: a page added to mkdocs.yml is checked with no test edit.
    if "doc_page" in metafunc.fixturenames:
        pages = all_pages()
        metafunc.parametrize("doc_page", pages, ids=[str(p) for p in pages])
    if "nav_source" in metafunc.fixturenames:
        sources = nav_sources()
        metafunc.parametrize("nav_source", sources, ids=[s[: -len(".md")] for s in sources])
    if "error_page" in metafunc.fixturenames:
        pages = [p for p in all_pages() if p.source.startswith("errors/")]
        metafunc.parametrize("error_page", pages, ids=[str(p) for p in pages])
    if "runbook_page" in metafunc.fixturenames:
        pages = runbook_pages()
        metafunc.parametrize("runbook_page", pages, ids=[str(p) for p in pages])


# --------------------------------------------------------------------------- site + server


@pytest.fixture(scope="session")
def site_dir() -> Path:
    site = Path(os.environ.get("BROWSER_SITE_DIR") or ROOT / "site")
    if not (site / "index.html").is_file() or not (site / "en" / "index.html").is_file():
        pytest.fail(f"no built site at {site}: run ./dev.sh site first", pytrace=False)
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per asset would bury the test output


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- browser


@dataclass
class Stats:
    """Counted over the whole session; printed in the terminal summary."""

    page_loads: int = 0
    pages: set[str] = field(default_factory=set)
    requests: int = 0
    blocked: list[str] = field(default_factory=list)


STATS = Stats()


@dataclass
class Tab:
    """The session's one browser tab plus what it saw since the last :meth:`visit`."""

    page: Any  # playwright.sync_api.Page
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    inflight: set[Any] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def path_of(self, url: str) -> str:
        """The site-relative path of a URL on the local server (query and fragment dropped)."""
        parts = urlsplit(url)
        assert url.startswith(self.base_url), f"left the local site: {url}"
        return parts.path.lstrip("/")

    def reset(self) -> None:
        self.console_errors.clear()
        self.blocked.clear()

    def visit(self, path: str, *, settle: bool = True) -> Any:
        """Load a page fresh; fail unless it is served as HTML with status 200."""
        self.reset()
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None, f"no response for /{path}"
        assert response.status == 200, f"/{path}: HTTP {response.status}"
        kind = response.headers.get("content-type", "")
        assert kind.startswith("text/html"), f"/{path} is served as {kind!r}, not as a page"
        self.count_load(self.page.url)
        if settle:
            self.settle()
        return response

    def count_load(self, url: str) -> None:
        STATS.page_loads += 1
        STATS.pages.add(self.path_of(url))

    def settle(self, quiet: float = 0.15, limit: float = 5.0) -> None:
        """Wait until no request has been in flight for ``quiet`` seconds. Material fetches
        sitemaps and the search index after `load`; their failures must be seen here."""
        deadline = time.monotonic() + limit
        calm_since = time.monotonic()
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
            if self.inflight:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                return

    def problems(self) -> list[str]:
        return [f"console: {e}" for e in self.console_errors] + [
            f"left localhost: {u}" for u in self.blocked
        ]


def _launch(playwright: Any) -> Any:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def session_tab(browser: Any, base_url: str) -> Iterator[Tab]:
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(10_000)  # a missing element fails in seconds, not after 30 s
    tab = Tab(page=page, base_url=base_url)
    local = urlsplit(base_url).netloc

    def watch(request: Any) -> None:
        STATS.requests += 1
        url = request.url
        if urlsplit(url).netloc != local and not url.startswith(("data:", "blob:")):
            tab.blocked.append(url)
            STATS.blocked.append(url)

    # Every request (pages and workers) is seen here; one that would leave 127.0.0.1 is
    # counted, and the browser's proxy/resolver flags make it fail before it leaves. A
    # Playwright route would do the same but disables the HTTP cache, which makes every
    # page re-parse 3.5 MB of vendored mermaid and the suite twice as slow.
    context.on("request", watch)
    page.on("console", lambda m: m.type == "error" and tab.console_errors.append(
        f"{m.text} ({m.location.get('url', '')})"))
    page.on("pageerror", lambda e: tab.console_errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: tab.inflight.add(r))
    page.on("requestfinished", lambda r: tab.inflight.discard(r))
    page.on("requestfailed", lambda r: tab.inflight.discard(r))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def tab(session_tab: Tab) -> Tab:
    """The shared tab, back at desktop size with nothing recorded."""
    session_tab.page.set_viewport_size(DESKTOP)
    session_tab.reset()
    return session_tab


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS.page_loads:
        terminalreporter.write_line(
            f"browser: {len(STATS.pages)} distinct pages, {STATS.page_loads} page loads, "
            f"{STATS.requests} requests, {len(STATS.blocked)} blocked (left 127.0.0.1)"
        )
        for url in sorted(set(STATS.blocked))[:10]:
            terminalreporter.write_line(f"  blocked: {url}")


@pytest.fixture(scope="session")
def page_of() -> type[DocPage]:
    """``page_of("errors/x.md", "en")``: test modules can't import conftest (importlib mode)."""
    return DocPage


@pytest.fixture(scope="session")
def site_url() -> str | None:
    """Where the site under test says it is published (``HANDBOOK_SITE_URL``), or None."""
    url = MKDOCS["site_url"]
    return None if not url else str(url).rstrip("/") + "/"


@pytest.fixture(scope="session")
def runbook_page_list() -> list[DocPage]:
    return runbook_pages()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def _worker_warnings(page: Any) -> Iterator[list[str]]:
    """The warnings page's web workers log while the block runs (Material's search worker
    reports a search that threw as one)."""
    said: list[str] = []

    def watch(worker: Any) -> None:
        worker.on("console", lambda m: said.append(m.text) if m.type == "warning" else None)

    page.on("worker", watch)
    try:
        yield said
    finally:
        page.remove_listener("worker", watch)


@pytest.fixture
def worker_warnings() -> Any:
    """``with worker_warnings(page) as said:`` (test modules can't import conftest)."""
    return _worker_warnings
