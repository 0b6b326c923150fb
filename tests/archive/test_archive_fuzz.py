"""Property-based fuzzing: whatever the bytes, the reader and diagnose raise ArchiveError
or succeed — never another exception. Derandomized so CI runs the same 5,000+ cases."""

from __future__ import annotations

import io

import dsave
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_exec.archive.reader import open_archive
from runbook_exec.doctor.diagnose import diagnose_reader
from runbook_exec.errors import ArchiveError

_IMG = dsave.make_image(2, tag="demo:v1")
_GOOD = dsave.tar_bytes(dsave.docker25(_IMG))
_LEGACY = dsave.tar_bytes(dsave.legacy24(dsave.make_image(2, repeat=(0, 1))))
_SETTINGS = settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _exercise(data: bytes) -> None:
    try:
        with open_archive(io.BytesIO(data)) as r:
            diagnose_reader(r, verify=True)
    except ArchiveError:
        pass


@_SETTINGS
@given(
    which=st.integers(0, 1),
    edits=st.lists(st.tuples(st.integers(0, len(_GOOD) - 1), st.integers(0, 255)), max_size=8),
)
def test_fuzz_reader_byte_flips(which: int, edits: list[tuple[int, int]]) -> None:
    data = bytearray((_GOOD, _LEGACY)[which])
    for pos, value in edits:
        data[pos % len(data)] = value
    _exercise(bytes(data))


@_SETTINGS
@given(which=st.integers(0, 1), cut=st.integers(0, len(_GOOD)))
def test_fuzz_reader_truncation(which: int, cut: int) -> None:
    base = (_GOOD, _LEGACY)[which]
    _exercise(base[: cut % (len(base) + 1)])


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5),
    payload=st.binary(max_size=200),
    json_like=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                    max_size=3),
        max_leaves=8,
    ),
)
def test_fuzz_reader_structures(names: list[str], payload: bytes, json_like: object) -> None:
    import json

    blob = json.dumps(json_like).encode()
    entries: list[dsave.Entry] = [(n, payload) for n in names]
    entries += [("index.json", blob), ("oci-layout", b"{}"), ("manifest.json", blob)]
    try:
        data = dsave.tar_bytes(entries)
    except (ValueError, UnicodeError):
        return  # tarfile itself refuses some names; nothing to feed the reader
    _exercise(data)
