"""``site-tidy``: fixes what Material and mkdocs-static-i18n get wrong together.

1. **Search per language.** The i18n plugin merges both languages into one root search
   index that every page fetches, so ``/en/`` readers get Chinese pages first. After the
   last language is built, the merged index is split into ``search/search_index.json``
   (default language) and ``<locale>/search/search_index.json``; each page of another
   language gets ``__config.base`` pointing at its language's root, which is where
   Material fetches the index from and resolves results against.
2. **No sitemap 404.** The per-page ``<link rel="alternate" hreflang>`` tags make Material
   fetch ``<page>/sitemap.xml`` (mkdocs-material#6582); they are removed. The language
   switcher's links stay and lead to the same page in the other language.
3. **Head of each page.** Its own, escaped meta description, and ``hreflang`` alternates
   to its twin that Material does not fetch sitemaps for (:mod:`runbook_exec.site.head`);
   absolute under ``site_url``, relative when the build does not know its address.
4. **The handbook's own address** in page text (:data:`~runbook_exec.site.head.ADDRESS_MARK`)
   is ``site_url`` when one is configured; otherwise the reader's browser fills it in,
   and no sitemap is written (it could only list "None…" addresses).
5. **Search that finds every word.** The lunr in Material's search worker merges unlike
   nodes of its word trie, and some queries then find nothing; the worker is written with
   the one-expression fix of :mod:`runbook_exec.site.searchworker`.

List it after ``i18n`` in ``mkdocs.yml``. The text transformations live in
:mod:`runbook_exec.site.search_index`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils.templates import TemplateContext

from runbook_exec.site.head import (
    describe,
    escape_attribute,
    fill_addresses,
    hreflang_links,
    insert_in_head,
    root_meta,
    twin_urls,
)
from runbook_exec.site.search_index import (
    IndexFormatError,
    index_path,
    language_of,
    rebase_page,
    split_index,
    strip_alternate_links,
)
from runbook_exec.site.searchworker import WORKER_GLOB, fix_token_set_key

__all__ = ["TidyPlugin"]


def _i18n_plugin(config: MkDocsConfig) -> Any:
    plugin = config.plugins.get("i18n")
    if plugin is None:
        raise PluginError("site-tidy: the i18n plugin is not configured; list it before site-tidy")
    return plugin


def _other_locales(i18n: Any) -> list[str]:
    """Built languages other than the default one (served under ``/<locale>/``)."""
    return [
        lang.locale
        for lang in i18n.config.languages
        if lang.build and not lang.default and lang.locale != "null"
    ]


def _default_locale(i18n: Any) -> str:
    for lang in i18n.config.languages:
        if lang.default:
            return str(lang.locale)
    raise PluginError("site-tidy: the i18n plugin has no default language")


class TidyPlugin(BasePlugin):  # type: ignore[type-arg,no-untyped-call]  # untyped mkdocs
    def on_page_markdown(
        self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Any
    ) -> str:
        return fill_addresses(markdown, config.site_url)

    def on_page_context(
        self, context: TemplateContext, /, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext:
        # Material writes page.meta.description into an attribute without escaping it
        description = describe(page.meta.get("description"), page.content or "")
        if description:
            page.meta["description"] = escape_attribute(description)
        return context

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str:
        output = strip_alternate_links(output)
        i18n = _i18n_plugin(config)
        others = _other_locales(i18n)
        locale = language_of(page.url, others)
        links = hreflang_links(
            twin_urls(page.url, locale, others), _default_locale(i18n), config.site_url, page.url
        )
        output = insert_in_head(output, links)
        if not config.site_url:
            output = insert_in_head(output, root_meta(page.url))
        if locale is None:
            return output
        try:
            return rebase_page(output, page.url, locale)
        except IndexFormatError as exc:
            raise PluginError(f"site-tidy: {exc}") from exc

    # After i18n's own post_build (-100), which builds the other languages and then
    # writes the merged index.
    @event_priority(-110)
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        i18n = _i18n_plugin(config)
        if getattr(i18n, "building", False):
            return  # inside i18n's build of another language: the merged index comes later
        site = Path(config.site_dir)
        if not config.site_url:
            # a sitemap lists absolute addresses only; without one MkDocs writes "None…"
            for name in ("sitemap.xml", "sitemap.xml.gz"):
                (site / name).unlink(missing_ok=True)
        merged = site / index_path(None)
        if not merged.is_file():
            return  # search plugin disabled
        _fix_search_worker(site)
        try:
            index = json.loads(merged.read_text(encoding="utf-8"))
            parts = split_index(index, _other_locales(i18n))
        except (json.JSONDecodeError, IndexFormatError) as exc:
            raise PluginError(f"site-tidy: cannot split {merged}: {exc}") from exc
        for locale, part in parts.items():
            target = site / index_path(locale)
            target.parent.mkdir(parents=True, exist_ok=True)
            # same compact form as Material's own index
            target.write_text(
                json.dumps(part, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
            )


def _fix_search_worker(site: Path) -> None:
    workers = sorted(site.glob(WORKER_GLOB))
    if len(workers) != 1:
        raise PluginError(f"site-tidy: expected one search worker {WORKER_GLOB} in {site}, "
                          f"found {len(workers)}")
    worker = workers[0]
    try:
        fixed = fix_token_set_key(worker.read_text(encoding="utf-8"), str(worker))
    except IndexFormatError as exc:
        raise PluginError(f"site-tidy: {exc}") from exc
    worker.write_text(fixed, encoding="utf-8")
