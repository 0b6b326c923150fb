"""Search that finds every word: one fix to the lunr inside Material's search worker.

lunr 2.3.9, which Material bundles into ``assets/javascripts/workers/search.*.min.js``,
shrinks its trie of index words by merging nodes with the same key, and a node's key joins
each edge's character and child id with nothing between them (``key + char + child.id``).
Node ``{a→1, 2→3}`` and node ``{a→123}`` both get ``0a123`` and are merged; the trie then
holds words the index does not, and a query whose wildcard expands into one of them throws
in the worker (``Cannot read properties of undefined (reading '_index')``), which Material
shows as "No matching documents" (olivernn/lunr.js#503, open). Words with digits make such
pairs likely: this site's pages are full of digests and versions, and which query broke
changed with every build's digests (``GitHub Actions`` and ``image might be filtered out``
on /en/ in one build). The fix ends each edge's part of the key with U+0001, which no id
holds, so two keys are equal only for nodes with the same edges.
"""

from __future__ import annotations

import re

from ..errors import IndexFormatError

__all__ = ["WORKER_GLOB", "fix_token_set_key"]

WORKER_GLOB = "assets/javascripts/workers/search.*.min.js"

# lunr.TokenSet.prototype.toString in Material 9's minified worker:
#   for(...){var s=r[i],o=this.edges[s];e=e+s+o.id}return e}
_KEY = re.compile(r"TokenSet\.prototype\.toString=function\(\)\{.{0,400}?"
                  r"(?P<key>\w+)=(?P=key)\+(?P<char>\w+)\+(?P<child>\w+)\.id(?=\})", re.S)
_FIXED = '+"\\u0001"'


def fix_token_set_key(js: str, where: str = "the search worker") -> str:
    """``js`` (Material's search worker) with lunr's trie key made unambiguous; an already
    fixed worker is returned unchanged. Raises :class:`IndexFormatError` when the key
    expression is not there exactly once (a Material release with another lunr)."""
    if js.count(f".id{_FIXED}}}") == 1 and _KEY.search(js) is None:
        return js
    found = list(_KEY.finditer(js))
    if len(found) != 1:
        raise IndexFormatError(
            f"{where}: lunr's TokenSet key expression found {len(found)} times, expected once; "
            "check whether this Material release still bundles lunr 2.3.9 "
            "(runbook_exec/site/searchworker.py)")
    end = found[0].end()
    return js[:end] + _FIXED + js[end:]
