"""JSON bytes as Go's ``encoding/json`` writes them, for the structs ``docker save`` emits.

Why byte-exact: the manifest blob's digest and the legacy v1 layer IDs are hashes of these
bytes, so a field out of order or an unescaped ``<`` changes member names in the archive.

Go's encoder is compact, writes struct fields in declaration order, map keys sorted, and
escapes ``<``, ``>``, ``&``, U+2028 and U+2029 (HTML-safe). Structs are given here as
lists of (key, value, omitempty) in Go's field order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Field", "OMIT", "encode", "encoded_fields", "go_string", "go_time", "struct"]

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029]')


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    return _SHORT_ESCAPES.get(c) or f"\\u{ord(c):04x}"


def go_string(s: str) -> str:
    """A Go JSON string literal (HTML-safe escaping, non-ASCII kept as UTF-8)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, s) + '"'


class _Omit:
    """Marker: leave this field out (Go's omitempty on an empty value)."""


OMIT = _Omit()
Field = tuple[str, Any, bool]


class _Struct:
    __slots__ = ("fields",)

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = fields


def struct(fields: Sequence[Field]) -> _Struct:
    """A Go struct value: ``(json key, value, omitempty)`` in declaration order."""
    return _Struct(fields)


def _empty(v: Any) -> bool:
    # Go's isEmptyValue: false, 0, "", nil pointer/slice/map, and zero-length slice/map.
    return (
        v is None
        or v is False
        or v == 0
        and not isinstance(v, bool)
        or (isinstance(v, str | list | tuple | dict) and len(v) == 0)
    )


def encoded_fields(s: Any) -> list[tuple[str, str]]:
    """The (key, JSON text) pairs Go writes for a struct, omitted fields left out."""
    assert isinstance(s, _Struct)
    return [
        (key, encode(value))
        for key, value, omitempty in s.fields
        if not (value is OMIT or omitempty and not isinstance(value, _Struct) and _empty(value))
    ]


def encode(v: Any) -> str:
    """Encode ``v`` compactly as Go would. ``None`` is ``null``; dicts are Go maps."""
    if isinstance(v, _Struct):
        return "{" + ",".join(go_string(k) + ":" + t for k, t in encoded_fields(v)) + "}"
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return go_string(v)
    if isinstance(v, Mapping):
        return "{" + ",".join(go_string(k) + ":" + encode(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list | tuple):
        return "[" + ",".join(encode(x) for x in v) + "]"
    if isinstance(v, float):
        raise TypeError("floats are not used by docker save's structs")
    raise TypeError(f"cannot encode {type(v).__name__} as Go JSON")


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.I)


def go_time(s: str) -> str:
    """Re-format an RFC 3339 time as Go's ``time.Time.MarshalJSON`` does after parsing it:
    fraction without trailing zeros, ``Z`` for a zero offset."""
    m = _TIME.match(s)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    base, frac, zone = m.groups()
    frac = (frac or "")[:9].rstrip("0")
    zone = "Z" if zone.upper() in ("Z", "+00:00", "-00:00") else zone
    return base + ("." + frac if frac else "") + zone
