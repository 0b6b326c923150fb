"""Which node the doctor predicts for: a kind release, and the containerd its nodes run.

What kind's import command accepts, rejects and prints depends on the node's containerd:
containerd 1.x reads only a plain tar (a gzip'd archive fails at the first header), 2.x
reads gzip too; 2.0 wraps each import error in a gRPC status (``rpc error: code = Unknown desc = ``,
``code = NotFound`` for a missing blob);
the text of some errors changed between releases. The error texts below were measured
with kind's exact command against the real containerd of each kind release (the doctor's
differential suite, ``tests/doctor/test_doctor_differential.py``, checks every one of
them on every run). Standard library only: the one-file download imports this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# kind release -> the containerd its node image runs (kind images/base/Dockerfile,
# CONTAINERD_VERSION). Kept equal to engines.KIND_CONTAINERD by a test.
KIND_CONTAINERD: dict[str, str] = {
    "v0.20.0": "1.7.1",
    "v0.26.0": "1.7.24",
    "v0.27.0": "2.0.2",
    "v0.30.0": "2.1.4",
    "v0.33.0": "2.3.4",
}
DEFAULT_KIND = "v0.33.0"  # the newest kind release the handbook measured

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class NodeProfile:
    """A node the doctor predicts for; ``kind`` is "" when only containerd was given."""

    containerd: str
    kind: str = ""

    @property
    def version(self) -> tuple[int, int, int]:
        m = _VERSION.match(self.containerd)
        assert m is not None
        return int(m[1]), int(m[2]), int(m[3])

    @property
    def reads_gzip(self) -> bool:
        """containerd 2.x detects a compressed import stream; 1.x reads a plain tar only."""
        return self.version >= (2, 0, 0)

    @property
    def label(self) -> str:
        if self.kind:
            return f"kind {self.kind} (containerd {self.containerd})"
        return f"containerd {self.containerd}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "containerd": self.containerd}

    def ctr_error(self, text: str, *, status: str = "Unknown") -> str:
        """``text`` as kind's import command prints it on this node's ``ctr``. containerd
        2.0 passes the gRPC error through: ``status`` is its code (``NotFound`` for a missing
        blob, measured on 2.0.2; ``Unknown`` for the unpack errors)."""
        if (2, 0, 0) <= self.version < (2, 1, 3):  # measured: 2.0.2 and 2.1.1 do, 2.1.4 not
            return f"ctr: rpc error: code = {status} desc = {text}"
        return f"ctr: {text}"


def node_profile(spec: str | None = None) -> NodeProfile:
    """``v0.20.0`` (a kind release) or ``containerd-1.7.1`` / ``1.7.1`` (a containerd)."""
    from ..errors import UsageError

    spec = (spec or DEFAULT_KIND).strip()
    key = spec if spec.startswith("v") else f"v{spec}"
    if key in KIND_CONTAINERD:
        return NodeProfile(KIND_CONTAINERD[key], key)
    version = spec.removeprefix("containerd-").removeprefix("containerd:")
    if _VERSION.match(version) and not spec.startswith(("v0.", "0.")):
        return NodeProfile(version)
    known = ", ".join(KIND_CONTAINERD)
    raise UsageError(f"unknown node {spec!r}: give a kind release ({known}) or a containerd "
                     "version such as containerd-1.7.24")
