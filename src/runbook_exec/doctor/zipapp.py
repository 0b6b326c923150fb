"""Build ``kind-doctor.pyz``: the doctor as one file a reader downloads and runs with
``python3 kind-doctor.pyz diagnose images.tar`` (Python >= 3.9, standard library only).

It carries the modules ``diagnose`` and ``repair`` need and nothing else (:data:`MODULES`;
no executor, no lab, no ``load``); a test runs it with a plain ``/usr/bin/python3 -I``
outside the venv on the differential corpus. ``site_url`` (mkdocs.yml's, at build time)
is baked in as ``site_url.txt`` so the download prints the same links as the site.

    python -m runbook_exec.doctor.zipapp OUT.pyz [--site-url URL]
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

from .. import files

PACKAGE = Path(__file__).resolve().parents[1]  # src/runbook_exec
MODULES = (
    "__init__.py",
    "errors.py",
    "files.py",
    "archive/__init__.py",
    "archive/model.py",
    "archive/reader.py",
    "archive/tarwalk.py",
    "archive/gzipout.py",
    "archive/gojson.py",
    "archive/refs.py",
    "archive/writer.py",
    "doctor/__init__.py",
    "doctor/commands.py",
    "doctor/diagnose.py",
    "doctor/findings.py",
    "doctor/load.py",
    "doctor/nodes.py",
    "doctor/repair.py",
    "doctor/standalone.py",
)
MAIN = b"""import sys
if sys.version_info < (3, 9):
    sys.exit("kind-doctor needs Python >= 3.9 (this is %d.%d)" % sys.version_info[:2])
from runbook_exec.doctor.standalone import main
sys.exit(main())
"""
_EPOCH = (2024, 1, 1, 0, 0, 0)  # fixed member times: the same sources give the same bytes


def build(dest: Path, site_url: str | None = None) -> Path:
    """Write the zipapp to ``dest`` (atomically: a temp file renamed into place)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)

        put("__main__.py", MAIN)
        for rel in MODULES:
            put(f"runbook_exec/{rel}", (PACKAGE / rel).read_bytes())
        put("runbook_exec/doctor/site_url.txt", (site_url or "").encode())
    dest.parent.mkdir(parents=True, exist_ok=True)
    files.write_bytes(dest, b"#!/usr/bin/env python3\n" + buf.getvalue(), mode=0o755)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="build kind-doctor.pyz")
    ap.add_argument("output", type=Path)
    ap.add_argument("--site-url", default=None)
    args = ap.parse_args(argv)
    print(build(args.output, args.site_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())

