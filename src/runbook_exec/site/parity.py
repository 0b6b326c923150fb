"""Translation parity: every page exists in both languages and keeps the same skeleton.

The Chinese page (``x.md``) and the English page (``x.en.md``) must have the same heading
anchors (fixed explicitly, ``## 加载镜像 { #load-image }``, so links from issue trackers
survive translation), the same fenced code blocks verbatim (commands, error strings, code)
and the same link targets. The MkDocs plugin :class:`ParityPlugin` turns any drift into a
build error; :func:`check_docs` is the same check as a function for tests and tools.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

SECOND_LANG_SUFFIX = ".en.md"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$", re.M)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(?P<text>.+?)[ \t]*$", re.M)
_ANCHOR = re.compile(r"\{[^}]*#(?P<id>[A-Za-z0-9_.:-]+)[^}]*\}\s*$")
_LINK = re.compile(r"\]\((?P<target><[^>]+>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(?P<target>https?://[^>\s]+)>")
_MARKER = re.compile(r"<!--\s*runbook:\s*(?P<name>[\w.-]+)\s*-->")


@dataclass(frozen=True)
class Skeleton:
    """What must be identical between the two languages of a page."""

    anchors: tuple[str, ...]
    unanchored: tuple[str, ...]
    code_blocks: tuple[str, ...]
    links: Counter[str]
    runbooks: tuple[str, ...]


def skeleton(markdown: str) -> Skeleton:
    """Extract headings' anchors, code blocks, links and runbook markers from a page."""
    code_blocks, prose = _split_code(markdown)
    anchors: list[str] = []
    unanchored: list[str] = []
    for match in _HEADING.finditer(prose):
        anchor = _ANCHOR.search(match["text"])
        if anchor:
            anchors.append(anchor["id"])
        else:
            unanchored.append(match["text"])
    links: Counter[str] = Counter()
    for pattern in (_LINK, _AUTOLINK):
        for m in pattern.finditer(prose):
            links[m["target"].strip("<>")] += 1
    return Skeleton(
        anchors=tuple(anchors),
        unanchored=tuple(unanchored),
        code_blocks=tuple(code_blocks),
        links=links,
        runbooks=tuple(m["name"] for m in _MARKER.finditer(prose)),
    )


def _split_code(markdown: str) -> tuple[list[str], str]:
    """Return (fenced code blocks, the prose with those blocks removed)."""
    blocks: list[str] = []
    prose_lines: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            prose_lines.append(lines[i])
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        body = [lines[i].strip()]
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i].lstrip())
            i += 1
        blocks.append("\n".join(body))
        i += 1
    return blocks, "\n".join(prose_lines)


def compare(primary: Skeleton, secondary: Skeleton) -> list[str]:
    """Describe every way ``secondary`` drifted from ``primary`` (empty: in parity)."""
    problems: list[str] = []
    for name, sk in (("zh", primary), ("en", secondary)):
        for text in sk.unanchored:
            problems.append(f"{name} heading without a fixed anchor: {text!r} (add {{ #id }})")
    if primary.anchors != secondary.anchors:
        problems.append(
            f"heading anchors differ: zh {list(primary.anchors)} en {list(secondary.anchors)}"
        )
    if primary.code_blocks != secondary.code_blocks:
        problems.append(_first_code_difference(primary.code_blocks, secondary.code_blocks))
    if primary.links != secondary.links:
        only_zh = sorted((primary.links - secondary.links).elements())
        only_en = sorted((secondary.links - primary.links).elements())
        problems.append(f"links differ: only in zh {only_zh}, only in en {only_en}")
    if primary.runbooks != secondary.runbooks:
        problems.append(
            f"runbooks differ: zh {list(primary.runbooks)} en {list(secondary.runbooks)}"
        )
    return problems


def _first_code_difference(zh: tuple[str, ...], en: tuple[str, ...]) -> str:
    if len(zh) != len(en):
        return f"code blocks differ: zh has {len(zh)}, en has {len(en)}"
    for n, (a, b) in enumerate(zip(zh, en, strict=True), start=1):
        if a != b:
            return f"code block {n} differs: zh {a.splitlines()[:2]} en {b.splitlines()[:2]}"
    return "code blocks differ"


def check_docs(docs_dir: Path) -> list[str]:
    """Check every page pair under ``docs_dir``; return problems as ``path: problem`` lines."""
    problems: list[str] = []
    pages = sorted(p.relative_to(docs_dir) for p in docs_dir.rglob("*.md"))
    names = {p.as_posix() for p in pages}
    for page in pages:
        rel = page.as_posix()
        if rel.endswith(SECOND_LANG_SUFFIX):
            if rel[: -len(SECOND_LANG_SUFFIX)] + ".md" not in names:
                problems.append(f"{rel}: no Chinese page {rel[:-len(SECOND_LANG_SUFFIX)]}.md")
            continue
        twin = rel[: -len(".md")] + SECOND_LANG_SUFFIX
        if twin not in names:
            problems.append(f"{rel}: no English translation {twin}")
            continue
        zh = skeleton((docs_dir / rel).read_text(encoding="utf-8"))
        en = skeleton((docs_dir / twin).read_text(encoding="utf-8"))
        problems.extend(f"{rel}: {p}" for p in compare(zh, en))
    return problems


class ParityPlugin(BasePlugin):  # type: ignore[type-arg,no-untyped-call]
    """Fails the build when a page lacks its translation or drifted from it."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        problems = check_docs(Path(config.docs_dir))
        if problems:
            raise PluginError(
                "translation parity failed (zh x.md vs en x.en.md):\n  " + "\n  ".join(problems)
            )
        return config
