"""Finding the Go command and the environment an engine is built in.

Any Go >= 1.21 on the machine will do: ``GOTOOLCHAIN=go<version>`` makes it download and
run the exact toolchain the engine's release used (from the module proxy, once per machine).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import EngineError
from .table import EngineSpec

_CANDIDATES = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")


def go_binary(spec: EngineSpec | None = None) -> str:
    """The ``go`` command to start (``RUNBOOK_GO``, PATH, or the usual install places)."""
    explicit = os.environ.get("RUNBOOK_GO")
    if explicit:
        if not Path(explicit).is_file():
            raise EngineError(f"RUNBOOK_GO={explicit} does not exist; point it at a go binary")
        return explicit
    for candidate in (shutil.which("go"), *_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    who = f"engine {spec.name}: " if spec else ""
    raise EngineError(
        f"{who}step 'find go': no Go toolchain found; install Go >= 1.21 "
        "(https://go.dev/dl/, or `apt-get install golang-go` on Debian 13) or set RUNBOOK_GO"
    )


def go_env(spec: EngineSpec, *, mod: str = "readonly") -> dict[str, str]:
    """The environment of a build: the release's toolchain, no cgo, the pins read-only."""
    env = dict(os.environ)
    env.update(
        GOTOOLCHAIN=f"go{spec.go}",
        CGO_ENABLED="1" if spec.cgo else "0",
        GOFLAGS=f"-mod={mod}",
        GOWORK="off",
        GOOS="linux",
    )
    env.setdefault("GOPROXY", "https://proxy.golang.org,direct")
    return env
