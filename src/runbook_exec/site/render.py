"""An executed runbook as Markdown for one language, and its verification badge.

The notebook goes through nbconvert's Markdown exporter with our own small template
(``templates/runbook.md.j2``), never its HTML templates (they pull mermaid and MathJax from
CDNs); the Markdown becomes part of the page, searchable like any page text.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import MarkdownExporter
from nbconvert.preprocessors import (
    ExtractOutputPreprocessor,
    Preprocessor,
    TagRemovePreprocessor,
)
from nbformat.v4.rwbase import rejoin_lines

from ..execute.ledger import Failure, Record, short_environment

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


@dataclass
class Rendered:
    """Markdown for a page plus the image files it refers to (name -> bytes)."""

    markdown: str
    assets: dict[str, bytes] = field(default_factory=dict)


def text_of(value: Any) -> str:
    """nbformat stores multi-line strings either as a str or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value or "")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def keeps_cell(cell: dict[str, Any], lang: str) -> bool:
    """Markdown cells belong to one language (``lang`` metadata) or to all; code to all."""
    if cell.get("cell_type") != "markdown":
        return True
    cell_lang = cell.get("metadata", {}).get("lang")
    return cell_lang in (None, "", lang)


def filter_language(nb: dict[str, Any], lang: str) -> dict[str, Any]:
    """A copy of ``nb`` for readers of ``lang``: other languages' prose removed, code and
    outputs untouched, the jupytext pairing metadata dropped (the copy is a plain notebook)."""
    out = copy.deepcopy(nb)
    out["cells"] = [c for c in out.get("cells", []) if keeps_cell(c, lang)]
    out.get("metadata", {}).pop("jupytext", None)
    return out


# Outputs are fenced as plain text with a class of their own, so pages can style them apart
# from code and tests can find them (pymdownx.superfences attribute syntax).
OUTPUT_INFO = " { .text .runbook-output }"


def fence(body: str, info: str = "") -> str:
    """A fenced block longer than any backtick run inside ``body``."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body.rstrip()}\n{ticks}"


def collapsed(body: str, title: str) -> str:
    """A closed ``??? example`` block (pymdownx.details) holding ``body``."""
    indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
    return f'??? example "{title}"\n\n{indented}'


def render_notebook(
    nb: dict[str, Any], lang: str, asset_prefix: str, top_heading: int = 2
) -> Rendered:
    """Markdown for ``lang``; images become files named ``<asset_prefix>-<cell>-<n>.<ext>``.
    Headings are shifted so the runbook's highest one is at level ``top_heading``.

    nbconvert's Markdown exporter does the work with our template (``templates/``): code
    folds away under a numbered title, outputs stay in view as text blocks; PNG, JPEG and
    SVG outputs are extracted to files, Markdown and HTML outputs are kept as they are."""
    node = nbformat.from_dict(copy.deepcopy(nb))
    for i, cell in enumerate(node.get("cells", [])):
        cell.setdefault("id", f"cell-{i}")  # the exporter validates; old writers gave no ids
    rejoin_lines(node)
    resources = {
        "unique_key": asset_prefix,
        "output_files_dir": None,
        "lang": lang,
        "code_title": words(lang)["code"],
        "RS": _RS,
    }
    body, out = _exporter().from_notebook_node(node, resources=resources)
    blocks = [b.strip() for b in body.split(_RS)]
    markdown = "\n\n".join(b for b in blocks if b)
    assets = {str(k): bytes(v) for k, v in (out.get("outputs") or {}).items()}
    return Rendered(demote_headings(markdown, top_heading) + "\n", assets)


# Ends each block the template writes (an ASCII record separator: never in our outputs,
# which pass through strip_ansi and output_fence, both of which drop it).
_RS = "\x1e"
TEMPLATE = Path(__file__).with_name("templates") / "runbook.md.j2"


@functools.cache
def _exporter() -> MarkdownExporter:
    """One configured exporter per process (building its Jinja environment costs ~50 ms)."""
    exporter = MarkdownExporter(template_file=str(TEMPLATE), default_preprocessors=[])
    for preprocessor in (
        _NumberCode(),
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"},
            remove_input_tags={"remove-input"},
            remove_all_outputs_tags={"remove-output"},
        ),
        ExtractOutputPreprocessor(
            extract_output_types={"image/png", "image/jpeg", "image/svg+xml"},
            output_filename_template="{unique_key}-{cell_index}-{index}{extension}",
        ),
        _KeepLanguage(),
        _MergeStreams(),
    ):
        exporter.register_preprocessor(preprocessor, enabled=True)
    for name, function in (
        ("fence", fence),
        ("collapsed", collapsed),
        ("strip_ansi", strip_ansi),
        ("output_fence", output_fence),
    ):
        exporter.register_filter(name, function)
    return exporter


def output_fence(text: str) -> str:
    """An output as a text block; nothing for an output that is only whitespace."""
    text = text.replace(_RS, "")
    return fence(text, OUTPUT_INFO) if text.strip() else ""


class _Step(Preprocessor):
    """A preprocessor of ours (typed constructor over nbconvert's untyped one)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # traitlets-made, unannotated


class _NumberCode(_Step):
    """Number every code cell as the notebook shows it (before any cell is removed)."""

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        number = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                number += 1
                cell.metadata["runbook_number"] = number
        return nb, resources


class _KeepLanguage(_Step):
    """Keep the markdown cells of the page's language (``resources["lang"]``) and shared ones."""

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        nb.cells = [c for c in nb.cells if keeps_cell(c, resources["lang"])]
        return nb, resources


class _MergeStreams(_Step):
    """Consecutive stream outputs, stdout and stderr alike, become one (as a terminal shows
    them interleaved); nbconvert's own coalescing keeps the two streams apart."""

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        merged: list[Any] = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and merged and merged[-1].output_type == "stream":
                merged[-1].text += output.text
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged
        return cell, resources


_HEADING = re.compile(r"^(#{1,6})(?=\s)")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def demote_headings(markdown: str, top: int = 2) -> str:
    """Shift ATX headings (outside code fences) so the highest one is at level ``top``:
    the page around an embedded runbook already has its own ``#`` title."""
    lines = markdown.split("\n")
    levels = [len(m.group(1)) for m in _headings(lines)]
    shift = max(0, top - min(levels)) if levels else 0
    if not shift:
        return markdown
    out, fence = [], ""
    for line in lines:
        fence = _track_fence(line, fence)
        match = None if fence else _HEADING.match(line)
        if match:
            line = "#" * min(6, len(match.group(1)) + shift) + line[match.end() :]
        out.append(line)
    return "\n".join(out)


def _headings(lines: list[str]) -> list[re.Match[str]]:
    found, fence = [], ""
    for line in lines:
        fence = _track_fence(line, fence)
        match = None if fence else _HEADING.match(line)
        if match:
            found.append(match)
    return found


def _track_fence(line: str, fence: str) -> str:
    """The open fence after ``line`` ("" when outside a fenced block)."""
    match = _FENCE.match(line)
    if not match:
        return fence
    marker = match.group(1)
    if not fence:
        return marker
    return "" if marker[0] == fence[0] and len(marker) >= len(fence) else fence


_WORDS = {
    "zh": {
        "code": "代码",
        "engines_count": "从源码构建的 {n} 个引擎",
        "engines_head": "| 引擎 | 模块@版本 | Go | 二进制文件的 sha256 | 用到它的运行手册 |",
        "engines_none": "本次构建的验证记录里没有任何引擎。",
        "verified": "已验证",
        "verified_body": "{when} 执行通过，耗时 {duration}；环境：{env}。",
        "failed": "验证失败",
        "failed_body": "第 {cell} 个代码单元失败：{error}",
        "failed_nocell": "执行未能开始：{error}",
        "missing": "未执行",
        "missing_body": "本次构建没有这个 runbook 的验证记录，下方内容未经执行。",
        "download": "下载 Notebook",
        "howto": "如何在自己的机器上运行",
        "footer": "本站的 {total} 个运行手册中 {passed} 个验证通过（最近一次执行于 {when}；"
        "环境：{env}）。",
        "footer_none": "本次构建没有任何运行手册的验证记录。",
        "footer_link": "本站如何验证",
        "seconds": "{s:.1f} 秒",
    },
    "en": {
        "code": "Code",
        "engines_count": "{n} engines built from source",
        "engines_head": "| Engine | Module@version | Go | sha256 of each binary "
        "| Runbooks that ran it |",
        "engines_none": "No engine appears in this build's verification records.",
        "verified": "Verified",
        "verified_body": "Executed successfully {when} in {duration}; environment: {env}.",
        "failed": "Verification failed",
        "failed_body": "Code cell {cell} failed: {error}",
        "failed_nocell": "Execution could not start: {error}",
        "missing": "Not executed",
        "missing_body": "This build has no verification record for this runbook; "
        "nothing below was executed.",
        "download": "Download the notebook",
        "howto": "How to run it on your own machine",
        "footer": "{passed} of this site's {total} runbooks verified (latest run {when}; "
        "environment: {env}).",
        "footer_none": "This build has no verification record for any runbook.",
        "footer_link": "How this site is verified",
        "seconds": "{s:.1f} s",
    },
}


def words(lang: str) -> dict[str, str]:
    return _WORDS.get(lang, _WORDS["en"])


def badge_html(record: Record | None, lang: str) -> str:
    """A Material admonition (styled by the theme's CSS, no extension needed)."""
    w = words(lang)
    if record is None:
        kind, title, body = "warning", w["missing"], w["missing_body"]
    elif record["status"] == "passed":
        when = record["finished"].replace("T", " ").removesuffix("Z") + " UTC"
        duration = w["seconds"].format(s=record["duration"])
        env = short_environment(record["environment"], record.get("engines"))
        kind, title = "success", w["verified"]
        body = w["verified_body"].format(when=when, duration=duration, env=env)
    else:
        unknown: Failure = {"cell": None, "first_line": "", "error": "unknown", "kind": "executor"}
        failure = record["failure"] or unknown
        error = failure["error"]
        if failure["first_line"]:
            error = f"<code>{html.escape(failure['first_line'])}</code> → {html.escape(error)}"
        else:
            error = html.escape(error)
        kind, title = "failure", w["failed"]
        template = w["failed_body"] if failure["cell"] is not None else w["failed_nocell"]
        body = template.format(cell=failure["cell"], error=error)
        return _admonition(kind, title, body, record, escaped=True)
    return _admonition(kind, title, body, record, escaped=False)


def _admonition(kind: str, title: str, body: str, record: Record | None, *, escaped: bool) -> str:
    status = "missing" if record is None else record["status"]
    text = body if escaped else html.escape(body)
    return (
        f'<div class="admonition {kind} runbook-badge" data-runbook-status="{status}">\n'
        f'<p class="admonition-title">{html.escape(title)}</p>\n'
        f"<p>{text}</p>\n"
        "</div>"
    )


def download_html(href: str, name: str, lang: str, howto: str | None = None) -> str:
    """The download link; with ``howto`` (a relative ``.md`` link MkDocs resolves) a
    Markdown line pointing at the instructions for running it on your own machine."""
    w = words(lang)
    link = (
        f'<p class="runbook-download"><a href="{html.escape(href)}" '
        f'download="{html.escape(name)}.ipynb">{html.escape(w["download"])} '
        f"({html.escape(name)}.ipynb)</a></p>"
    )
    return link if howto is None else f"{link}\n\n[{w['howto']}]({howto})"


def engines_table(records: dict[str, Record], lang: str) -> str:
    """Every engine the ledger's runbooks ran: provenance and who used it (a Markdown table)."""
    used: dict[str, dict[str, Any]] = {}
    users: dict[str, list[str]] = {}
    for name, record in sorted(records.items()):
        for engine, entry in (record.get("engines") or {}).items():
            used[engine] = dict(entry)
            users.setdefault(engine, []).append(name)
    w = words(lang)
    if not used:
        return w["engines_none"]
    lines = [w["engines_head"], "|---|---|---|---|---|"]
    for engine in sorted(used):
        entry = used[engine]
        raw = entry.get("binaries")
        bins = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        digests = "<br>".join(f"`{b}` `{d}`" for b, d in sorted(bins.items()))
        lines.append(f"| `{engine}` | `{entry.get('module', '')}` | {entry.get('go', '')} | "
                     f"{digests} | {', '.join(f'`{u}`' for u in users[engine])} |")
    return "\n".join(lines)


def _all_engines(records: dict[str, Record]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for record in records.values():
        found.update(record.get("engines") or {})
    return found


def site_footer(records: dict[str, Record], lang: str, link: str | None = None) -> str:
    """One line for every page: how many runbooks this build verified, when, against what."""
    w = words(lang)
    if not records:
        text = w["footer_none"]
    else:
        latest = max(records.values(), key=lambda r: r["finished"])
        text = w["footer"].format(
            passed=sum(r["status"] == "passed" for r in records.values()),
            total=len(records),
            when=latest["finished"].replace("T", " ").removesuffix("Z") + " UTC",
            env=w["engines_count"].format(n=len(_all_engines(records)))
            + " · " + short_environment(latest["environment"]),
        )
    more = f" [{w['footer_link']}]({link})" if link else ""
    # data-search-exclude: the same line on every page must not drown real search hits
    return (
        f'<small class="site-verification" data-search-exclude>{html.escape(text, quote=False)}'
        f"{more}</small>"
    )
