"""The exception tree of runbook_exec. Every error a user can meet derives from one base.

::

    RunbookExecError                 base; the CLI prints ``str(exc)`` and exits non-zero
    ├── CommandError                 a subprocess failed (argv, status, output tail)
    │   └── CommandTimeout           ... or ran past its timeout (also a TimeoutError)
    ├── MissingDependencyError       a binary/package/privilege is missing; says how to get it
    ├── LabError                     a daemon of the lab could not start, answer or stop
    ├── ArchiveError                 a docker-save archive is unreadable or hostile (exit 2)
    │   └── UnsafeArchiveError       member names/links escape, devices
    ├── RepairError                  an archive cannot be repaired; says what to do instead
    ├── LoadError                    an import into a kind node failed or left it not unpacked
    ├── EngineError                  an engine (a real binary built from Go) is unknown,
    │                                unbuilt or failed to build; names the engine and the fix
    ├── ExecutorError                the executor itself (not a runbook) failed
    │   └── LedgerFormatError        the ledger file is not a ledger (also a ValueError)
    ├── SiteError                    a site plugin met input it cannot use
    │   └── IndexFormatError         the search index or a page is not Material 9's shape
    │                                (also a ValueError)
    └── UsageError                   a command used wrongly where argparse cannot see (exit 2)

Every class of the tree is defined here and nowhere else, and this module imports nothing
from the package (``tests/test_errors.py`` checks both against the drawing above).
Messages say what is wrong, where, and what to do.
"""

from __future__ import annotations

import shlex

__all__ = [
    "ArchiveError",
    "CommandError",
    "CommandTimeout",
    "EngineError",
    "ExecutorError",
    "IndexFormatError",
    "LabError",
    "LedgerFormatError",
    "LoadError",
    "MissingDependencyError",
    "RepairError",
    "RunbookExecError",
    "SiteError",
    "UnsafeArchiveError",
    "UsageError",
]


class RunbookExecError(Exception):
    """Base of every error raised on purpose by runbook_exec."""

    exit_code: int = 1


class CommandError(RunbookExecError):
    """A subprocess exited non-zero. ``str()`` is pasteable: the command, status, output tail."""

    def __init__(
        self, argv: list[str], returncode: int | None, output: str, note: str = ""
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.returncode = returncode
        self.output = output
        self.note = note
        super().__init__(self._message())

    def _message(self) -> str:
        tail = "\n".join(self.output.rstrip().splitlines()[-20:])
        head = f"command `{shlex.join(self.argv)}` failed with exit status {self.returncode}"
        if self.note:
            head += f" ({self.note})"
        return f"{head}\n{tail}" if tail else head


class CommandTimeout(CommandError, TimeoutError):
    """A subprocess ran past its timeout and was killed."""


class MissingDependencyError(RunbookExecError):
    """Something the lab needs is not installed or not permitted; the message names the fix."""

    exit_code = 3


class LabError(RunbookExecError):
    """A lab daemon (containerd, dockerd) could not start, answer or stop."""


class ArchiveError(RunbookExecError):
    """A docker-save archive cannot be read: not a tar, truncated, invalid JSON, ..."""

    exit_code = 2


class UnsafeArchiveError(ArchiveError):
    """An archive member tries to escape (``..``, absolute path, outside link) or is a device."""


class RepairError(RunbookExecError):
    """An archive cannot be repaired (e.g. a layer blob is missing)."""

    exit_code = 2


class EngineError(RunbookExecError):
    """An engine is unknown, not built, or its build failed (names the engine, step and fix)."""

    exit_code = 3


class LoadError(RunbookExecError):
    """The import into a node failed or left the image not unpacked."""


class ExecutorError(RunbookExecError):
    """The executor could not do its own job (not: a runbook failed)."""

    exit_code = 2


class LedgerFormatError(ExecutorError, ValueError):
    """The ledger file exists but is not a ledger this code can read."""


class SiteError(RunbookExecError):
    """A site plugin met input it cannot use (the build stops with this message)."""

    exit_code = 2


class IndexFormatError(SiteError, ValueError):
    """The search index or a page is not shaped like Material 9's output."""


class UsageError(RunbookExecError):
    """A command used the wrong way that argparse cannot see (e.g. ``lab live`` without a
    command to run)."""

    exit_code = 2
