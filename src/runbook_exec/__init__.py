"""runbook_exec: executes the handbook's runbooks; carries the lab and the archive doctor.

Public surface (kept honest by ``tests/test_public_api.py``)::

    runbook_exec.lab       the sandbox/live kind node and Docker engine a runbook drives
    runbook_exec.archive   docker-save archives: read, write, stream (both layouts)
    runbook_exec.writers   ``docker save`` as each Docker release wrote it
    runbook_exec.doctor    diagnose, repair, safe load
    runbook_exec.errors    the exception tree
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("runbook-exec")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
