"""The only module that runs subprocesses.

Every command is an argv list (never a shell), has a timeout, is echoed before it runs
(so a runbook reader can paste it), and has its output captured. A failure raises
:class:`~runbook_exec.errors.CommandError` carrying argv, exit status and output tail.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import CommandError, CommandTimeout, MissingDependencyError

__all__ = [
    "other_processes",
    "Echo",
    "Result",
    "echo",
    "echo_to",
    "echo_to_stdout",
    "log_tail",
    "pid_alive",
    "quiet",
    "quote_argv",
    "run",
    "set_echo",
    "spawn",
    "stop",
    "terminations",
]

Echo = Callable[[str], None]


def quote_argv(argv: Sequence[str]) -> str:
    """Return argv as one line a reader can paste into a POSIX shell."""
    return shlex.join(str(a) for a in argv)


def _default_echo(line: str) -> None:
    print(f"$ {line}", file=sys.stderr, flush=True)


_echo: Echo | None = _default_echo


def set_echo(echo: Echo | None) -> None:
    """Choose where commands are echoed (``None``: don't echo; default: stderr).

    Runbooks echo to stdout (:func:`echo_to_stdout`)."""
    global _echo
    _echo = echo


@contextlib.contextmanager
def echo_to(echo: Echo | None) -> Iterator[None]:
    """Echo to ``echo`` inside the block (``None``: nothing); the echo before is restored on
    the way out, error or not."""
    global _echo
    saved, _echo = _echo, echo
    try:
        yield
    finally:
        _echo = saved


def quiet() -> contextlib.AbstractContextManager[None]:
    """Echo nothing inside the block (steps a reader need not repeat); restored on error."""
    return echo_to(None)


def echo(line: str) -> None:
    """Echo ``line`` as a command would be (for steps done through an API, not a CLI)."""
    if _echo is not None:
        _echo(line)


def echo_to_stdout() -> None:
    """Echo each command to stdout as ``$ cmd`` (what a runbook wants)."""
    set_echo(lambda line: print(f"$ {line}", flush=True))


@dataclass(frozen=True)
class Result:
    """What a finished command gave: argv, exit status, combined or split output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout then stderr, as a terminal would mostly show them."""
        return self.stdout + self.stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def command(self) -> str:
        return quote_argv(self.argv)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    input: bytes | None = None,
    stdin: IO[bytes] | Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    echo: bool = True,
    display: Sequence[str] | None = None,
    merge_stderr: bool = False,
) -> Result:
    """Run ``argv`` to completion and return its :class:`Result`.

    ``stdin`` may be an open binary file or a path (opened here and closed after); ``input``
    is bytes. ``display`` replaces argv in the echo (e.g. to show ``... - < images.tar``).
    With ``check`` a non-zero exit raises :class:`CommandError`; a timeout always raises
    :class:`CommandTimeout` after killing the process group.
    """
    argv = [str(a) for a in argv]
    if echo:
        shown = quote_argv(display) if display is not None else quote_argv(argv)
        if isinstance(stdin, Path):
            shown += f" < {stdin}"
        if _echo is not None:
            _echo(shown)
    opened: IO[bytes] | None = None
    try:
        if isinstance(stdin, Path):
            opened = stdin.open("rb")
            stdin_arg: IO[bytes] | int | None = opened
        elif stdin is not None:
            stdin_arg = stdin
        else:
            stdin_arg = subprocess.PIPE if input is not None else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                argv,
                stdin=stdin_arg,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise MissingDependencyError(
                f"{argv[0]}: command not found; run `bash scripts/install-system-deps.sh` as root"
            ) from exc
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            text = _decode(out) + _decode(err)
            raise CommandTimeout(argv, None, text, note=f"timed out after {timeout:g}s") from None
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise
    finally:
        if opened is not None:
            opened.close()
    result = Result(tuple(argv), proc.returncode, _decode(out), _decode(err))
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, result.output)
    return result


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    echo: bool = False,
    die_with_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start a long-running daemon in its own process group, output to ``log``.

    With ``die_with_parent`` the kernel sends it SIGTERM when the process that started it
    dies (Linux ``PR_SET_PDEATHSIG``), so a killed runbook kernel leaves no daemon behind.
    The caller owns the returned process and must :func:`stop` it.
    """
    argv = [str(a) for a in argv]
    if echo and _echo is not None:
        _echo(quote_argv(argv) + " &")
    logf = log.open("ab")
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_pdeathsig if die_with_parent else None,
        )
    except FileNotFoundError as exc:
        raise MissingDependencyError(
            f"{argv[0]}: command not found; run `bash scripts/install-system-deps.sh` as root"
        ) from exc
    finally:
        logf.close()


def stop(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> int | None:
    """Stop a spawned daemon: SIGTERM to its group, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return proc.poll()
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return proc.wait()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _pdeathsig() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def other_processes() -> Iterator[Path]:
    """``/proc/<pid>`` of every process but this one (each may vanish while it is read)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != me:
            yield entry


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def terminations(handler: Callable[[int], None]) -> Iterator[None]:
    """Call ``handler(signum)`` on SIGTERM and SIGHUP while the block runs; the previous
    handlers come back afterwards. SIGINT stays a KeyboardInterrupt. Outside the main thread
    (where Python cannot set handlers) the block runs unchanged."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, lambda signum, _frame: handler(signum))
                for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a daemon's log, for an error message; "(no log)" if none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])
