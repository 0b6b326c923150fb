"""Each room's ``__all__`` names exactly what it exports, and each name exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["lab", "archive", "writers", "doctor", "engines"])
def test_public_api_all_names_exist(module: str) -> None:
    mod = importlib.import_module(f"runbook_exec.{module}")
    assert mod.__all__, f"runbook_exec.{module} has an empty __all__"
    assert sorted(mod.__all__) == sorted(set(mod.__all__))
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert missing == []


def test_version_is_known() -> None:
    import runbook_exec

    assert re.fullmatch(r"\d+\.\d+\.\d+.*", runbook_exec.__version__)


def test_doctor_links_point_at_the_published_site() -> None:
    from runbook_exec.doctor import findings

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506
    site_url = config["site_url"]
    assert site_url == findings.HANDBOOK_URL
    assert f"{site_url}en/errors/wrong-diff-id/" == findings.page_url("errors/wrong-diff-id")
