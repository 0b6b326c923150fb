"""mkdocs.yml as MkDocs itself reads it (its own YAML loader: ``!ENV``, ``!!python/name``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest import mock

from mkdocs.utils.yaml import yaml_load

ROOT = Path(__file__).resolve().parents[1]


def load(**environ: str) -> dict[str, Any]:
    """The settings a build of the repository's mkdocs.yml gets with ``environ`` set (and
    the variables the file reads from the environment otherwise unset)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HANDBOOK_")}
    with mock.patch.dict(os.environ, {**clean, **environ}, clear=True):
        return yaml_load(text)
