"""``runbook-exec notebooks``: one clean notebook per runbook in one language, for a reader.

A runbook source carries its prose twice (``lang="zh"`` and ``lang="en"`` markdown cells),
so opened as it is every heading shows up twice. This writes ``<dir>/<name>.ipynb`` with the
code cells, the markdown cells of one language (and those without a language), no outputs,
and a first cell saying where it comes from. The notebooks are regenerated, not paired: a
notebook with one language cannot be saved back into a source that holds two, so edits
belong in ``runbooks/<name>.py``; the command refuses to overwrite a notebook it did not
write. A ``.ipynb`` opens as a notebook on a double-click in JupyterLab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import files
from ..errors import ExecutorError
from .notebooks import Runbook, read_notebook

LANGS = ("zh", "en")
DEFAULT_DIR = Path("notebooks")
MARK = "runbook_exec"  # notebook metadata key naming the source and the language

_NOTE = {
    "zh": "> 本笔记本由 `{source}` 生成（`runbook-exec notebooks --lang zh`），只含中文说明。"
    "在这里的修改不会写回源文件：要修改运行手册，请编辑 `{source}`。",
    "en": "> Generated from `{source}` (`runbook-exec notebooks --lang en`), English prose "
    "only. Edits here are not saved back: to change the runbook, edit `{source}`.",
}


def language_notebook(runbook: Runbook, lang: str, source: str) -> Any:
    """The notebook of ``runbook`` for readers of ``lang`` (an nbformat v4 node, no outputs)."""
    import nbformat

    nb = read_notebook(runbook)
    if not any(_lang(c) == lang for c in nb.cells if c.cell_type == "markdown"):
        raise ExecutorError(
            f"{runbook.path}: no markdown cells with lang=\"{lang}\"; add the {lang} text "
            f"(`# %% [markdown] lang=\"{lang}\"`) before writing its {lang} notebook"
        )
    cells = [c for c in nb.cells if c.cell_type != "markdown" or _lang(c) in ("", lang)]
    note = nbformat.v4.new_markdown_cell(_NOTE[lang].format(source=source))
    note.metadata["lang"] = lang
    out = nbformat.v4.new_notebook(cells=[note, *cells])
    for n, cell in enumerate(out.cells):
        cell.id = f"{lang}-{n:03d}"  # the same bytes every time (nbformat's ids are random)
    out.metadata["kernelspec"] = dict(nb.metadata.get("kernelspec") or {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3",
    })
    out.metadata["language_info"] = {"name": "python"}
    out.metadata[MARK] = {"source": source, "lang": lang}
    return out


def _lang(cell: Any) -> str:
    return str(cell.get("metadata", {}).get("lang") or "")


def write_notebooks(runbooks: list[Runbook], lang: str, out_dir: Path) -> list[Path]:
    """Write each runbook's ``lang`` notebook into ``out_dir``; return the paths written.

    Every notebook is checked before any is written, and each is written through a temp
    file renamed into place, so an interrupted or refused run leaves no partial file.
    """
    import nbformat

    if lang not in LANGS:
        raise ExecutorError(f"--lang {lang!r}: the runbooks are written in {' and '.join(LANGS)}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ExecutorError(f"{out_dir} is a file, not a directory; pass another -o DIR")
    planned = []
    for runbook in runbooks:
        source = _display(runbook.path)
        nb = language_notebook(runbook, lang, source)
        dest = out_dir / f"{runbook.name}.ipynb"
        _check_ours(dest)
        planned.append((dest, nbformat.writes(nb) + "\n"))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for dest, text in planned:
        files.write_text(dest, text, mode=files.KEEP)
        written.append(dest)
    return written


def _check_ours(dest: Path) -> None:
    if not dest.exists():
        return
    import json

    try:
        meta = json.loads(dest.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        meta = {}
    if not isinstance(meta, dict) or MARK not in meta:
        raise ExecutorError(
            f"{dest} exists and was not written by `runbook-exec notebooks`; move it away "
            "or pass another -o DIR"
        )


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
