"""Repair a docker-save archive: rebuild the OCI manifest(s) and index from the configs.

Each image's OCI manifest is written anew from its config's ``rootfs.diff_ids`` (config
order, repeated layers kept), pointing at the layer blobs already in the archive; the
index names every image fully (``docker.io/library/demo:v1``); ``manifest.json`` is
rewritten to the same order. Config bytes (so the image ID) and layer blobs are copied
untouched — with an in-kernel copy for a plain tar. The result goes to a temp file next
to the target, fsync'ed, diagnosed again, and only then renamed into place
(:func:`runbook_exec.files.atomic_write`); the temp file is removed on any failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..archive import model
from ..archive.gojson import dumps as gojson_dumps
from ..archive.gzipout import GzipWriter
from ..archive.model import Descriptor, ManifestItem, OciIndex, OciManifest
from ..archive.reader import ArchiveReader, Counted, Layout, blob_path, open_archive
from ..archive.refs import DEFAULT_TAG, familiar, qualify, split_tag
from ..archive.tarwalk import (
    BLOCK,
    DIR,
    FILE,
    HARDLINK,
    SYMLINK,
    GzipStream,
    Member,
    StreamSource,
    walk,
)
from ..archive.writer import DIRTYPE, LNKTYPE, REGTYPE, SYMTYPE, tar_header
from ..errors import RepairError
from ..files import KEEP, atomic_write
from .diagnose import ImageInfo, Report, diagnose, layer_plan, plan_inputs
from .nodes import NodeProfile, node_profile

Progress = Callable[[int], None]
_REPLACED = {model.INDEX_JSON, model.MANIFEST_JSON, model.OCI_LAYOUT}


@dataclass
class RepairResult:
    """What repair did: the output, the findings it fixed, what still stands."""

    output: Path | None
    before: Report
    after: Report | None
    fixed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "runbook-exec/doctor-repair/v1",
            "output": str(self.output) if self.output else None,
            "fixed": self.fixed,
            "before": self.before.to_json(),
            "after": self.after.to_json() if self.after else None,
        }


def gojson(obj: Any) -> bytes:
    """JSON as containerd's Go structs encode it (dicts in field order)."""
    return gojson_dumps(obj, sort_keys=False)


def repair(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None,
    *,
    in_place: bool = False,
    progress: Progress | None = None,
    node: NodeProfile | str | None = None,
    compress: bool | None = None,
) -> RepairResult:
    """Repair ``source`` into ``output`` (or over ``source`` with ``in_place``) for ``node``
    (default: the newest kind release's). The output is gzip'd when the input was and the
    node reads gzip, unless ``compress`` says otherwise."""
    if str(source) == "-":
        raise RepairError("repair needs a file, not stdin: save the stream to a file first")
    profile = node if isinstance(node, NodeProfile) else node_profile(node)
    src = Path(source)
    if in_place:
        out = src
    elif output is None:
        raise RepairError("give an output file with -o OUT (or --in-place to replace the input)")
    else:
        out = Path(output)
        if out.exists() and src.exists() and os.path.samefile(out, src):
            raise RepairError(f"refusing to overwrite the input {src}; choose another -o or "
                              "pass --in-place")
    if src.exists() and not src.is_file():
        raise RepairError(f"{src} is not a regular file (a pipe or device?); repair reads the "
                          "archive twice: save it to a file first")
    out = _check_target(src, out, in_place=in_place)
    # progress: a plain tar is only seeked over here; a gzip'd one is read through once
    with open_archive(src, progress=progress) as reader:
        before, exam = plan_inputs(reader, profile)
        codes = {f.code for f in before.findings}
        if not before.findings:
            return RepairResult(None, before, None)
        if before.blockers:
            raise RepairError(f"cannot repair {src}: {before.blockers[0]}")
        gz = (reader.compressed and profile.reads_gzip) if compress is None else compress
        if reader.layout is Layout.LEGACY:  # only archive-compressed: a plain copy
            new: list[tuple[str, bytes]] = []
            dropped: set[str] = set()
        else:
            new = _new_metadata(reader, exam, before.images)
            dropped = _REPLACED | {blob_path(d) for d in exam.meta_blobs} | {n for n, _ in new}
        checked: list[Report] = []

        def verify(tmp: Path) -> None:
            after = diagnose(str(tmp), node=profile)
            if after.findings or {i.image_id for i in after.images} != {
                i.image_id for i in before.images
            }:
                what = after.findings[0].message if after.findings else "image IDs changed"
                raise RepairError(f"the repaired archive did not verify ({what}); nothing "
                                  "written")
            checked.append(after)

        _write_atomic(reader, out, new, dropped, gz, progress, verify)
    after = checked[0]
    after.archive = str(out)
    fixed = sorted(codes - {f.code for f in after.findings})
    return RepairResult(out, before, after, fixed)


def _check_target(src: Path, out: Path, *, in_place: bool) -> Path:
    """Refuse targets the final rename would mishandle, before any byte is written.

    A symlink is followed (the rename replaces what it points to, as ``cp`` would write
    through it); a directory, device or fifo is refused, never replaced by a file.
    """
    if out.is_symlink():
        out = out.resolve()
    # one policy for -o and --in-place: a read-only target is refused, never replaced (the
    # rename would replace it although writing to it is not allowed)
    if out.is_file() and not (os.access(out, os.W_OK) and out.stat().st_mode & 0o222):
        how = "--in-place will not replace it" if in_place else "-o will not replace it"
        other = "write a copy with -o OUT" if in_place else "choose another -o"
        raise RepairError(f"{out} is read-only, so {how}; make it writable (chmod u+w) or "
                          f"{other}")
    if out.is_dir():
        raise RepairError(f"-o {out} is a directory; give a file path such as "
                          f"{out / 'repaired.tar'}")
    if out.exists() and not out.is_file():
        raise RepairError(f"-o {out} exists and is not a regular file (a device or fifo); "
                          "give a file path")
    return out


def _new_metadata(reader: ArchiveReader, exam: Any, images: list[ImageInfo]
                  ) -> list[tuple[str, bytes]]:
    """New OCI manifests, index.json, manifest.json and oci-layout for ``images``.

    Built from the typed model of what the archive had: fields repair does not decide (the
    manifest's and layers' annotations, an index entry's platform and other annotations,
    manifest.json's ``LayerSources`` and any field the model does not name) are kept."""
    files: list[tuple[str, bytes]] = []
    index: list[Descriptor] = []
    legacy: list[ManifestItem] = []
    seen: set[str] = set()
    for image in images:
        layers = layer_plan(reader, exam, image)
        config = reader.blob(image.image_id)
        if layers is None or config is None:  # _blockers refused these already
            raise RepairError(f"cannot repair: image {image.image_id[:19]}… lacks blobs")
        old: OciManifest | None = exam.oci_manifests.get(image.image_id)
        old_config = old.config if old is not None else None
        manifest = gojson(OciManifest(
            Descriptor(model.MT_OCI_CONFIG, image.image_id, config.size,
                       old_config.annotations if old_config else None, None,
                       old_config.extra if old_config else {}),
            layers, model.MT_OCI_MANIFEST, 2,
            old.annotations if old else None, old.extra if old else {},
        ).to_json())
        mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        files.append((blob_path(mdigest), manifest))
        names = []
        for ref in [*image.names, *image.refs, *(qualify(t) for t in image.repo_tags)]:
            if "@" in ref or ref.startswith("import-"):
                continue
            full = qualify(ref)
            if full not in seen:  # one index entry per name, even across images
                seen.add(full)
                names.append(full)
        entries = exam.index_entries.get(image.image_id, [])
        for full in names:
            index.append(_entry(entries, mdigest, len(manifest), full))
        if not names:
            index.append(_entry(entries, mdigest, len(manifest), None))
        item = image.legacy_item
        legacy.append(ManifestItem(
            blob_path(image.image_id), [blob_path(x.digest) for x in layers],
            image.repo_tags or [familiar(n) for n in names] or None,
            item.layer_sources if item else None, item.extra if item else {},
        ))
    before = exam.index
    new_index = OciIndex(index, model.MT_OCI_INDEX, 2, before.annotations if before else None,
                         before.extra if before else {})
    files.append((model.INDEX_JSON, gojson(new_index.to_json())))
    files.append((model.MANIFEST_JSON, gojson([x.to_json() for x in legacy])))
    layout = (reader.read_bytes(model.OCI_LAYOUT) if reader.has(model.OCI_LAYOUT)
              else gojson({"imageLayoutVersion": "1.0.0"}))
    files.append((model.OCI_LAYOUT, layout))
    return files


_NAME_KEYS = (model.ANN_IMAGE_NAME, model.ANN_REF_NAME)


def _entry(before: list[Descriptor], digest: str, size: int, name: str | None) -> Descriptor:
    """The index entry of a rebuilt manifest under ``name`` (None: unnamed), keeping the
    platform, other annotations and unknown fields of the entry it replaces: the one that
    carried this name, else the image's first."""
    old = next((e for e in before if e.annotation(model.ANN_IMAGE_NAME) == name), None) or (
        before[0] if before else None)
    annotations = {k: v for k, v in (old.annotations or {}).items()
                   if k not in _NAME_KEYS} if old else {}
    if name is not None:
        annotations = {model.ANN_IMAGE_NAME: name,
                       model.ANN_REF_NAME: split_tag(name)[1] or DEFAULT_TAG, **annotations}
    return Descriptor(model.MT_OCI_MANIFEST, digest, size, annotations or None,
                      old.platform if old else None, old.extra if old else {})


def _write_atomic(reader: ArchiveReader, out: Path, new: list[tuple[str, bytes]],
                  dropped: set[str], gz: bool, progress: Progress | None,
                  verify: Callable[[Path], None]) -> None:
    """Write the repaired archive beside ``out``, ``verify`` it, rename it into place; the
    replaced file's permissions are kept (a new file gets 0666 less the umask)."""
    out_dir = out.parent if str(out.parent) else Path(".")
    if not out_dir.is_dir():
        what = "is not a directory" if out_dir.exists() else "does not exist"
        raise RepairError(f"cannot write {out}: {out_dir} {what}; create the directory or "
                          "choose another -o")
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(atomic_write(out, mode=KEEP, check=verify))
        except OSError as exc:
            raise RepairError(f"cannot write {out}: {exc.strerror} in {out_dir}; choose -o in "
                              "a directory you can write") from exc
        if gz:
            with GzipWriter(raw, level=1) as fh:
                _write(reader, fh, new, dropped, progress)  # type: ignore[arg-type]
        else:
            _write(reader, raw, new, dropped, progress)


def _write(reader: ArchiveReader, fh: BinaryIO, new: list[tuple[str, bytes]],
           dropped: set[str], progress: Progress | None) -> None:
    """Copy every member not ``dropped`` in archive order, then append ``new``.

    A plain tar is copied member by member (in-kernel where possible). A streamed input
    (gzip) is read once more from the start and each member's data is written as it
    passes, so memory stays bounded whatever the size; ``progress`` gets the bytes read."""
    if reader.streamed:
        _write_streamed(reader, fh, dropped, progress)
    else:
        for member in reader.members.values():
            if member.name in dropped:
                continue
            fh.write(_header(member.name, member))
            if member.kind != FILE:
                continue
            reader.copy_member(member.name, fh)
            if progress is not None:
                progress(member.size)
            fh.write(bytes(-member.size % BLOCK))
    for path, data in new:
        fh.write(_header(path, Member(path, FILE, len(data), 0)))
        fh.write(data + bytes(-len(data) % BLOCK))
    fh.write(bytes(2 * BLOCK))


def _write_streamed(reader: ArchiveReader, fh: BinaryIO, dropped: set[str],
                    progress: Progress | None) -> None:
    order = list(reader.members.values())
    pos = 0  # the next member in ``order`` whose header is not written yet

    def upto(name: str | None) -> None:
        """Write headers (and empty bodies) of members before ``name``, then its header."""
        nonlocal pos
        while pos < len(order):
            m = order[pos]
            pos += 1
            if m.name not in dropped:
                fh.write(_header(m.name, m))
            if m.name == name:
                return

    current: list[Member | None] = [None]
    written = [0]

    def sink(member: Member, chunk: bytes) -> None:
        if current[0] is not member:
            finish()
            current[0] = member
            upto(member.name)
        if member.name not in dropped:
            fh.write(chunk)
            written[0] += len(chunk)

    def finish() -> None:
        m = current[0]
        if m is not None and m.name not in dropped:
            fh.write(bytes(-m.size % BLOCK))
        current[0] = None

    assert reader.path is not None
    with reader.path.open("rb") as f:
        stream: Any = Counted(f, progress)  # progress: bytes read from the file
        if reader.compressed:
            stream = GzipStream(stream, reader.limits)
        walk(StreamSource(stream, sink), reader.limits)
    finish()
    upto(None)


def _header(name: str, member: Member) -> bytes:
    """The member's header as ``docker save`` writes one (the archive writer's), mtime 0."""
    if member.kind == DIR:
        return tar_header(name, DIRTYPE, 0, 0, 0o40755)
    if member.kind == SYMLINK:
        return tar_header(name, SYMTYPE, 0, 0, 0o120777, _link_text(member))
    if member.kind == HARDLINK:
        return tar_header(name, LNKTYPE, 0, 0, 0o100644, _link_text(member))
    return tar_header(name, REGTYPE, member.size, 0, 0o100644)


def _link_text(member: Member) -> str:
    """A symlink's target relative to its own directory (as it was stored)."""
    if member.kind == HARDLINK:
        return member.link
    return os.path.relpath(member.link, os.path.dirname(member.name) or ".")
