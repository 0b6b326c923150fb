"""Benchmark the doctor against cp, openssl and skopeo on 13-layer archives.

    .venv/bin/python benchmarks/bench_doctor.py [--sizes 10M,200M,1G] [--cache DIR]

The corpus (Docker 25.0.0-shaped archives: layers rotated in the OCI manifest, legacy half
correct) is generated once into ``--cache`` (default ``build/bench/`` of this checkout, a
build output, not committed) from incompressible random data. Every command runs
page-cached, once per size, in one run, under ``/usr/bin/time -v`` for peak RSS. Targets
(issue 7): diagnose <= 0.25 s and flat; diagnose --verify <= 1.0x openssl; repair >= 4x
faster than skopeo and <= 3x cp; peak RSS <= 64 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tarfile
import time
from pathlib import Path

from runbook_exec import proc

LAYERS = 13
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
EXE = Path(sys.executable).parent / "runbook-exec"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "build" / "bench"


def _gojson(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _pad(n: int) -> bytes:
    return bytes(-n % 512)


def build_archive(path: Path, total: int) -> None:
    """A 13-layer Docker 25.0.0-style archive of about ``total`` bytes, written fast."""
    per = max(total // LAYERS // (1 << 20), 1) << 20
    chunk = os.urandom(1 << 20)
    tmp = path.with_suffix(".partial")
    diff_ids = []
    with tmp.open("wb") as out:
        sizes = []
        for i in range(LAYERS):
            # a layer is a tar holding one file of random data; distinct per layer
            body_head = _header(f"data{i}", per)
            layer_size = len(body_head) + per + 1024
            # hash first (the blob's name is its digest), then write it
            h = hashlib.sha256(body_head)
            data_prefix = i.to_bytes(8, "big")
            for k in range(per >> 20):
                h.update(data_prefix + chunk[8:] if k == 0 else chunk)
            h.update(bytes(1024))
            digest = "sha256:" + h.hexdigest()
            diff_ids.append(digest)
            out.write(_header(f"blobs/sha256/{digest[7:]}", layer_size))
            out.write(body_head)
            for k in range(per >> 20):
                out.write(data_prefix + chunk[8:] if k == 0 else chunk)
            out.write(bytes(1024))
            out.write(_pad(layer_size))
            sizes.append(layer_size)
        config = _gojson({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}})
        cdigest = "sha256:" + hashlib.sha256(config).hexdigest()
        rotated = list(range(5, LAYERS)) + list(range(5))  # what Go's map order gives
        manifest = _gojson({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdigest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": diff_ids[i], "size": sizes[i]} for i in rotated],
        })
        mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        index = _gojson({"schemaVersion": 2,
                         "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                        "digest": mdigest, "size": len(manifest),
                                        "annotations": {
                                            "io.containerd.image.name": "docker.io/library/demo:v1",
                                            "org.opencontainers.image.ref.name": "v1"}}]})
        legacy = _gojson([{"Config": f"blobs/sha256/{cdigest[7:]}", "RepoTags": ["demo:v1"],
                           "Layers": [f"blobs/sha256/{d[7:]}" for d in diff_ids]}])
        for name, data in [(f"blobs/sha256/{cdigest[7:]}", config),
                           (f"blobs/sha256/{mdigest[7:]}", manifest), ("index.json", index),
                           ("manifest.json", legacy),
                           ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("repositories", _gojson({"demo": {"v1": cdigest[7:]}}))]:
            out.write(_header(name, len(data)) + data + _pad(len(data)))
        out.write(bytes(1024))
    tmp.rename(path)


def timed(argv: list[str], *, rss: bool = False, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall time of argv (and peak RSS in KiB with /usr/bin/time -v)."""
    full = ["/usr/bin/time", "-v", *argv] if rss else argv
    t0 = time.perf_counter()
    res = proc.run(full, timeout=900, check=False, echo=False)
    elapsed = time.perf_counter() - t0
    if res.returncode not in ok:
        cmd = proc.quote_argv(argv)
        raise SystemExit(f"{cmd} failed ({res.returncode}):\n{res.output[-2000:]}")
    peak = 0
    if rss:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
        peak = int(m.group(1)) if m else 0
    return elapsed, peak


def bench(path: Path, work: Path) -> dict[str, tuple[float, int]]:
    out = work / "out.tar"
    proc.run(["cat", str(path)], timeout=600, echo=False)  # page-cache it
    r: dict[str, tuple[float, int]] = {}
    r["cp"] = timed(["cp", str(path), str(out)])
    out.unlink()
    r["openssl"] = timed(["openssl", "dgst", "-sha256", str(path)])
    r["skopeo"] = timed(["skopeo", "copy", "-q", f"docker-archive:{path}",
                         f"docker-archive:{out}:docker.io/library/demo:v1"])
    out.unlink()
    r["diagnose"] = timed([str(EXE), "doctor", "diagnose", str(path)], rss=True, ok=(1,))
    r["verify"] = timed([str(EXE), "doctor", "diagnose", "--verify", str(path)], rss=True, ok=(1,))
    r["repair"] = timed([str(EXE), "doctor", "repair", str(path), "-o", str(out)], rss=True)
    out.unlink()
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10M,200M,1G")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR")
    args = ap.parse_args()
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{'size':>6} {'cp':>6} {'openssl':>8} {'skopeo':>7} {'diagnose':>9} {'verify':>7} "
          f"{'repair':>7} | verify/openssl  skopeo/repair  repair/cp  max RSS MB")
    worst_rss = 0
    for label in args.sizes.split(","):
        total = int(label[:-1]) * UNITS[label[-1].upper()]
        path = cache / f"demo-{label}.tar"
        if not path.exists():
            print(f"building {path} ...", file=sys.stderr)
            build_archive(path, total)
        r = bench(path, cache)
        t = {k: v[0] for k, v in r.items()}
        rss = max(v[1] for v in r.values()) / 1024
        worst_rss = max(worst_rss, rss)
        print(f"{label:>6} {t['cp']:6.2f} {t['openssl']:8.2f} {t['skopeo']:7.2f} "
              f"{t['diagnose']:9.3f} {t['verify']:7.2f} {t['repair']:7.2f} | "
              f"{t['verify'] / t['openssl']:13.2f}x {t['skopeo'] / t['repair']:13.1f}x "
              f"{t['repair'] / t['cp']:9.2f}x {rss:10.1f}")
    print("targets: diagnose <= 0.25 s flat; verify/openssl <= 1.0; skopeo/repair >= 4; "
          "repair/cp <= 3; RSS <= 64 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
