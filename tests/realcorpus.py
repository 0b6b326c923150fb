"""Archives made by the real producers on this machine, for the doctor's differential suite.

Every archive here comes from a real tool: the lab's real Docker engines (``docker save`` of
24.0.7, 25.0.0, 25.0.3, 29.8.1 with and without the containerd image store), skopeo,
podman (both formats), buildah, umoci, ``ctr export`` of a real containerd, and gzip'd
copies. Nothing is written by hand except the small layer contents the images carry.

:func:`make_corpus` builds them all into one directory once per test session (a few
minutes of real engines); each :class:`Case` names the producer and the image names a
Pod would use.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runbook_exec.lab import Engine, Node

# (engine label, Docker release, containerd image store?)
ENGINES = [
    ("d24", "24.0.7", False),
    ("d250", "25.0.0", False),
    ("d253", "25.0.3", False),
    ("d29", "29.8.1", True),
    ("d29g", "29.8.1", False),
]


@dataclass
class Case:
    """One real archive: who made it and how."""

    name: str
    path: Path
    producer: str  # the command, as a user would type it
    refs: list[str] = field(default_factory=list)  # names the producer was asked to write


def _content(seed: str, n: int) -> list[bytes]:
    """Layer contents; ``n`` distinct ones, deterministic per seed."""
    return [f"{seed} layer {i}\n".encode() * (i + 1) for i in range(n)]


def _run(argv: list[str], **kw: object) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({res.returncode}): "
                           f"{(res.stderr or res.stdout).strip()[-600:]}")
    return str(res.stdout)


def _gzip(src: Path, dest: Path) -> Path:
    with src.open("rb") as fi, gzip.open(dest, "wb", compresslevel=1) as fo:
        shutil.copyfileobj(fi, fo)
    return dest


def _docker_cases(out: Path, add: Callable[[Case], None]) -> None:
    for label, release, c8d in ENGINES:
        with Engine(release, containerd_store=c8d) as engine:
            a = f"{label}-alpha:v1"
            b = f"{label}-beta:v1"
            c = f"{label}/gamma:v2"
            ca, cb = _content(f"{label}-a", 3), _content(f"{label}-b", 3)
            engine.build(a, ca)
            # a repeated layer (0 == 2): what Docker 25.0.0 collapses
            engine.build(b, [cb[0], cb[1], cb[0], cb[2]])
            built_c = engine.build(c, _content(f"{label}-c", 2))
            store = (" (containerd image store)" if c8d else
                     " (graphdriver store)" if release.startswith("29") else "")
            what = f"docker {release}{store}"
            for tag, refs in (("alpha", [a]), ("beta", [b]), ("multi", [a, b])):
                path = engine.save(refs, out / f"{label}-{tag}.tar")
                add(Case(f"{label}-{tag}", path, f"{what}: docker save {' '.join(refs)}", refs))
            # saved by image ID: no name in the archive
            path = engine.save([built_c.image_id], out / f"{label}-byid.tar")
            add(Case(f"{label}-byid", path, f"{what}: docker save <image id>", []))
            path = engine.save([c], out / f"{label}-gamma.tar")
            add(Case(f"{label}-gamma", path, f"{what}: docker save {c}", [c]))
            for tag in ("alpha", "beta"):
                gz = _gzip(out / f"{label}-{tag}.tar", out / f"{label}-{tag}.tar.gz")
                add(Case(f"{label}-{tag}-gz", gz, f"{what}: docker save | gzip",
                         [a if tag == "alpha" else b]))


def _skopeo_cases(out: Path, add: Callable[[Case], None]) -> None:
    src = out / "d253-alpha.tar"
    if not src.exists():
        return
    jobs = [
        ("skopeo-oci", f"oci-archive:{out / 'skopeo-oci.tar'}:sk-alpha:v1", [], "sk-alpha:v1"),
        ("skopeo-oci-localhost", f"oci-archive:{out / 'skopeo-oci-localhost.tar'}"
         ":localhost/sk-alpha:v2", [], "localhost/sk-alpha:v2"),
        ("skopeo-oci-gzip", f"oci-archive:{out / 'skopeo-oci-gzip.tar'}:sk-alpha:v3",
         ["--dest-compress", "--dest-compress-format", "gzip"], "sk-alpha:v3"),
        ("skopeo-docker", f"docker-archive:{out / 'skopeo-docker.tar'}:sk/alpha:v4", [],
         "sk/alpha:v4"),
        ("skopeo-oci-noname", f"oci-archive:{out / 'skopeo-oci-noname.tar'}", [], ""),
    ]
    for name, dest, extra, ref in jobs:
        argv = ["skopeo", "copy", "-q", *extra, f"docker-archive:{src}", dest]
        _run(argv)
        add(Case(name, out / f"{name}.tar", " ".join(argv).replace(str(out) + "/", ""),
                 [ref] if ref else []))


def _podman(store: Path, *args: str) -> str:
    return _run(["podman", "--root", str(store / "root"), "--runroot", str(store / "run"),
                 "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                 "--events-backend", "none", *args])


def _podman_cases(out: Path, add: Callable[[Case], None], work: Path) -> None:
    if shutil.which("podman") is None:
        return
    src = out / "d253-multi.tar"
    store = work / "podman"
    _podman(store, "load", "-q", "-i", str(src))
    _podman(store, "tag", "localhost/d253-alpha:v1", "pm-alpha:v1")
    _podman(store, "tag", "localhost/d253-beta:v1", "pm-beta:v1")
    for fmt, suffix in (("oci-archive", "oci"), ("docker-archive", "docker")):
        path = out / f"podman-{suffix}.tar"
        _podman(store, "save", "-q", "--format", fmt, "-o", str(path), "pm-alpha:v1")
        add(Case(f"podman-{suffix}", path, f"podman save --format {fmt} pm-alpha:v1",
                 ["localhost/pm-alpha:v1"]))
    path = out / "podman-multi.tar"
    _podman(store, "save", "-q", "-m", "-o", str(path), "pm-alpha:v1", "pm-beta:v1")
    add(Case("podman-multi", path, "podman save -m pm-alpha:v1 pm-beta:v1",
             ["localhost/pm-alpha:v1", "localhost/pm-beta:v1"]))


def _buildah(store: Path, *args: str) -> str:
    return _run(["buildah", "--root", str(store / "root"), "--runroot", str(store / "run"),
                 "--storage-driver", "vfs", *args])


def _buildah_cases(out: Path, add: Callable[[Case], None], work: Path) -> None:
    if shutil.which("buildah") is None:
        return
    store = work / "buildah"
    ctx = work / "buildah-ctx"
    ctx.mkdir()
    (ctx / "data").write_bytes(b"buildah layer\n" * 64)
    cid = _buildah(store, "from", "scratch").strip()
    _buildah(store, "copy", cid, str(ctx / "data"), "/data")
    _buildah(store, "commit", "-q", cid, "bh-alpha:v1")
    for fmt, suffix in (("oci-archive", "oci"), ("docker-archive", "docker")):
        path = out / f"buildah-{suffix}.tar"
        _buildah(store, "push", "-q", "localhost/bh-alpha:v1", f"{fmt}:{path}:bh-alpha:v1")
        add(Case(f"buildah-{suffix}", path, f"buildah push bh-alpha:v1 {fmt}:…:bh-alpha:v1",
                 ["bh-alpha:v1"]))
    _buildah(store, "rm", cid)


def _tar_dir(layout: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w") as tf:
        for p in sorted(layout.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(layout)), recursive=False)
    return dest


def _umoci_cases(out: Path, add: Callable[[Case], None], work: Path) -> None:
    if shutil.which("umoci") is None:
        return
    layout = work / "umoci"
    _run(["umoci", "init", "--layout", str(layout)])
    _run(["umoci", "new", "--image", f"{layout}:um-alpha"])
    bundle = work / "umoci-bundle"
    _run(["umoci", "unpack", "--image", f"{layout}:um-alpha", str(bundle)])
    (bundle / "rootfs" / "data").write_bytes(b"umoci layer\n" * 32)
    _run(["umoci", "repack", "--image", f"{layout}:um-alpha", str(bundle)])
    _run(["umoci", "tag", "--image", f"{layout}:um-alpha", "docker.io/library/um-alpha:v1"])
    path = _tar_dir(layout, out / "umoci.tar")
    add(Case("umoci", path, "umoci init/new/repack/tag, then tar -C layout .",
             ["docker.io/library/um-alpha:v1"]))


def _ctr_cases(out: Path, add: Callable[[Case], None]) -> None:
    """``ctr export`` from a real containerd that imported a Docker save."""
    with Node(kind="v0.33.0") as node:
        for src_name, ref, label in (
            ("d29-alpha.tar", "docker.io/library/d29-alpha:v1", "ctr-export-c8d"),
            ("d253-alpha.tar", "docker.io/library/d253-alpha:v1", "ctr-export-d253"),
        ):
            src = out / src_name
            if not src.exists() or not node.load(src).ok:
                continue
            path = out / f"{label}.tar"
            # --local: ctr writes the archive itself; through 2.x's transfer service the
            # file came out empty once in a loaded full-suite run. Checked, retried once.
            for _ in range(2):
                node.ctr("-n", "k8s.io", "images", "export", "--local", str(path), ref)
                if path.stat().st_size > 0:
                    break
            if path.stat().st_size == 0:
                raise RuntimeError(f"ctr images export wrote an empty {path.name}")
            add(Case(label, path, f"ctr -n k8s.io images export --local {label}.tar {ref} "
                     "(containerd 2.3.4)", [ref]))
        # `ctr export` of a gzip-layer image, gzip'd
        gz_src = out / "ctr-export-c8d.tar"
        if gz_src.exists():
            gz = _gzip(gz_src, out / "ctr-export-c8d.tar.gz")
            add(Case("ctr-export-c8d-gz", gz, "ctr images export … | gzip",
                     ["docker.io/library/d29-alpha:v1"]))


def make_corpus(out: Path) -> list[Case]:
    """Make every archive into ``out``; return the cases. The tools' stores live in a short
    temp dir under /tmp (podman refuses a runroot over 50 characters), removed after."""
    cases: list[Case] = []
    work = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))
    try:
        _docker_cases(out, cases.append)
        _skopeo_cases(out, cases.append)
        _podman_cases(out, cases.append, work)
        _buildah_cases(out, cases.append, work)
        _umoci_cases(out, cases.append, work)
        _ctr_cases(out, cases.append)
    finally:
        _remove_store(work)
    return cases


def _remove_store(work: Path) -> None:
    """Remove the stores (vfs keeps plain directories; buildah's container was removed and
    nothing stays mounted)."""
    shutil.rmtree(work, ignore_errors=True)
