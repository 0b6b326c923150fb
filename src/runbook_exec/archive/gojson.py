r"""JSON bytes as Go's ``encoding/json`` writes them: the one encoder of the writers (the
structs ``docker save`` emits) and of the doctor's repair (the manifests it rebuilds).

Why byte-exact: the manifest blob's digest and the legacy v1 layer IDs are hashes of these
bytes, so a field out of order or an unescaped ``<`` changes member names in the archive.

Go's encoder is compact, writes struct fields in declaration order, map keys sorted, and
escapes ``<``, ``>``, ``&``, U+2028 and U+2029 (HTML-safe); other control characters as
``\u00XX`` except ``\b \f \n \r \t`` (the short forms of ``\b`` and ``\f`` since Go 1.22;
no string ``docker save`` writes can hold them: names follow the reference grammar). Structs
are given here as lists of (key, value, omitempty) in Go's field order, or as dicts with
``encode(..., sort_keys=False)`` (insertion order is the struct's). ``tests/archive/
test_gojson.py`` compares it with the real Go on a set of tricky strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["Field", "OMIT", "dumps", "encode", "encoded_fields", "go_string", "go_time",
           "struct"]

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"  # a lone surrogate: what Go decodes "\\ud800" to, written as UTF-8
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
        or (isinstance(v, (str, list, tuple, dict)) and len(v) == 0)
    )


def encoded_fields(s: Any, *, sort_keys: bool = True) -> list[tuple[str, str]]:
    """The (key, JSON text) pairs Go writes for a struct, omitted fields left out."""
    assert isinstance(s, _Struct)
    return [
        (key, encode(value, sort_keys=sort_keys))
        for key, value, omitempty in s.fields
        if not (value is OMIT or omitempty and not isinstance(value, _Struct) and _empty(value))
    ]


def _float(f: float) -> str:
    """strconv.FormatFloat as encoding/json uses it: the shortest digits, fixed notation in
    [1e-6, 1e21), else exponent notation (``1e-7``, ``1e+21``)."""
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {f!r}")
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    text = repr(f)  # shortest round-trip digits, like Go's precision -1
    if 1e-6 <= abs(f) < 1e21:
        if "e" in text or text.endswith(".0"):
            text = format(Decimal(text), "f")
            text = text.rstrip("0").rstrip(".") if "." in text else text
        return text
    mant, _, exp = text.partition("e")
    mant = mant[:-2] if mant.endswith(".0") else mant
    e = int(exp)
    return f"{mant}e-{-e}" if e < 0 else f"{mant}e+{e:02d}"


def encode(v: Any, *, sort_keys: bool = True) -> str:
    """Encode ``v`` compactly as Go would. ``None`` is ``null``; dicts are Go maps (keys
    sorted), or with ``sort_keys=False`` structs whose field order is the dict's."""
    if isinstance(v, _Struct):
        return "{" + ",".join(go_string(k) + ":" + t
                              for k, t in encoded_fields(v, sort_keys=sort_keys)) + "}"
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
        keys = sorted(v) if sort_keys else list(v)
        return "{" + ",".join(go_string(k) + ":" + encode(v[k], sort_keys=sort_keys)
                              for k in keys) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(encode(x, sort_keys=sort_keys) for x in v) + "]"
    if isinstance(v, float):
        return _float(v)
    raise TypeError(f"cannot encode {type(v).__name__} as Go JSON")


def dumps(v: Any, *, sort_keys: bool = True) -> bytes:
    """:func:`encode` as UTF-8 bytes (what ends up in the archive)."""
    return encode(v, sort_keys=sort_keys).encode("utf-8")


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
