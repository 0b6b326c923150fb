"""Opening a runbook in JupyterLab and saving it again changes no byte.

JupyterLab opens a ``.py`` runbook through Jupytext's contents manager, which reads
``runbooks/jupytext.toml``; on save the notebook comes back with what the session added: the
running kernel's spec (``display_name: Python 3 (ipykernel)``), ``language_info``, outputs,
execution counts and cell metadata (``execution`` timings, ``scrolled``, ``trusted``,
``tags``). Each runbook goes through that round trip here, in a copy of ``runbooks/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.py"))
CONFIG = ROOT / "runbooks" / "jupytext.toml"


def _what_a_jupyterlab_session_adds(nb: dict) -> None:  # type: ignore[type-arg]
    nb["metadata"]["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python",
    }
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.2"}
    for n, cell in enumerate(nb["cells"], 1):
        cell["metadata"]["trusted"] = True
        cell["metadata"]["tags"] = []
        if cell["cell_type"] == "code":
            cell["metadata"]["execution"] = {"iopub.status.busy": "2026-12-01T12:00:00.000Z"}
            cell["metadata"]["scrolled"] = True
            cell["execution_count"] = n
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "out\n"}]


def test_the_settings_are_the_ones_jupytext_finds() -> None:
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_config

    assert Path(find_jupytext_configuration_file(str(ROOT / "runbooks"))) == CONFIG
    config = load_jupytext_config(str(RUNBOOKS[0]))  # the config that applies to a runbook
    assert config is not None
    assert config.notebook_metadata_filter == "kernelspec,-all"
    assert config.cell_metadata_filter == "lang,-all"


HEADER = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %%"""


def test_runbooks_header_is_only_the_kernel_jupyterlab_writes_back() -> None:
    from jupyter_client.kernelspec import get_kernel_spec

    spec = get_kernel_spec("python3")  # ipykernel's, in the venv JupyterLab runs from
    assert (spec.display_name, spec.language) == ("Python 3 (ipykernel)", "python")
    assert RUNBOOKS
    for path in RUNBOOKS:
        assert path.read_text(encoding="utf-8").startswith(HEADER), path.name


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[p.stem for p in RUNBOOKS])
def test_open_and_save_in_jupyterlab_leaves_the_runbook_byte_identical(
    runbook: Path, tmp_path: Path
) -> None:
    from jupytext import TextFileContentsManager

    shutil.copy(CONFIG, tmp_path / CONFIG.name)
    shutil.copy(runbook, tmp_path / runbook.name)
    before = runbook.read_bytes()
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get(runbook.name, content=True, type="notebook")
    nb = model["content"]
    # the markdown cells keep their language: the per-language pages and notebooks need it
    langs = {c["metadata"].get("lang") for c in nb["cells"] if c["cell_type"] == "markdown"}
    assert langs == {"zh", "en"}
    # a kernel is named, so JupyterLab starts it without asking
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    _what_a_jupyterlab_session_adds(nb)
    manager.save({"type": "notebook", "content": nb}, runbook.name)
    assert (tmp_path / runbook.name).read_bytes() == before
    # and nothing else was written next to it (no paired .ipynb, no checkpoint in the tree)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(
        [CONFIG.name, runbook.name]
    )


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[p.stem for p in RUNBOOKS])
def test_jupytext_cli_round_trip_is_byte_identical(runbook: Path, tmp_path: Path) -> None:
    import jupytext
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(runbook))
    nb = jupytext.read(runbook)
    out = tmp_path / runbook.name
    jupytext.write(nb, out, fmt="py:percent", config=config)
    assert out.read_bytes() == runbook.read_bytes()
