"""One long-running daemon a room starts and must stop: spawn, wait until it answers, stop.

Used by the lab (its containerd, its registry) and free of lab knowledge, so any room may use
it; the executor uses :class:`Closing` only. A daemon is started in its own process group
with its output in a log file (:func:`runbook_exec.proc.spawn`), optionally in a private
mount namespace (``unshare --mount --propagation private``) so the mounts it makes vanish
with it even when its owner is SIGKILLed. Starting waits until a probe says it answers; if it
exits first or never answers, :class:`~runbook_exec.errors.LabError` says so with the tail
of its log.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from . import proc
from .errors import LabError

__all__ = ["Closing", "Daemon", "in_private_mounts"]

Probe = Callable[[], bool]


class Closing:
    """``with x:`` closes ``x`` on the way out, error or not; ``__enter__`` returns ``x``.

    Subclasses define :meth:`close` (and may override ``__enter__`` to start first).
    """

    def close(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def in_private_mounts(argv: Sequence[str]) -> list[str]:
    """``argv`` run inside a new private mount namespace, or as is where ``unshare`` is absent."""
    unshare = shutil.which("unshare")
    argv = [str(a) for a in argv]
    return [unshare, "--mount", "--propagation", "private", *argv] if unshare else argv


class Daemon(Closing):
    """One daemon process. ``start(probe)`` spawns it and waits; ``close()`` stops it.

    ``name`` is how messages call it; ``where`` is what the probe talks to (a socket, a URL).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log: Path,
        where: str,
        env: Mapping[str, str] | None = None,
        private_mounts: bool = False,
        ready_timeout: float = 15.0,
        grace: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = in_private_mounts(argv) if private_mounts else [str(a) for a in argv]
        self.log = log
        self.where = where
        self.env = env
        self.ready_timeout = ready_timeout
        self.grace = grace
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, probe: Probe, *, interval: float = 0.05) -> None:
        """Spawn the daemon and return once ``probe()`` is true; stop it and raise if not."""
        if self._proc is not None:
            return
        self._proc = proc.spawn(self.argv, log=self.log, env=self.env)
        try:
            self._wait(probe, interval)
        except BaseException:
            self.close()
            raise

    def _wait(self, probe: Probe, interval: float) -> None:
        deadline = time.monotonic() + self.ready_timeout
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise LabError(
                    f"{self.name} exited with status {self._proc.returncode} while starting; "
                    f"its log ({self.log}) ends:\n{self.log_tail()}"
                )
            if probe():
                return
            if time.monotonic() > deadline:
                raise LabError(
                    f"{self.name} did not answer on {self.where} within "
                    f"{self.ready_timeout:g}s; its log ({self.log}) ends:\n{self.log_tail()}"
                )
            time.sleep(interval)

    def log_tail(self, lines: int = 15) -> str:
        return proc.log_tail(self.log, lines)

    def close(self) -> None:
        """Stop the daemon: SIGTERM to its group, SIGKILL after ``grace`` seconds."""
        if self._proc is not None:
            proc.stop(self._proc, grace=self.grace)
            self._proc = None
