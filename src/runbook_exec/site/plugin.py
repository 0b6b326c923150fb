"""MkDocs plugin ``runbook-badges``: embeds executed runbooks in pages, with their badge.

A page embeds a runbook with a marker line::

    <!-- runbook: stale-state -->

``on_page_markdown`` replaces it with the verification badge (from the ledger), a link to
the notebook in the page's language, and the executed runbook as Markdown for that
language. Image outputs and the per-language notebooks are written into the site in
``on_post_build``. With ``mkdocs build --strict`` a marker whose runbook failed or has no
record is a build error; otherwise the page shows the badge and the build warns.

Options (``mkdocs.yml``)::

    plugins:
      - i18n: ...
      - runbook-badges:
          build_dir: build          # where `runbook-exec run` wrote ledger.json + executed/
          default_language: zh      # the language served at / (others under /<lang>/)
          downloads: runbooks       # site folder of the downloadable notebooks

It reads only the ledger module's files, never executor internals.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

from ..errors import LedgerFormatError
from ..execute import ledger
from .render import (
    badge_html,
    download_html,
    engines_table,
    filter_language,
    render_notebook,
    site_footer,
)

log = logging.getLogger("mkdocs.plugins.runbook_badges")

# The verification page's table of every engine the runbooks of this build ran.
ENGINES_MARKER = re.compile(r"^[ \t]*<!--\s*engines-table\s*-->[ \t]*$", re.M)
MARKER = re.compile(r"^[ \t]*<!--\s*runbook:\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*-->[ \t]*$", re.M)


class RunbookConfig(Config):  # type: ignore[no-untyped-call]
    build_dir = config_options.Type(str, default="build")
    default_language = config_options.Type(str, default="zh")
    downloads = config_options.Type(str, default="runbooks")
    # A docs page (``page.md#anchor``) telling readers how to run a runbook themselves;
    # every embedded runbook links to it beside the download.
    howto = config_options.Optional(config_options.Type(str))
    # Every page ends with one line: how many runbooks this build verified, when, against
    # what, linking ``verification`` (a docs page) when given.
    footer = config_options.Type(bool, default=False)
    verification = config_options.Optional(config_options.Type(str))


class RunbookPlugin(BasePlugin[RunbookConfig]):  # type: ignore[no-untyped-call]
    def __init__(self) -> None:
        self.records: dict[str, ledger.Record] = {}
        self.notebooks: dict[str, dict[str, Any] | None] = {}
        self.pending: dict[str, bytes] = {}  # site-relative path -> bytes
        self.base = Path(".")
        self.strict = False

    def on_config(self, config: Any) -> Any:
        self.base = Path(config.config_file_path or ".").resolve().parent
        self.strict = bool(config.get("strict"))
        return config

    def on_pre_build(self, config: Any) -> None:
        # Once per language build (mkdocs-static-i18n builds each language in turn).
        build_dir = self.base / self.config.build_dir
        try:
            self.records = ledger.load(ledger.ledger_path(build_dir))
        except LedgerFormatError as exc:
            raise PluginError(str(exc)) from exc
        self.notebooks = {}

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        lang = page_language(page.file, self.config.default_language)
        if "runbook:" in markdown:
            markdown = MARKER.sub(lambda m: self._embed(m.group(1), page, lang), markdown)
        if "engines-table" in markdown:
            markdown = ENGINES_MARKER.sub(lambda m: engines_table(self.records, lang), markdown)
        if self.config.footer:
            link = self._relative(self.config.verification, page)
            markdown += "\n\n" + site_footer(self.records, lang, link) + "\n"
        return markdown

    @staticmethod
    def _relative(target: str | None, page: Any) -> str | None:
        """``page.md#anchor`` (docs-relative) as a link relative to ``page``'s source."""
        if not target:
            return None
        path, _, anchor = target.partition("#")
        rel = posixpath.relpath(path, posixpath.dirname(page.file.src_uri) or ".")
        return rel + (f"#{anchor}" if anchor else "")

    def on_post_build(self, config: Any) -> None:
        site = Path(config.site_dir)
        for rel, body in sorted(self.pending.items()):
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        self.pending = {}

    def _embed(self, name: str, page: Any, lang: str) -> str:
        record = self.records.get(name)
        nb = self._notebook(name, record)
        where = page.file.src_uri
        if record is None or nb is None:
            self._complain(
                f"page {where} embeds runbook {name!r}, which has no verification record in "
                f"{self.config.build_dir}/{ledger.LEDGER_NAME}; run `runbook-exec run`"
            )
            return badge_html(None, lang)
        if record["status"] != "passed":
            self._complain(
                f"page {where} embeds a failed runbook: {ledger.describe_failure(record)}"
            )
        page_dir = posixpath.dirname(page.file.dest_uri)
        stem = f"runbook-{name}"
        rendered = render_notebook(nb, lang, stem)
        for asset, body in rendered.assets.items():
            self.pending[posixpath.join(page_dir, asset)] = body
        download = self._download_path(name, lang)
        self.pending[download] = _notebook_bytes(filter_language(nb, lang))
        href = posixpath.relpath(download, page_dir or ".")
        howto = self._relative(self.config.howto, page)
        return "\n\n".join(
            [badge_html(record, lang), download_html(href, name, lang, howto), rendered.markdown]
        )

    def _notebook(self, name: str, record: ledger.Record | None) -> dict[str, Any] | None:
        if name not in self.notebooks:
            nb = None
            if record is not None:
                path = self.base / self.config.build_dir / record["notebook"]
                try:
                    nb = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    nb = None
            self.notebooks[name] = nb
        return self.notebooks[name]

    def _download_path(self, name: str, lang: str) -> str:
        prefix = "" if lang == self.config.default_language else f"{lang}/"
        return f"{prefix}{self.config.downloads}/{name}.ipynb"

    def _complain(self, message: str) -> None:
        if self.strict:
            raise PluginError(message)
        log.warning(message)


def page_language(file: Any, default: str) -> str:
    """The language of a page's source: ``file.locale`` (mkdocs-static-i18n), else the
    ``x.<lang>.md`` suffix, else the default language."""
    locale = getattr(file, "locale", None)
    if locale:
        return str(locale)
    suffixes = PurePosixPath(file.src_uri).suffixes
    if len(suffixes) >= 2 and re.fullmatch(r"\.[a-z]{2}(?:[_-][A-Za-z]{2})?", suffixes[-2]):
        return suffixes[-2][1:]
    return default


def _notebook_bytes(nb: dict[str, Any]) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
