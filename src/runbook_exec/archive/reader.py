"""Read docker-save archives without extracting them.

:func:`open_archive` walks the tar headers once and builds the member table
(name → kind, size, data offset). How the data is reached depends on the input:

* **plain tar in a seekable file** — the walk *seeks over* the data (a 1 GB archive is
  walked in milliseconds); members are then read with positioned reads, so several
  threads can hash blobs at once (:meth:`ArchiveReader.hash_members`);
* **gzip-compressed, or a pipe such as stdin** — the input is *streamed once*: members
  that look like JSON and are small are kept in memory (bounded by :class:`Limits`), and
  with ``hash_blobs=True`` every file member is hashed as it passes. Reading a large member
  later re-streams a gzip *file* from the start; a pipe cannot be re-read.

Safety: member names that are absolute or contain ``..`` are refused, as are links whose
target leaves the archive, device and fifo members and duplicate members
(:class:`~runbook_exec.errors.UnsafeArchiveError`). A legacy (Docker ≤ 24) archive stores
a repeated layer as a relative symlink to a sibling's ``layer.tar``; such links stay inside
the archive and are resolved. Nothing is written to disk unless the caller asks
(:meth:`ArchiveReader.extract`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from ..errors import ArchiveError, UnsafeArchiveError
from . import model
from .tarwalk import (
    CHUNK,
    DIR,
    FILE,
    HARDLINK,
    SYMLINK,
    GzipStream,
    Limits,
    Member,
    SeekSource,
    StreamSource,
    file_size,
    walk,
)

__all__ = ["ArchiveReader", "Counted", "Layout", "Limits", "Member", "blob_path", "open_archive"]

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
Progress = Callable[[int], None]
_EMPTY_SHA256 = "sha256:" + hashlib.sha256(b"").hexdigest()


class Layout(str, Enum):  # noqa: UP042 (StrEnum is 3.11; the one-file doctor runs on 3.9)
    """Which writer produced an archive, as far as its members tell."""

    def __str__(self) -> str:
        return str(self.value)

    LEGACY = "docker-legacy"  # Docker <= 24: manifest.json + <id>/layer.tar, no oci-layout
    DOCKER25 = "docker25"  # Docker >= 25 (graphdriver store): OCI layout + manifest.json
    OCI = "oci"  # a pure OCI image layout (no manifest.json)
    CONTAINERD = "containerd-export"  # containerd image store export (Docker 29): nested index


def blob_path(digest: str) -> str:
    """The archive path of a blob, ``blobs/sha256/<hex>``; refuses malformed digests."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ArchiveError(f"invalid digest {digest!r}: expected sha256:<64 hex digits>")
    return model.BLOBS_DIR + digest[7:]


def open_archive(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    limits: Limits | None = None,
    hash_blobs: bool = False,
    progress: Progress | None = None,
) -> ArchiveReader:
    """Open a docker-save archive (plain or gzip tar) and walk its headers.

    ``source`` is a path, ``"-"`` for stdin, or a binary file object. The reader *owns*
    (and closes) the file only if it opened it from a path; a file object passed in stays
    the caller's. ``hash_blobs`` hashes every member while a streamed input passes
    (a seekable plain tar is hashed later, in parallel, by :meth:`ArchiveReader.hash_members`).
    ``progress`` receives byte counts as streamed data passes.
    """
    limits = limits or Limits()
    owned = False
    path: Path | None = None
    if isinstance(source, (str, os.PathLike)):  # noqa: UP038 (Python 3.9)
        if str(source) == "-":
            f: BinaryIO = sys.stdin.buffer
        else:
            path = Path(source)
            try:
                f = path.open("rb")
            except IsADirectoryError:
                raise ArchiveError(f"{path} is a directory, not an archive file") from None
            except OSError as exc:
                raise ArchiveError(f"cannot open {path}: {exc.strerror}") from None
            owned = True
    else:
        f = source
    try:
        return ArchiveReader(f, path=path, owned=owned, limits=limits, hash_blobs=hash_blobs,
                             progress=progress)
    except BaseException:
        if owned:
            f.close()
        raise


def _seekable(f: BinaryIO) -> bool:
    try:
        return f.seekable()
    except (AttributeError, OSError, ValueError):
        return False


class _Prefixed:
    """A read-once stream with bytes already sniffed from its start put back in front."""

    def __init__(self, head: bytes, f: BinaryIO) -> None:
        self.head = head
        self.f = f

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.f.read(n)


def _refuse_other_formats(head: bytes, label: str) -> None:
    if not head:
        raise ArchiveError(f"{label} is empty: not a docker-save archive")
    known = {
        b"PK\x03\x04": "a zip file",
        b"\x28\xb5\x2f\xfd": "zstd-compressed",
        b"BZh": "bzip2-compressed",
        b"\xfd7zXZ": "xz-compressed",
    }
    for magic, what in known.items():
        if head.startswith(magic):
            raise ArchiveError(
                f"{label} is {what}, not a tar: `docker save` writes a tar (optionally gzip); "
                "decompress it or save the image again"
            )


class ArchiveReader:
    """The member table of one archive and ways to read members. Use as a context manager.

    Closes the underlying file on :meth:`close` only if :func:`open_archive` opened it.
    """

    def __init__(
        self,
        f: BinaryIO,
        *,
        path: Path | None,
        owned: bool,
        limits: Limits,
        hash_blobs: bool,
        progress: Progress | None,
    ) -> None:
        self._f = f
        self.path = path
        self._owned = owned
        self.limits = limits
        self.label = str(path) if path is not None else "the archive"
        self._cache: dict[str, bytearray] = {}
        self._cached_total = 0
        self._hashers: dict[str, Any] = {}
        self.digests: dict[str, str] = {}
        self._progress = progress
        self._hash_blobs = hash_blobs
        self._layout: Layout | None = None
        self._current = ""
        self.seekable = _seekable(f)
        if self.seekable:
            start = f.tell()
            head = f.read(512)
            f.seek(start)
        else:
            head = _peek(f, 512)
            f = _Prefixed(head, f)  # type: ignore[assignment]
        _refuse_other_formats(head, self.label)
        self.compressed = head.startswith(b"\x1f\x8b")
        self.streamed = self.compressed or not self.seekable
        if self.streamed:
            if self.compressed:
                # progress counts the compressed bytes read, so it ends at the file's size
                stream: Any = GzipStream(Counted(f, progress), limits)
                self._progress = None
            else:
                stream = f
            src: SeekSource | StreamSource = StreamSource(stream, self._take)
        else:
            self._base = f.tell()
            src = SeekSource(_Offset(f, self._base), file_size(f) - self._base)
        self.size = 0
        members = walk(src, limits)
        self.size = src.pos
        for name, h in self._hashers.items():
            self.digests[name] = "sha256:" + h.hexdigest()
        self._hashers.clear()
        self.members: Mapping[str, Member] = _table(members)
        for m in self.members.values():
            if m.kind == FILE and m.size == 0:
                self._cache.setdefault(m.name, bytearray())
                self.digests.setdefault(m.name, _EMPTY_SHA256)
        _check_links(self.members)

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file if this reader opened it; drop cached member data."""
        self._cache.clear()
        if self._owned:
            self._f.close()

    # -- streamed input: keep small JSON-looking members, hash as data passes ---------
    def _take(self, member: Member, chunk: bytes) -> None:
        if self._progress is not None:
            self._progress(len(chunk))
        if self._hash_blobs:
            h = self._hashers.get(member.name)
            if h is None:
                h = self._hashers[member.name] = hashlib.sha256()
            h.update(chunk)
        if member.name != self._current:
            # decide once per member, on its first chunk, whether to keep it
            self._current = member.name
            small = member.size <= self.limits.max_cached_member
            room = self._cached_total + member.size <= self.limits.max_cached
            if small and room and chunk.lstrip()[:1] in (b"{", b"["):
                self._cache[member.name] = bytearray()
                self._cached_total += member.size
        buf = self._cache.get(member.name)
        if buf is not None:
            buf += chunk

    # -- the member table ----------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.members

    def resolve(self, name: str) -> Member:
        """The regular-file member ``name`` refers to, following links inside the archive."""
        seen: set[str] = set()
        current = name
        while True:
            member = self.members.get(current)
            if member is None:
                if current == name:
                    raise ArchiveError(f"{self.label} has no member {name!r}")
                raise ArchiveError(f"{name!r} in {self.label} is a link to missing {current!r}")
            if member.kind == FILE:
                return member
            if member.kind == DIR:
                raise ArchiveError(f"{name!r} in {self.label} is a directory, not a file")
            if current in seen:
                raise UnsafeArchiveError(f"{name!r} in {self.label} is a link cycle")
            seen.add(current)
            current = member.link

    def blob(self, digest: str) -> Member | None:
        """The member holding blob ``digest``, or None if the archive lacks it."""
        name = blob_path(digest)
        return self.resolve(name) if name in self.members else None

    @property
    def layout(self) -> Layout:
        """Legacy (≤ 24), Docker ≥ 25 (OCI + manifest.json), pure OCI, or containerd export."""
        if self._layout is None:
            self._layout = self._detect_layout()
        return self._layout

    def _detect_layout(self) -> Layout:
        has_manifest = self.has(model.MANIFEST_JSON)
        if not self.has(model.OCI_LAYOUT) and not self.has(model.INDEX_JSON):
            if has_manifest:
                return Layout.LEGACY
            raise ArchiveError(
                f"{self.label} is a tar but not a docker-save archive: it has neither "
                "manifest.json nor index.json"
            )
        index = self.read_json(model.INDEX_JSON) if self.has(model.INDEX_JSON) else {}
        entries = index.get("manifests") if isinstance(index, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("mediaType") in (
                model.MT_OCI_INDEX,
                model.MT_DOCKER_LIST,
            ):
                return Layout.CONTAINERD
        return Layout.DOCKER25 if has_manifest else Layout.OCI

    # -- reading -------------------------------------------------------------------
    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        """The whole content of member ``name``; refuses members above ``limit`` bytes."""
        member = self.resolve(name)
        limit = self.limits.max_json if limit is None else limit
        if member.size > limit:
            raise ArchiveError(
                f"{name} in {self.label} is {member.size} bytes, more than the {limit}-byte "
                "limit for metadata (a docker-save archive's JSON is small)"
            )
        cached = self._cache.get(member.name)
        if cached is not None:
            return bytes(cached)
        with self.open_member(member.name) as fh:
            data = fh.read(member.size)
        if len(data) != member.size:
            raise ArchiveError(f"{name} in {self.label} is truncated")
        return data

    def read_json(self, name: str, limit: int | None = None) -> Any:
        """Parse member ``name`` as JSON (size-capped by ``limit``, default Limits.max_json)."""
        data = self.read_bytes(name, limit)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ArchiveError(f"{name} in {self.label} is not valid JSON ({exc})") from None

    # -- the typed model of its JSON (see archive.model) ----------------------------
    def manifest_items(self) -> list[model.ManifestItem]:
        """The entries of ``manifest.json`` (the legacy half)."""
        return model.parse_manifest_json(self.read_json(model.MANIFEST_JSON))

    def index(self, digest: str | None = None) -> model.OciIndex:
        """``index.json``, or the nested image index stored as blob ``digest``."""
        name = model.INDEX_JSON if digest is None else blob_path(digest)
        return model.OciIndex.parse(self.read_json(name), name)

    def manifest(self, digest: str) -> model.OciManifest:
        """The OCI image manifest stored as blob ``digest``."""
        name = blob_path(digest)
        return model.OciManifest.parse(self.read_json(name), name)

    def image_config(self, digest: str) -> model.ImageConfig:
        """The image config stored as blob ``digest`` (or at member path ``digest``, as
        ``manifest.json``'s ``Config`` names it)."""
        name = digest if digest.startswith(model.BLOBS_DIR) or not digest.startswith(
            "sha256:") else blob_path(digest)
        return model.ImageConfig.parse(self.read_json(name), f"config {name}")

    def open_member(self, name: str) -> BinaryIO:
        """A binary stream of member ``name``'s data (links followed). Close it when done."""
        member = self.resolve(name)
        cached = self._cache.get(member.name)
        if cached is not None:
            return io.BytesIO(bytes(cached))
        if not self.streamed:
            raw = _Section(self._f, self._base + member.offset, member.size)
            return io.BufferedReader(raw, CHUNK)
        if self.path is None:
            raise ArchiveError(
                f"cannot read {name} again from a stream; save the archive to a file first"
            )
        return io.BytesIO(b"".join(self._restream([member.name]).get(member.name, [])))

    def open_blob(self, digest: str) -> BinaryIO:
        """A binary stream of blob ``digest`` (``sha256:<hex>``)."""
        return self.open_member(blob_path(digest))

    def extract(self, name: str, dest: Path) -> Path:
        """Write member ``name``'s data to ``dest`` (a path the caller chose); return it."""
        with self.open_member(name) as src, dest.open("wb") as out:
            copy_stream(src, out)
        return dest

    def copy_member(self, name: str, out: BinaryIO) -> int:
        """Append member ``name``'s data to ``out``; in-kernel copy where the OS allows."""
        member = self.resolve(name)
        if not self.streamed and member.name not in self._cache:
            return _copy_range(self._f, self._base + member.offset, member.size, out)
        with self.open_member(name) as src:
            return copy_stream(src, out)

    def iter_data(self) -> Iterator[tuple[Member, Iterator[bytes]]]:
        """Members in archive order with their data as chunks (re-streams a gzip file)."""
        if not self.streamed:
            for member in self.members.values():
                yield member, self._chunks(member)
            return
        chunks = self._restream([m.name for m in self.members.values() if m.kind == FILE])
        for member in self.members.values():
            yield member, iter(chunks.get(member.name, []))

    def _chunks(self, member: Member) -> Iterator[bytes]:
        if member.kind != FILE:
            return
        with self.open_member(member.name) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def _restream(self, names: Iterable[str]) -> dict[str, list[bytes]]:
        """Stream a gzip file again, keeping the data of ``names`` (used for small sets)."""
        wanted = set(names)
        got: dict[str, list[bytes]] = {}

        def keep(member: Member, chunk: bytes) -> None:
            if member.name in wanted:
                got.setdefault(member.name, []).append(chunk)

        assert self.path is not None
        with self.path.open("rb") as f:
            stream: Any = GzipStream(f, self.limits) if self.compressed else f
            walk(StreamSource(stream, keep), self.limits)
        return got

    # -- hashing -------------------------------------------------------------------
    def hash_members(
        self, names: Iterable[str], *, workers: int | None = None, progress: Progress | None = None
    ) -> dict[str, str]:
        """``sha256:<hex>`` of each named member. Seekable plain tars are hashed by several
        threads with positioned reads (hashlib and os.pread release the GIL); streamed
        input uses the hashes taken while it passed, or re-streams a gzip file once."""
        names = [self.resolve(n).name for n in names]
        missing = [n for n in names if n not in self.digests]
        if not missing:
            return {n: self.digests[n] for n in names}
        if self.streamed:
            if self.path is None:
                raise ArchiveError("cannot hash a stream after reading it; pass --verify up front")
            hashers = {n: hashlib.sha256() for n in missing}

            def feed(member: Member, chunk: bytes) -> None:
                h = hashers.get(member.name)
                if h is not None:
                    h.update(chunk)
                    if progress is not None:
                        progress(len(chunk))

            with self.path.open("rb") as f:
                stream: Any = GzipStream(f, self.limits) if self.compressed else f
                walk(StreamSource(stream, feed), self.limits)
            self.digests.update({n: "sha256:" + h.hexdigest() for n, h in hashers.items()})
        else:
            jobs = sorted(missing, key=lambda n: -self.members[n].size)
            # threads need positioned reads (os.pread); a file object without a file
            # descriptor (BytesIO) is read by one thread with seek + read
            count = workers or min(4, os.cpu_count() or 1) if _has_fd(self._f) else 1
            with ThreadPoolExecutor(max_workers=count) as pool:
                for name, digest in zip(jobs,  # noqa: B905 (3.9; same length by construction)
                                        pool.map(lambda n: self._hash(n, progress), jobs)):
                    self.digests[name] = digest
        return {n: self.digests[n] for n in names}

    def _hash(self, name: str, progress: Progress | None) -> str:
        member = self.members[name]
        h = hashlib.sha256()
        raw = _Section(self._f, self._base + member.offset, member.size)
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := raw.readinto(view):
            h.update(view[:n])
            if progress is not None:
                progress(n)
        return "sha256:" + h.hexdigest()


def _has_fd(f: BinaryIO) -> bool:
    try:
        f.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _peek(f: BinaryIO, n: int) -> bytes:
    parts = []
    while n:
        data = f.read(n)
        if not data:
            break
        parts.append(data)
        n -= len(data)
    return b"".join(parts)


def _table(members: list[Member]) -> dict[str, Member]:
    table: dict[str, Member] = {}
    for m in members:
        old = table.get(m.name)
        if old is not None:
            if old.kind == DIR and m.kind == DIR:
                continue
            raise UnsafeArchiveError(
                f"duplicate member {m.name!r}: the archive is ambiguous (which copy counts?)"
            )
        table[m.name] = m
    return table


def _check_links(members: Mapping[str, Member]) -> None:
    dirs = {name.rsplit("/", 1)[0] for name in members if "/" in name}
    for m in members.values():
        if m.kind not in (SYMLINK, HARDLINK):
            continue
        seen = {m.name}
        target = m.link
        while True:
            t = members.get(target)
            if t is None:
                if m.kind == SYMLINK and (target in dirs or target == ""):
                    break
                raise ArchiveError(f"{m.kind} {m.name!r} points to {m.link!r}, not in the archive")
            if t.kind not in (SYMLINK, HARDLINK):
                break
            if target in seen or len(seen) > 40:
                raise UnsafeArchiveError(f"{m.kind} {m.name!r} is part of a link cycle")
            seen.add(target)
            target = t.link


class Counted:
    """A read-only stream that reports how many bytes were read from it."""

    def __init__(self, f: Any, progress: Progress | None) -> None:
        self.f = f
        self.progress = progress

    def read(self, n: int) -> bytes:
        data: bytes = self.f.read(n)
        if self.progress is not None and data:
            self.progress(len(data))
        return data


class _Offset:
    """A view of ``f`` starting at ``base`` (a tar that does not start at offset 0)."""

    def __init__(self, f: BinaryIO, base: int) -> None:
        self.f = f
        self.base = base

    def seek(self, pos: int) -> int:
        return self.f.seek(self.base + pos)

    def read(self, n: int) -> bytes:
        return self.f.read(n)


class _Section(io.RawIOBase):
    """Read-only window [start, start+size) of a file, by positioned reads."""

    def __init__(self, f: BinaryIO, start: int, size: int) -> None:
        self.f = f
        self.start = start
        self.size = size
        self.pos = 0
        try:
            self.fd: int | None = f.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        if self.fd is not None:
            got = os.preadv(self.fd, [memoryview(buffer)[:n]], self.start + self.pos)
            if got == 0:
                raise ArchiveError("archive truncated while reading a member")
            self.pos += got
            return got
        else:
            self.f.seek(self.start + self.pos)
            data = self.f.read(n)
        if not data:
            raise ArchiveError("archive truncated while reading a member")
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def copy_stream(src: BinaryIO, out: BinaryIO) -> int:
    total = 0
    while chunk := src.read(CHUNK):
        out.write(chunk)
        total += len(chunk)
    return total


def _copy_range(f: BinaryIO, start: int, size: int, out: BinaryIO) -> int:
    """Copy bytes [start, start+size) of ``f`` to ``out``'s current position."""
    try:
        in_fd, out_fd = f.fileno(), out.fileno()
    except (AttributeError, OSError, ValueError):
        in_fd = out_fd = -1
    done = 0
    if in_fd >= 0:
        out.flush()
        try:
            while done < size:
                n = os.copy_file_range(in_fd, out_fd, min(size - done, 1 << 30), start + done)
                if n == 0:
                    raise ArchiveError("archive truncated while copying a member")
                done += n
            return size
        except OSError:
            out.seek(0, os.SEEK_END)  # continue below from where the kernel stopped
    window = _Section(f, start + done, size - done)
    with io.BufferedReader(window, CHUNK) as src:
        return done + copy_stream(src, out)
