"""A model of the iteration order of Go's classic hash map as Go 1.21.6 has it (the Go that
built Docker 25.0.0; Go 1.21 … 1.23 without swiss tables share this ``runtime/map.go``).

Go 1.21 lowered the growth threshold: ``loadFactorNum = (bucketCnt * 13 / 16) *
loadFactorDen`` is 12 in integer arithmetic (``runtime/map.go`` line 73 at go1.21.6), where
Go 1.19 and 1.20 had 13. A map of 13 or 25 keys therefore grows while it is filled under
Go 1.21 and not under Go 1.20; the cross-check against the real go1.21.6 shows it.

Why: Docker 25.0.0 built the OCI manifest's ``layers`` by ranging over a
``map[layer.DiffID]distribution.Descriptor`` (moby ``image/tarexport/save.go`` at v25.0.0,
``saveImage``: ``foreignSrcs``). The layer order in the archive is therefore the map's
iteration order, which this module reproduces for a map that was created empty
(``make(map[K]V)``, i.e. ``makemap_small``) and filled by assignments only.

What is modelled, following ``runtime/map.go`` and ``runtime/map_faststr.go``:

- the hash of each distinct key is an independent uniform 64-bit value (aeshash with the
  map's random seed ``hash0``); its top byte is the tophash;
- 8-slot buckets with overflow chains; an assignment takes the first empty slot of the
  bucket chain, an existing key keeps its slot;
- growth at load factor 6 (``overLoadFactor``) or too many overflow buckets
  (same-size growth), with incremental evacuation: every assignment while growing
  evacuates the old bucket it targets and then the one at ``nevacuate``
  (``growWork``), and ``advanceEvacuationMark`` ends the growth;
- iteration (``mapiterinit``/``mapiternext``): ``r = fastrand()``, start bucket
  ``r & (2^B-1)``, slot offset ``(r >> B) & 7``, buckets visited in order with wrap-around;
  a bucket whose old bucket is not yet evacuated is read from the old bucket, keeping only
  the keys that will land in the visited bucket (size-doubling growth) or all of them
  (same-size growth).

The only randomness is ``random.Random``: the key hashes, the iterator start and, for maps
of 2^16 buckets or more, ``incrnoverflow``'s sampling. So a seed fixes one Go run.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from pathlib import Path

__all__ = ["GO_CHECK", "GoMap", "iteration_order", "p_in_order"]

GO_CHECK = Path(__file__).with_name("gomapcheck") / "main.go"
"""The Go program that measures the same orders on a real Go (stdlib only; ``go run`` it
with the Go that built Docker 25.0.0): shipped with the model it checks."""

_BUCKET_CNT = 8
_LOAD_NUM = (_BUCKET_CNT * 13 // 16) * 2  # 12 in go1.21.6 (13 in Go <= 1.20)
_LOAD_DEN = 2
# tophash markers (runtime/map.go)
_EMPTY_REST = 0
_EMPTY_ONE = 1
_EVACUATED_X = 2
_EVACUATED_Y = 3
_EVACUATED_EMPTY = 4
_MIN_TOPHASH = 5
_MASK64 = (1 << 64) - 1


class _Bucket:
    __slots__ = ("top", "keys", "overflow")

    def __init__(self) -> None:
        self.top = [_EMPTY_REST] * _BUCKET_CNT
        self.keys: list[int] = [-1] * _BUCKET_CNT
        self.overflow: _Bucket | None = None


def _tophash(h: int) -> int:
    top = h >> 56
    return top + _MIN_TOPHASH if top < _MIN_TOPHASH else top


def _over_load_factor(count: int, b: int) -> bool:
    return count > _BUCKET_CNT and count > _LOAD_NUM * ((1 << b) // _LOAD_DEN)


def _too_many_overflow(noverflow: int, b: int) -> bool:
    return noverflow >= 1 << min(b, 15)


def _evacuated(b: _Bucket) -> bool:
    return _EMPTY_ONE < b.top[0] < _MIN_TOPHASH


def _find_slot(b: _Bucket, key: int, top: int) -> tuple[bool, _Bucket | None, int, _Bucket]:
    """Walk a bucket chain as mapassign does: is ``key`` there, else the first empty slot
    (or None) and the last bucket of the chain (to hang an overflow bucket on)."""
    insert_b: _Bucket | None = None
    insert_i = 0
    while True:
        for i in range(_BUCKET_CNT):
            t = b.top[i]
            if t != top:
                if t <= _EMPTY_ONE and insert_b is None:
                    insert_b, insert_i = b, i
                if t == _EMPTY_REST:
                    return False, insert_b, insert_i, b
                continue
            if b.keys[i] == key:
                return True, b, i, b
        if b.overflow is None:
            return False, insert_b, insert_i, b
        b = b.overflow


class GoMap:
    """One Go map: keys are small ints (the caller's key indices) with hashes drawn from
    ``rng`` on first assignment. Values are not modelled: they never move a key.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._hash: dict[int, int] = {}
        self.count = 0
        self.B = 0
        self.noverflow = 0
        self.same_size = False
        self.buckets: list[_Bucket] | None = None  # allocated lazily, as makemap_small does
        self.oldbuckets: list[_Bucket] | None = None
        self.nevacuate = 0

    # -- assignment -------------------------------------------------------------------
    def assign(self, key: int) -> None:
        h = self._hash.get(key)
        if h is None:
            h = self._hash[key] = self._rng.getrandbits(64)
        if self.buckets is None:
            self.buckets = [_Bucket()]
        top = _tophash(h)
        while True:
            bucket = h & ((1 << self.B) - 1)
            if self.oldbuckets is not None:
                self._grow_work(bucket)
            assert self.buckets is not None
            found, insert_b, insert_i, last = _find_slot(self.buckets[bucket], key, top)
            if found:
                return  # existing key: value updated in place, slot kept
            if self.oldbuckets is None and (
                _over_load_factor(self.count + 1, self.B)
                or _too_many_overflow(self.noverflow, self.B)
            ):
                self._hash_grow()
                continue  # growing invalidates everything: try again
            if insert_b is None:
                insert_b, insert_i = self._new_overflow(last), 0
            insert_b.top[insert_i] = top
            insert_b.keys[insert_i] = key
            self.count += 1
            return

    def _new_overflow(self, b: _Bucket) -> _Bucket:
        ovf = _Bucket()
        if self.B < 16 or self._rng.getrandbits(32) & ((1 << (self.B - 15)) - 1) == 0:
            self.noverflow += 1
        b.overflow = ovf
        return ovf

    def _hash_grow(self) -> None:
        bigger = 1
        if not _over_load_factor(self.count + 1, self.B):
            bigger = 0
            self.same_size = True
        self.oldbuckets = self.buckets
        self.B += bigger
        self.buckets = [_Bucket() for _ in range(1 << self.B)]
        self.nevacuate = 0
        self.noverflow = 0

    def _noldbuckets(self) -> int:
        return 1 << self.B if self.same_size else 1 << (self.B - 1)

    def _grow_work(self, bucket: int) -> None:
        self._evacuate(bucket & (self._noldbuckets() - 1))
        if self.oldbuckets is not None:
            self._evacuate(self.nevacuate)

    def _evacuate(self, oldbucket: int) -> None:
        assert self.oldbuckets is not None and self.buckets is not None
        b: _Bucket | None = self.oldbuckets[oldbucket]
        newbit = self._noldbuckets()
        assert b is not None
        if not _evacuated(b):
            dst = [
                self.buckets[oldbucket],
                None if self.same_size else self.buckets[oldbucket + newbit],
            ]
            dst_i = [0, 0]
            while b is not None:
                for i in range(_BUCKET_CNT):
                    top = b.top[i]
                    if top <= _EMPTY_ONE:
                        b.top[i] = _EVACUATED_EMPTY
                        continue
                    use_y = 0
                    if not self.same_size and self._hash[b.keys[i]] & newbit:
                        use_y = 1
                    b.top[i] = _EVACUATED_X + use_y
                    d = dst[use_y]
                    assert d is not None
                    if dst_i[use_y] == _BUCKET_CNT:
                        d = dst[use_y] = self._new_overflow(d)
                        dst_i[use_y] = 0
                    d.top[dst_i[use_y]] = top
                    d.keys[dst_i[use_y]] = b.keys[i]
                    dst_i[use_y] += 1
                b = b.overflow
        if oldbucket == self.nevacuate:
            self._advance_evacuation_mark(newbit)

    def _advance_evacuation_mark(self, newbit: int) -> None:
        assert self.oldbuckets is not None
        self.nevacuate += 1
        stop = min(self.nevacuate + 1024, newbit)
        while self.nevacuate != stop and _evacuated(self.oldbuckets[self.nevacuate]):
            self.nevacuate += 1
        if self.nevacuate == newbit:
            self.oldbuckets = None
            self.same_size = False

    # -- iteration --------------------------------------------------------------------
    def iterate(self) -> list[int]:
        """One ``for k := range m`` over the map, as keys in visiting order."""
        if self.count == 0 or self.buckets is None:
            return []
        it_b = self.B
        buckets = self.buckets
        r = self._rng.getrandbits(64 if it_b > 31 - 3 else 32)
        mask = (1 << it_b) - 1
        start = r & mask
        offset = (r >> it_b) & (_BUCKET_CNT - 1)
        out: list[int] = []
        bucket = start
        wrapped = False
        growing_doubling = self.oldbuckets is not None and not self.same_size
        while not (bucket == start and wrapped):
            check = -1
            b: _Bucket | None
            if self.oldbuckets is not None:
                old = self.oldbuckets[bucket & (self._noldbuckets() - 1)]
                if not _evacuated(old):
                    b, check = old, bucket
                else:
                    b = buckets[bucket]
            else:
                b = buckets[bucket]
            bucket += 1
            if bucket == 1 << it_b:
                bucket = 0
                wrapped = True
            while b is not None:
                for i in range(_BUCKET_CNT):
                    offi = (i + offset) & (_BUCKET_CNT - 1)
                    t = b.top[offi]
                    if t <= _EMPTY_ONE or t == _EVACUATED_EMPTY:
                        continue
                    k = b.keys[offi]
                    if check != -1 and growing_doubling and self._hash[k] & mask != check:
                        continue  # this old-bucket key belongs to the other half
                    out.append(k)
                b = b.overflow
        return out


def iteration_order(keys: Sequence[Hashable], rng: random.Random) -> list[int]:
    """Insert ``keys`` in order into a fresh map and range over it once.

    Repeated keys collapse to their first position (a later assignment overwrites the
    value and keeps the slot). Returns indices into the distinct keys in first-occurrence
    order, in the order Go's ``range`` visits them.
    """
    index: dict[Hashable, int] = {}
    m = GoMap(rng)
    for key in keys:
        m.assign(index.setdefault(key, len(index)))
    return m.iterate()


def p_in_order(n: int, trials: int, rng: random.Random) -> float:
    """Fraction of ``trials`` fresh maps of ``n`` distinct keys that iterate in insertion order."""
    keys = list(range(n))
    hits = sum(1 for _ in range(trials) if iteration_order(keys, rng) == keys)
    return hits / trials
