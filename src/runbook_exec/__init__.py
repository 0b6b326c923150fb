"""runbook_exec: executes the handbook's runbooks; carries the lab and the archive doctor.

Public surface (kept honest by ``tests/test_public_api.py``)::

    runbook_exec.lab       the sandbox/live kind node and Docker engine a runbook drives
    runbook_exec.archive   docker-save archives: read, write, stream (both layouts), the
                           typed model of their JSON; ``archive.refs``: image references
    runbook_exec.writers   ``docker save`` as each Docker release wrote it
    runbook_exec.doctor    diagnose, repair, safe load
    runbook_exec.engines   the real binaries (dockerd, containerd, kind, ...) built from Go
    runbook_exec.proc      subprocesses: run, spawn, stop, echo (``with proc.quiet():``)
    runbook_exec.errors    the exception tree

Runbooks import only these modules and the names in their ``__all__``.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Looked up lazily: importlib.metadata costs ~40 ms, paid by every `doctor diagnose`.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("runbook-exec")
        except PackageNotFoundError:  # a source tree without install
            return "0.0.0+source"
    raise AttributeError(f"module 'runbook_exec' has no attribute {name!r}")
