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

__all__ = ["TarWriter", "now", "ustar_header", "write_atomically"]

CHUNK = 1 << 20
BLOCK = 512
REGTYPE, DIRTYPE, SYMTYPE = b"0", b"5", b"2"


def _octal(value: int, width: int) -> bytes:
    # Go's archive/tar: zero-padded octal, NUL-terminated, filling the field
    digits = format(value, "o").encode()
    if len(digits) > width - 1:
        raise ArchiveError(f"tar header value {value} does not fit {width - 1} octal digits")
    return digits.rjust(width - 1, b"0") + b"\0"


def _split_name(name: str) -> tuple[bytes, bytes]:
    raw = name.encode()
    if len(raw) <= 100:
        return raw, b""
    for i in range(len(raw) - 1, 0, -1):
        if raw[i : i + 1] == b"/" and i <= 155 and len(raw) - i - 1 <= 100:
            return raw[i + 1 :], raw[:i]
    raise ArchiveError(f"member name too long for a ustar header: {name!r}")


def ustar_header(
    name: str, kind: bytes, size: int, mtime: float, mode: int, link: str = ""
) -> bytes:
    """One 512-byte POSIX ustar header as Go's archive/tar writes it for a save."""
    short, prefix = _split_name(name)
    fields = [
        short.ljust(100, b"\0"),
        _octal(mode, 8),
        _octal(0, 8),
        _octal(0, 8),
        _octal(size, 12),
        _octal(int(mtime), 12),
        b" " * 8,
        kind,
        link.encode().ljust(100, b"\0"),
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
