"""One pass over tar headers, seeking over data where the input allows it.

The parser is ours rather than :mod:`tarfile` because an archive doctor must say *why* a
file is unreadable: ``tarfile`` quietly ends the member list at a bad or truncated header,
which would make a truncated archive look like a shorter valid one. Supported: ustar,
PAX extended headers (``path``, ``linkpath``, ``size``) and GNU long names, which is
everything Go's ``archive/tar`` (Docker) and GNU tar write for these archives.

Sources:

* :class:`SeekSource` — a seekable uncompressed tar: headers are read, data is seeked over.
* :class:`StreamSource` — anything read once (a pipe, or gzip via :class:`GzipStream`):
  data is read and handed to a callback (cache small members, hash blobs) or discarded.
"""

from __future__ import annotations

import os
import posixpath
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ..errors import ArchiveError, UnsafeArchiveError

BLOCK = 512
CHUNK = 4 << 20
STREAM_CHUNK = 1 << 20
_ZERO_BLOCK = bytes(BLOCK)

# Member kinds (Member.kind).
FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"

_TYPES = {b"0": FILE, b"\0": FILE, b"7": FILE, b"5": DIR, b"2": SYMLINK, b"1": HARDLINK}
_SPECIAL = {b"3": "a character device", b"4": "a block device", b"6": "a fifo"}


@dataclass(frozen=True)
class Member:
    """One archive member: normalised name, kind, data size and data offset in the tar.

    ``link`` is the link target as an archive path (normalised), or ``""``.
    """

    name: str
    kind: str
    size: int
    offset: int
    link: str = ""


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile archive from exhausting memory or time."""

    max_members: int = 100_000
    max_header_data: int = 1 << 20  # PAX header / GNU long name payload
    max_json: int = 16 << 20  # read_json default
    max_cached: int = 32 << 20  # streamed input: total bytes of small members kept
    max_cached_member: int = 4 << 20


class Positioned(Protocol):
    def seek(self, pos: int, /) -> int: ...
    def read(self, n: int, /) -> bytes: ...


class Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


class SeekSource:
    """A seekable, uncompressed tar. Does not own ``f``."""

    seekable = True

    def __init__(self, f: Positioned, size: int) -> None:
        self.f = f
        self.pos = 0
        self.size = size

    def read(self, n: int) -> bytes:
        self.f.seek(self.pos)
        data = self.f.read(n)
        self.pos += len(data)
        return data

    def skip(self, n: int, member: Member | None = None) -> None:
        if self.pos + n > self.size:
            what = f"member {member.name!r}" if member else "a tar header"
            raise ArchiveError(f"truncated archive: it ends inside {what}")
        self.pos += n


DataSink = Callable[[Member, bytes], None]


class StreamSource:
    """A tar read once from ``f`` (which has ``read``). Data is given to ``sink`` or dropped."""

    seekable = False

    def __init__(self, f: Readable, sink: DataSink | None = None) -> None:
        self.f = f
        self.pos = 0
        self.sink = sink

    def read(self, n: int) -> bytes:
        parts = []
        want = n
        while want:
            data = self.f.read(want)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        out = b"".join(parts)
        self.pos += len(out)
        return out

    def skip(self, n: int, member: Member | None = None) -> None:
        data_left = min(n, member.size) if member is not None and member.kind == FILE else 0
        pad = n - data_left
        while data_left:
            # 1 MiB pieces: a streamed (gzip) input holds a few of them at once, no more
            chunk = self.read(min(STREAM_CHUNK, data_left))
            if not chunk:
                what = f"member {member.name!r}" if member else "a tar header"
                raise ArchiveError(f"truncated archive: it ends inside {what}")
            if self.sink is not None and member is not None:
                self.sink(member, chunk)
            data_left -= len(chunk)
        if pad and len(self.read(pad)) != pad:
            raise ArchiveError("truncated archive: it ends inside a member's padding")


class GzipStream:
    """Decompress a gzip stream with bounded memory (at most one 1 MiB output chunk held).

    No expansion ratio is refused: deflate cannot exceed about 1032:1, which a legitimate
    zero-filled layer reaches; as every reader streams, a large expansion costs time, not
    memory, like any large archive."""

    def __init__(self, f: Readable, limits: Limits) -> None:
        self.f = f
        self.limits = limits
        self.d = zlib.decompressobj(wbits=31)
        self.buf = b""
        self.total_in = 0
        self.total_out = 0
        self.eof = False

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and not self.eof:
            self._fill(n - len(self.buf))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _fill(self, want: int) -> None:
        if self.d.unconsumed_tail:
            src = self.d.unconsumed_tail
        else:
            src = self.f.read(1 << 20)
            self.total_in += len(src)
            if not src:
                if not self.d.eof:
                    raise ArchiveError(
                        "truncated gzip stream: the file ends before gzip's end marker"
                    )
                self.eof = True
                return
        try:
            out = self.d.decompress(src, max(want, 1 << 20))
        except zlib.error as exc:
            raise ArchiveError(f"corrupt gzip data ({exc})") from None
        if self.d.eof and self.d.unused_data:
            # concatenated gzip members are valid gzip; continue with the next one
            rest = self.d.unused_data
            self.d = zlib.decompressobj(wbits=31)
            self.buf += out
            self.total_out += len(out)
            try:
                out = self.d.decompress(rest, max(want, 1 << 20))
            except zlib.error as exc:
                raise ArchiveError(f"corrupt gzip data after a gzip member ({exc})") from None
        self.buf += out
        self.total_out += len(out)


def _num(field: bytes, what: str, offset: int) -> int:
    if field[:1] and field[0] & 0x80:
        if field[0] == 0xFF:
            raise ArchiveError(f"invalid tar header at byte {offset}: negative {what}")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise ArchiveError(f"invalid tar header at byte {offset}: bad {what} field") from None


def _str(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = int(_str(block[148:156]).strip(b" ") or b"-1", 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 256 + sum(block[156:])
    signed = unsigned - sum(b for b in block[:148] + block[156:] if b > 127) * 2
    return stored in (unsigned, signed)


def _parse_pax(data: bytes, offset: int) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else -1
        except ValueError:
            length = -1
        end = pos + length
        if length <= 0 or end > len(data) or data[end - 1 : end] != b"\n":
            if not data[pos:].strip(b"\0"):
                break
            raise ArchiveError(f"invalid PAX extended header at byte {offset}")
        record = data[space + 1 : pos + length - 1]
        key, eq, value = record.partition(b"=")
        if not eq:
            raise ArchiveError(f"invalid PAX extended header at byte {offset}")
        out[key.decode("utf-8", "replace")] = _decode_name(value, offset)
        pos += length
    return out


def _decode_name(raw: bytes, offset: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveError(f"member name at byte {offset} is not UTF-8") from None


def normalize_name(raw: str, offset: int) -> str:
    """Return the archive path for a member name, refusing names that escape the archive."""
    if "\0" in raw:
        raise UnsafeArchiveError(f"member name at byte {offset} contains a NUL byte")
    if raw.startswith("/"):
        raise UnsafeArchiveError(f"member {raw!r} has an absolute path")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"member {raw!r} has a '..' path component")
    return "/".join(parts)


def link_target(member_name: str, kind: str, raw: str, offset: int) -> str:
    """Where a link member points, as an archive path; refuse links leaving the archive."""
    if not raw:
        raise ArchiveError(f"link member {member_name!r} has an empty target")
    if raw.startswith("/"):
        raise UnsafeArchiveError(f"{kind} {member_name!r} points outside the archive (-> {raw})")
    if kind == SYMLINK:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_name), raw))
        if joined == ".." or joined.startswith("../"):
            raise UnsafeArchiveError(
                f"symlink {member_name!r} points outside the archive (-> {raw})"
            )
        return "" if joined == "." else joined
    return normalize_name(raw, offset)


def walk(src: SeekSource | StreamSource, limits: Limits) -> list[Member]:
    """Read every header of the tar in ``src``; return the members in archive order."""
    members: list[Member] = []
    pax: dict[str, str] = {}
    gnu_name = gnu_link = ""
    while True:
        offset = src.pos
        block = src.read(BLOCK)
        if not block:
            if offset == 0:
                raise ArchiveError("empty file: not a tar archive")
            raise ArchiveError("truncated archive: no end-of-archive marker (file cut short?)")
        if len(block) < BLOCK:
            raise ArchiveError(f"truncated archive: it ends inside a tar header at byte {offset}")
        if block == _ZERO_BLOCK:
            if offset == 0:
                raise ArchiveError("not a tar archive: the first block is all zeros")
            break
        if not _checksum_ok(block):
            if offset == 0:
                raise ArchiveError("not a tar archive (no valid tar header at the start)")
            raise ArchiveError(f"invalid tar header at byte {offset} (bad checksum)")
        flag = block[156:157]
        size = _num(block[124:136], "size", offset)
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if flag in (b"x", b"g", b"L", b"K"):
            if size > limits.max_header_data:
                raise UnsafeArchiveError(
                    f"extended tar header at byte {offset} is {size} bytes (limit "
                    f"{limits.max_header_data})"
                )
            data = src.read(padded)
            if len(data) != padded:
                raise ArchiveError(
                    f"truncated archive: it ends inside a tar header at byte {offset}"
                )
            data = data[:size]
            if flag == b"x":
                pax = _parse_pax(data, offset)
            elif flag == b"L":
                gnu_name = _decode_name(_str(data), offset)
            elif flag == b"K":
                gnu_link = _decode_name(_str(data), offset)
            continue  # global PAX headers carry nothing Docker archives need
        name = _decode_name(_str(block[0:100]), offset)
        link_raw = _decode_name(_str(block[157:257]), offset)
        if block[257:262] == b"ustar":
            prefix = _decode_name(_str(block[345:500]), offset)
            if prefix:
                name = f"{prefix}/{name}"
        name = pax.get("path", gnu_name or name)
        link_raw = pax.get("linkpath", gnu_link or link_raw)
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise ArchiveError(f"invalid PAX size at byte {offset}") from None
            if size < 0:
                raise ArchiveError(f"invalid PAX size at byte {offset}")
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
        pax, gnu_name, gnu_link = {}, "", ""
        if flag in _SPECIAL:
            raise UnsafeArchiveError(
                f"member {name!r} is {_SPECIAL[flag]}; archives carry files only"
            )
        kind = _TYPES.get(flag)
        if kind is None:
            raise ArchiveError(f"member {name!r} has unsupported tar type {flag!r}")
        norm = normalize_name(name, offset)
        if not norm:
            if kind != DIR:
                raise ArchiveError(f"member at byte {offset} has an empty name")
            src.skip(padded)
            continue
        link = link_target(norm, kind, link_raw, offset) if kind in (SYMLINK, HARDLINK) else ""
        if kind != FILE:
            size = 0  # any payload on a dir/link entry is skipped, never read
        member = Member(norm, kind, size, src.pos, link)
        members.append(member)
        if len(members) > limits.max_members:
            raise UnsafeArchiveError(f"more than {limits.max_members} members; refusing")
        src.skip(padded, member)
    _check_trailer(src)
    return members


def _check_trailer(src: SeekSource | StreamSource) -> None:
    """After the first zero block, everything must be zeros (Go and GNU tar pad with zeros)."""
    if isinstance(src, SeekSource):
        rest = src.size - src.pos
        if rest > 1 << 20:
            raise ArchiveError(f"{rest} bytes of data follow the tar end-of-archive marker")
        tail = src.read(rest)
        if tail.strip(b"\0"):
            raise ArchiveError("data follows the tar end-of-archive marker (damaged archive?)")


def file_size(f: BinaryIO) -> int:
    """Size of a seekable file object."""
    try:
        return os.fstat(f.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return end
