"""A gzip writer that compresses on a second thread, with bounded memory.

zlib releases the GIL while it compresses, so while the caller decompresses and copies
the next member, this thread deflates the previous megabyte: a repair of a gzip'd
archive then costs about what ``gzip -dc | gzip -1`` costs, not the sum of both. At most
``depth`` chunks of ``CHUNK`` bytes wait in the queue.
"""

from __future__ import annotations

import queue
import struct
import threading
import zlib
from types import TracebackType
from typing import BinaryIO

CHUNK = 256 << 10


class GzipWriter:
    """``write()`` bytes; ``close()`` flushes and writes the gzip trailer (mtime 0, no name,
    so the same input gives the same bytes). Errors of the worker surface on write/close."""

    def __init__(self, raw: BinaryIO, *, level: int = 1, depth: int = 4) -> None:
        self.raw = raw
        self._z = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        self._buf = bytearray()
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._closed = False
        # header: magic, deflate, no flags, mtime 0, xfl 4 (fastest) for level 1, OS unix
        raw.write(b"\x1f\x8b\x08\x00" + struct.pack("<I", 0)
                  + (b"\x04" if level == 1 else b"\x00") + b"\x03")
        self._thread = threading.Thread(target=self._run, name="gzip-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._q.get()
                if item is None:
                    self.raw.write(self._z.flush())
                    return
                self.raw.write(self._z.compress(item))
        except BaseException as exc:  # handed to the caller on its next write/close
            self._error = exc
            while self._q.get() is not None:  # drain so the caller never blocks
                pass

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._check()
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._buf += data
        if len(self._buf) >= CHUNK:
            self._q.put(bytes(self._buf))
            self._buf.clear()
        return len(data)

    def close(self) -> None:
        """Finish the stream (idempotent); the raw file stays open (it is the caller's)."""
        if self._closed:
            return
        self._closed = True
        if self._buf:
            self._q.put(bytes(self._buf))
            self._buf.clear()
        self._q.put(None)
        self._thread.join()
        self._check()
        self.raw.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))

    def abort(self) -> None:
        """Stop the worker without finishing the stream (the output is being discarded)."""
        if self._closed:
            return
        self._closed = True
        self._buf.clear()
        self._q.put(None)
        self._thread.join()

    def __enter__(self) -> GzipWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if et is None:
            self.close()
        else:
            self.abort()
