"""Files that appear whole or not at all: the one atomic write of every room.

:func:`atomic_write` writes to a temp file in the target's own directory (so the final
rename stays on one filesystem and is atomic for readers), fsyncs it, sets its mode by the
policy the caller states, and renames it over the target. On any failure — an exception in
the caller's block, a failed check, ``KeyboardInterrupt`` — the temp file is removed and the
target is left as it was. The executor, the archive writer and the doctor all use it; it
imports nothing of the package but :mod:`.errors`-free stdlib, so every room (and the
one-file doctor, Python >= 3.9) can.

Mode policy, always stated by the caller (``mode=``):

* an ``int`` — exactly these permission bits (``0o644`` for a ``docker save`` archive,
  ``0o755`` for the doctor's zipapp);
* :data:`KEEP` — the replaced file's permission bits, or for a new file what ``open()``
  would give (``0o666`` less the umask); never ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["KEEP", "atomic_write", "write_bytes", "write_text"]

KEEP = -1
"""Mode policy: the replaced file's permissions, or ``0o666`` less the umask for a new one."""

Check = Callable[[Path], None]


def _mode_for(target: Path, mode: int) -> int:
    if mode != KEEP:
        return mode
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike[str],
    *,
    mode: int,
    check: Check | None = None,
    fsync: bool = True,
    suffix: str = ".tmp",
) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it replaces ``target`` in one rename.

    ``check`` is called with the temp file's path once it is complete and closed (e.g. to
    diagnose a repaired archive); if it raises, nothing is renamed. ``fsync=False`` skips
    the flush to disk (the rename is then atomic for readers but not durable across a
    power cut). The temp file is ``.<name>.<random><suffix>`` beside ``target``. An
    ``OSError`` creating it propagates unchanged for the caller to word.
    """
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=suffix)
    tmp = Path(name)
    f = os.fdopen(fd, "wb")
    try:
        with f:
            os.fchmod(f.fileno(), _mode_for(target, mode))
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(
    target: str | os.PathLike[str], data: bytes, *, mode: int, fsync: bool = True
) -> None:
    """Replace ``target`` with ``data`` atomically (see :func:`atomic_write`)."""
    with atomic_write(target, mode=mode, fsync=fsync) as f:
        f.write(data)


def write_text(
    target: str | os.PathLike[str], text: str, *, mode: int, fsync: bool = True
) -> None:
    """Replace ``target`` with ``text`` (UTF-8) atomically (see :func:`atomic_write`)."""
    write_bytes(target, text.encode("utf-8"), mode=mode, fsync=fsync)
