"""The site's search worker answers every word of each language's index without throwing.

Material's worker bundles lunr 2.3.9, whose word trie merges unlike nodes
(olivernn/lunr.js#503): queries then find nothing, and which ones depends on the build's
digests. ``site-tidy`` writes the worker with a fix (``runbook_exec.site.searchworker``).
Here the site's own worker, in Chromium, gets the site's own index and one query per first
character of the index's words; each such wildcard query expands every word under that
character, so together they walk the whole trie. A merged node shows up as the worker's
``Invalid query`` warning with a TypeError. Against an unfixed worker this failed on /en/ for
``g`` (``GitHub Actions``) and ``i`` (``image might be filtered out``) in a CI build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runbook_exec.site.searchworker import WORKER_GLOB

pytestmark = pytest.mark.browser

INDEXES = {"zh": "search/search_index.json", "en": "en/search/search_index.json"}

_ASK_ALL = """
async ({worker, index, queries}) => {
  const w = new Worker(worker);
  const ask = (msg) => new Promise(done => { w.onmessage = ev => done(ev.data); w.postMessage(msg); });
  const data = await (await fetch(index)).json();
  await ask({type: 0, data: {config: data.config, docs: data.docs, options: {suggest: false}}});
  const found = {};
  for (const q of queries) found[q] = (await ask({type: 2, data: q})).data.items.length;
  w.terminate();
  return found;
}
"""


def _first_characters(index: dict[str, Any]) -> list[str]:
    """The first word character of every word the index holds (a superset is harmless)."""
    separator = re.compile(index["config"]["separator"])
    text = " ".join(f"{doc['title']} {doc['text']}" for doc in index["docs"])
    words = separator.split(re.sub(r"<[^>]+>", " ", text).lower())
    return sorted({m[0] for w in words if (m := re.search(r"\w", w))})


def _worker(site_dir: Path) -> str:
    workers = sorted(site_dir.glob(WORKER_GLOB))
    assert len(workers) == 1, workers
    return workers[0].relative_to(site_dir).as_posix()


def test_the_site_ships_the_fixed_worker(site_dir: Path) -> None:
    assert '.id+"\\u0001"}' in (site_dir / _worker(site_dir)).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", sorted(INDEXES))
def test_every_word_searches_without_the_worker_throwing(tab: Any, site_dir: Path,
                                                         worker_warnings: Any, lang: str) -> None:
    index = json.loads((site_dir / INDEXES[lang]).read_text(encoding="utf-8"))
    queries = _first_characters(index)
    assert len(queries) >= 26, queries
    with worker_warnings(tab.page) as warnings:
        tab.visit("en/" if lang == "en" else "", settle=False)
        found = tab.page.evaluate(_ASK_ALL, {"worker": tab.url(_worker(site_dir)),
                                             "index": tab.url(INDEXES[lang]), "queries": queries})
    assert not [w for w in warnings if "Invalid query" in w or "TypeError" in w], warnings[:6]
    # and every letter and digit a word starts with finds it (lunr's trimmer drops the Han
    # characters of the other language from an index it does not segment)
    assert not [q for q, n in found.items() if q.isascii() and not n], found
