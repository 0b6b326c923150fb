"""The "which Docker" page's table states what the executed runbook printed.

Every answer the page marks "measured here" (Chinese: 本站实测) must appear in the output of
``build/executed/which-docker.ipynb``, and the runbook's summary must carry the verdicts the
table draws: the containerd image store reports ``io.containerd.snapshotter.v1`` and the
``overlayfs`` driver, the graphdriver store (25.0.0, and 29.8.1 with the snapshotter off) the
``vfs`` driver and an empty DriverStatus, and the kind nodes their containerd releases.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_failure_outputs import notebook, text_of

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"en": ROOT / "docs" / "which-docker.en.md", "zh": ROOT / "docs" / "which-docker.md"}
MEASURED = {"en": "(measured here", "zh": "（本站实测"}
TOKEN = re.compile(r"`([^`]+)`|([^`]+)")


def measured_claims(page: str, marker: str) -> list[str]:
    """The code spans the table's rows mark as measured: each span standing before a
    ``marker`` in its cell, with no other parenthesis (another source) in between."""
    claims: list[str] = []
    for row in page.splitlines():
        if not row.startswith("| `"):
            continue
        for cell in row.split(" | "):
            pending: list[str] = []
            for code, text in TOKEN.findall(cell):
                if code:
                    pending.append(code)
                elif marker in text:
                    claims.extend(pending)
                    pending = []
                elif "(" in text or "（" in text:
                    pending = []  # a span attributed to some other source
    return claims


def test_measured_claims_are_parsed_from_a_table_row() -> None:
    row = ("| `cmd` | `a` (measured here), `b` (a source), `c` on this host (measured here) "
           "| `d` then `e` (not measured here) |")
    assert measured_claims(row, MEASURED["en"]) == ["a", "c"]
    assert measured_claims("| `x` | `y`（本站实测） | `z`（本站未实测） |", MEASURED["zh"]) == ["y"]


@pytest.fixture(scope="module")
def run() -> str:
    return text_of(notebook("which-docker"))


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_every_measured_answer_on_the_page_was_printed(lang: str, run: str) -> None:
    claims = measured_claims(PAGES[lang].read_text(encoding="utf-8"), MEASURED[lang])
    assert len(claims) >= 10, claims
    missing = [c for c in claims if c not in run]
    assert not missing, f"the {lang} page states outputs the runbook did not print: {missing}"


def test_both_languages_claim_the_same_measurements() -> None:
    en, zh = (measured_claims(PAGES[lang].read_text(encoding="utf-8"), MEASURED[lang])
              for lang in ("en", "zh"))
    assert sorted(en) == sorted(zh)


def test_the_summary_carries_the_tables_verdicts(run: str) -> None:
    summary = {line.split("  ")[0]: line for line in run.splitlines()
               if re.match(r"^(25\.0\.0|29\.8\.1)", line)}
    fresh, off, old = summary["29.8.1"], summary["29.8.1, snapshotter off"], summary["25.0.0"]
    assert '"overlayfs"' in fresh and "[[driver-type io.containerd.snapshotter.v1]]" in fresh
    assert fresh.rstrip().endswith("containerd image store")
    for line in (off, old):
        assert '"vfs"' in line and " [] " in line and "io.containerd.snapshotter.v1" not in line
        assert line.rstrip().endswith("graphdriver")
    assert "kind v0.20.0 node: containerd github.com/containerd/containerd v1.7.1" in run
    assert "kind v0.33.0 node: containerd github.com/containerd/containerd v2.3.4" in run


def test_the_full_docker_info_shows_the_store_in_its_storage_driver_lines(run: str) -> None:
    assert re.search(r"^ Storage Driver: overlayfs\n  driver-type: io\.containerd\.snapshotter\.v1$",
                     run, re.M)
    assert re.search(r"^ Storage Driver: vfs$", run, re.M)
