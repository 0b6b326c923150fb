"""Streaming tar writer for docker-save archives (both layouts).

Members are written in the order given; layer files are copied from disk in chunks, so
the archive is never held in memory. The output appears atomically: everything goes to a
temporary file next to the target, renamed into place only when the archive is complete;
on any failure the partial file is deleted.

Headers follow what moby's ``pkg/archive`` (Go's ``archive/tar``) writes for a save:
POSIX ustar (long names split into prefix/name), owner root/root (uid 0, gid 0), Go's
mode field with the file-type bits (0100644 files, 040755 directories, 0120777
symlinks), mtime in whole seconds, directory names with a trailing slash, and two zero
blocks at the end (no padding to a 10 KiB record).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import ArchiveError
from ..files import atomic_write

__all__ = ["TarWriter", "now", "tar_header", "ustar_header", "write_atomically"]

CHUNK = 1 << 20
BLOCK = 512
REGTYPE, DIRTYPE, SYMTYPE, LNKTYPE, PAXTYPE = b"0", b"5", b"2", b"1", b"x"
_MAX_SIZE = 0o77777777777  # 11 octal digits


def _octal(value: int, width: int) -> bytes:
    # Go's archive/tar: zero-padded octal, NUL-terminated, filling the field
    digits = format(value, "o").encode()
    if len(digits) > width - 1:
        raise ArchiveError(f"tar header value {value} does not fit {width - 1} octal digits")
    return digits.rjust(width - 1, b"0") + b"\0"


class _TooLong(Exception):
    """A value does not fit its ustar field: the header needs a PAX record for it."""


def _split_name(name: str) -> tuple[bytes, bytes]:
    raw = name.encode()
    if not name.isascii():
        raise _TooLong
    if len(raw) <= 100:
        return raw, b""
    for i in range(len(raw) - 1, 0, -1):
        if raw[i : i + 1] == b"/" and i <= 155 and len(raw) - i - 1 <= 100:
            return raw[i + 1 :], raw[:i]
    raise _TooLong


def _ustar(name: bytes, prefix: bytes, kind: bytes, size: int, mtime: float, mode: int,
           link: bytes) -> bytes:
    fields = [
        name.ljust(100, b"\0"),
        _octal(mode, 8),
        _octal(0, 8),
        _octal(0, 8),
        _octal(size, 12),
        _octal(int(mtime), 12),
        b" " * 8,
        kind,
        link.ljust(100, b"\0"),
        b"ustar\x0000",
        b"root".ljust(32, b"\0"),
        b"root".ljust(32, b"\0"),
        _octal(0, 8),
        _octal(0, 8),
        prefix.ljust(155, b"\0"),
    ]
    header = b"".join(fields).ljust(BLOCK, b"\0")
    checksum = _octal(sum(header), 7) + b" "
    return header[:148] + checksum + header[156:]


def _pax_record(key: str, value: str) -> bytes:
    """``"<length> key=value\\n"``, the length counting its own digits (as Go's does)."""
    body = f" {key}={value}\n".encode()
    length = len(body) + len(str(len(body)))
    length = len(body) + len(str(length))
    return str(length).encode() + body


def tar_header(name: str, kind: bytes, size: int, mtime: float, mode: int, link: str = ""
               ) -> bytes:
    """The header block(s) of one member, chosen as Go's archive/tar chooses: one POSIX
    ustar header when every value fits (long names split into prefix/name), else a PAX
    extended header (``path``, ``linkpath``, ``size`` records) before a ustar header whose
    fields hold what fits; owner root/root (uid and gid 0) as in moby's saves."""
    records: list[bytes] = []
    try:
        short, prefix = _split_name(name)
    except _TooLong:
        records.append(_pax_record("path", name))
        short, prefix = name.encode("ascii", "replace")[:100], b""
    link_raw = link.encode()
    if len(link_raw) > 100 or not link.isascii():
        records.append(_pax_record("linkpath", link))
        link_raw = link.encode("ascii", "replace")[:100]
    if size > _MAX_SIZE:
        records.append(_pax_record("size", str(size)))
    head = _ustar(short, prefix, kind, 0 if size > _MAX_SIZE else size, mtime, mode, link_raw)
    if not records:
        return head
    data = b"".join(sorted(records, key=lambda r: bytes(r).split(b" ", 1)[1]))
    base = name.rsplit("/", 1)
    pax_name = "/".join([*base[:-1], "PaxHeaders.0", base[-1]]).encode("ascii", "replace")[:100]
    pax = _ustar(pax_name, b"", PAXTYPE, len(data), mtime, mode & 0o7777, b"")
    return pax + data + bytes(-len(data) % BLOCK) + head


def ustar_header(
    name: str, kind: bytes, size: int, mtime: float, mode: int, link: str = ""
) -> bytes:
    """One 512-byte POSIX ustar header as Go's archive/tar writes it for a save (refuses
    what does not fit: moby's saves never need PAX)."""
    header = tar_header(name, kind, size, mtime, mode, link)
    if len(header) != BLOCK:
        raise ArchiveError(f"member name too long for a ustar header: {name!r}")
    return header


class TarWriter:
    """Write members to an open binary stream. The caller owns ``stream``."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._out = stream

    def _pad(self, size: int) -> None:
        if size % BLOCK:
            self._out.write(b"\0" * (BLOCK - size % BLOCK))

    def add_dir(self, name: str, mtime: float) -> None:
        self._out.write(ustar_header(name.rstrip("/") + "/", DIRTYPE, 0, mtime, 0o40755))

    def add_bytes(self, name: str, data: bytes, mtime: float) -> None:
        self._out.write(ustar_header(name, REGTYPE, len(data), mtime, 0o100644))
        self._out.write(data)
        self._pad(len(data))

    def add_file(self, name: str, path: Path, mtime: float) -> None:
        """Copy ``path`` into the archive in chunks; the file must not change meanwhile."""
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._out.write(ustar_header(name, REGTYPE, size, mtime, 0o100644))
            copied = 0
            while chunk := f.read(min(CHUNK, size - copied)):
                self._out.write(chunk)
                copied += len(chunk)
            if copied != size:
                raise ArchiveError(f"{path} changed size while it was archived")
        self._pad(size)

    def add_symlink(self, name: str, target: str, mtime: float) -> None:
        self._out.write(ustar_header(name, SYMTYPE, 0, mtime, 0o120777, target))

    def close(self) -> None:
        """End the archive: two zero blocks, as Go's tar.Writer.Close writes."""
        self._out.write(b"\0" * (2 * BLOCK))


@contextlib.contextmanager
def write_atomically(out_path: Path) -> Iterator[TarWriter]:
    """Yield a :class:`TarWriter` on a temp file beside ``out_path``; rename on success,
    delete on failure (the error is re-raised)."""
    out_path = Path(out_path)
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(atomic_write(out_path, mode=0o644, suffix=".partial"))
        except OSError as exc:
            raise ArchiveError(f"cannot create {out_path}: {exc.strerror}; check the directory "
                               "exists and is writable") from exc
        writer = TarWriter(stream)
        yield writer
        writer.close()


def now() -> float:
    """The wall clock, for mtimes Docker leaves at "when the file was written"."""
    return time.time()
