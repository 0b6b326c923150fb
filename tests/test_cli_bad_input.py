"""Bad input to every ``runbook-exec`` command and to the top-level scripts.

The standard (README, issue 3/4/7): a clear one-line error naming the problem and what to
do, a non-zero exit, no traceback, and nothing written outside where it should be. Each
case runs the real CLI as a subprocess in its own working directory with its own TMPDIR,
then compares the directory before and after.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dsave
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "runbook_exec.cli"]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
IMG = dsave.make_image(3)
BAD = dsave.tar_bytes(dsave.docker25(IMG, order=[2, 0, 1]))  # 25.0.0 order: repairable
GOOD = dsave.tar_bytes(dsave.docker25(IMG))
OK_RUNBOOK = "# %%\nprint('ok')\n"


def can_drop_to_nobody() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with (size, mtime_ns, mode): what changed is what was written."""
    found = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return found


def changed(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)} - {"."}


@dataclass(frozen=True)
class Case:
    argv: list[str]
    code: int
    error: str  # regex the single stderr line must match
    setup: Callable[[Path], None] = lambda d: None
    writes: frozenset[str] = frozenset()  # paths (relative to cwd) the command may change
    env: dict[str, str] = field(default_factory=dict)
    nobody: bool = False  # run as uid 65534 (needs root to drop)


def files(content: dict[str, bytes | str], mode: int | None = None) -> Callable[[Path], None]:
    """Setup that writes ``content`` (relative path -> data), optionally chmod'ed ``mode``."""

    def setup(d: Path) -> None:
        for name, data in content.items():
            path = d / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, str):
                path.write_text(data)
            else:
                path.write_bytes(data)
            if mode is not None:
                path.chmod(mode)

    return setup


def chain(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        for step in steps:
            step(d)

    return setup


def mkdir(name: str, mode: int = 0o755) -> Callable[[Path], None]:
    return lambda d: (d / name).mkdir(mode=mode)


def chmod(name: str, mode: int) -> Callable[[Path], None]:
    return lambda d: (d / name).chmod(mode)


def fifo(name: str) -> Callable[[Path], None]:
    return lambda d: os.mkfifo(d / name)


def record_without_status(d: Path) -> None:
    (d / "build").mkdir()
    (d / "build/ledger.json").write_text('{"format": 1, "runbooks": {"x": {"name": "x"}}}')


def _runbooks(d: Path) -> None:
    (d / "runbooks").mkdir()
    (d / "runbooks/ok.py").write_text(OK_RUNBOOK)


CASES: dict[str, Case] = {
    # -- the switchboard
    "no-args": Case([], 2, r"^runbook-exec: error: the following arguments are required: COMMAND"),
    "unknown-subcommand": Case(["frobnicate"], 2, r"invalid choice: 'frobnicate'.*--help"),
    "doctor-no-action": Case(["doctor"], 2, r"^runbook-exec doctor: error: .*ACTION"),
    # -- run: flags
    "run-timeout-zero": Case(["run", "--timeout", "0"], 2, r"--timeout: must be more than 0"),
    "run-timeout-negative": Case(["run", "--timeout", "-5"], 2, r"--timeout: must be more than 0"),
    "run-timeout-word": Case(["run", "--timeout", "soon"], 2, r"'soon' is not a number of seconds"),
    "run-timeout-nan": Case(["run", "--timeout", "nan"], 2, r"'nan' is not a finite number"),
    "run-deadline-inf": Case(["run", "--deadline", "inf"], 2, r"'inf' is not a finite number"),
    "run-jobs-zero": Case(["run", "-j", "0"], 2, r"-j/--jobs: must be at least 1"),
    "run-jobs-negative": Case(["run", "-j", "-2"], 2, r"-j/--jobs: must be at least 1"),
    "run-jobs-word": Case(["run", "-j", "many"], 2, r"'many' is not a number or 'auto'"),
    # -- run: paths
    "run-missing-path": Case(["run", "nope.py"], 2, r"nope\.py: no such file or directory"),
    "run-no-runbooks-dir": Case(["run"], 2, r"no runbooks directory here"),
    "run-empty-dir": Case(["run", "empty"], 2, r"no runbooks found", mkdir("empty")),
    "run-wrong-suffix": Case(["run", "notes.txt"], 2, r"notes\.txt: not a runbook",
                             files({"notes.txt": "hi"})),
    "run-build-is-a-file": Case(["run", "--build", "bf", "runbooks/ok.py"], 2,
                                r"--build bf: bf is a file, not a directory",
                                chain(_runbooks, files({"bf": "x"}))),
    "run-target-bogus": Case(["run"], 2, r"RUNBOOK_TARGET='bogus' is not a target; set it to",
                             _runbooks, env={"RUNBOOK_TARGET": "bogus"}),
    "run-unreadable-runbook-nobody": Case(
        ["run", "runbooks/ok.py"], 2, r"runbooks/ok\.py: cannot read the runbook: Permission denied",
        chain(_runbooks, chmod("runbooks/ok.py", 0)), nobody=True),
    "run-build-not-writable-nobody": Case(
        ["run", "--build", "b", "runbooks/ok.py"], 2,
        r"cannot write to the build directory b: Permission denied",
        chain(_runbooks, mkdir("b", 0o755)), nobody=True),
    # -- status
    "status-corrupt-ledger": Case(["status"], 2, r"build/ledger\.json is not valid JSON.*delete it",
                                  files({"build/ledger.json": "{garbage"})),
    "status-empty-ledger": Case(["status"], 2, r"is not valid JSON", files({"build/ledger.json": ""})),
    "status-ledger-not-utf8": Case(["status"], 2, r"is not UTF-8 text",
                                   files({"build/ledger.json": b"\xff\xfe{}"})),
    "status-ledger-wrong-shape": Case(["status"], 2, r"is not a format-1 ledger",
                                      files({"build/ledger.json": "[1, 2]"})),
    "status-record-incomplete": Case(["status"], 2, r"the record of 'x' lacks status",
                                     record_without_status),
    "status-ledger-is-a-dir": Case(["status"], 2, r"cannot read the ledger build/ledger\.json: Is a "
                                   r"directory", lambda d: (d / "build/ledger.json").mkdir(parents=True)),
    "status-build-is-a-file": Case(["status", "--build", "f"], 2, r"f/ledger\.json: Not a directory",
                                   files({"f": "x"})),
    "status-ledger-unreadable-nobody": Case(
        ["status"], 2, r"cannot read the ledger build/ledger\.json: Permission denied",
        files({"build/ledger.json": "{}"}, 0), nobody=True),
    # -- doctor diagnose
    "diagnose-missing": Case(["doctor", "diagnose", "nope.tar"], 2, r"cannot open nope\.tar: No such"),
    "diagnose-directory": Case(["doctor", "diagnose", "d"], 2, r"d is a directory, not an archive",
                               mkdir("d")),
    "diagnose-empty": Case(["doctor", "diagnose", "e.tar"], 2, r"e\.tar is empty",
                           files({"e.tar": b""})),
    "diagnose-stdin-empty": Case(["doctor", "diagnose", "-"], 2, r"the archive is empty"),
    "diagnose-not-a-tar": Case(["doctor", "diagnose", "g.tar"], 2, r"not a tar archive",
                               files({"g.tar": b"garbage\n" * 200})),
    "diagnose-unreadable-nobody": Case(["doctor", "diagnose", "x.tar"], 2,
                                       r"cannot open x\.tar: Permission denied",
                                       files({"x.tar": BAD}, 0), nobody=True),
    # -- doctor repair
    "repair-no-output": Case(["doctor", "repair", "a.tar"], 2, r"repair needs -o OUT \(or --in-place\)",
                             files({"a.tar": BAD})),
    "repair-output-and-in-place": Case(["doctor", "repair", "a.tar", "-o", "o.tar", "--in-place"], 2,
                                       r"not allowed with argument", files({"a.tar": BAD})),
    "repair-output-is-input": Case(["doctor", "repair", "a.tar", "-o", "./a.tar"], 2,
                                   r"refusing to overwrite the input a\.tar", files({"a.tar": BAD})),
    "repair-output-dir-missing": Case(["doctor", "repair", "a.tar", "-o", "no/o.tar"], 2,
                                      r"cannot write no/o\.tar: no does not exist", files({"a.tar": BAD})),
    "repair-output-parent-is-file": Case(["doctor", "repair", "a.tar", "-o", "f/o.tar"], 2,
                                         r"f is not a directory", chain(files({"a.tar": BAD}), files({"f": "x"}))),
    "repair-output-is-dir": Case(["doctor", "repair", "a.tar", "-o", "d"], 2,
                                 r"-o d is a directory; give a file path",
                                 chain(files({"a.tar": BAD}), mkdir("d"))),
    "repair-output-is-fifo": Case(["doctor", "repair", "a.tar", "-o", "p"], 2,
                                  r"-o p exists and is not a regular file",
                                  chain(files({"a.tar": BAD}), fifo("p"))),
    "repair-stdin": Case(["doctor", "repair", "-", "-o", "o.tar"], 2, r"repair needs a file, not stdin"),
    "repair-missing": Case(["doctor", "repair", "nope.tar", "-o", "o.tar"], 2, r"cannot open nope\.tar"),
    "repair-empty": Case(["doctor", "repair", "e.tar", "-o", "o.tar"], 2, r"e\.tar is empty",
                         files({"e.tar": b""})),
    "repair-in-place-read-only": Case(["doctor", "repair", "--in-place", "a.tar"], 2,
                                      r"a\.tar is read-only, so --in-place will not replace it",
                                      files({"a.tar": BAD}, 0o444)),
    "repair-in-place-read-only-nobody": Case(["doctor", "repair", "--in-place", "a.tar"], 2,
                                             r"a\.tar is read-only", files({"a.tar": BAD}, 0o444),
                                             nobody=True),
    "repair-dir-not-writable-nobody": Case(["doctor", "repair", "a.tar", "-o", "ro/o.tar"], 2,
                                           r"cannot write ro/o\.tar: Permission denied",
                                           chain(files({"a.tar": BAD}), mkdir("ro", 0o755)),
                                           nobody=True),
    # -- load
    "load-no-image": Case(["load"], 2, r"the following arguments are required: IMAGE"),
    "load-no-kind": Case(["load", "demo:v1"], 3, r"kind not found on PATH; .*kind create cluster",
                         env={"PATH": "/nonexistent"}),
}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A world-traversable directory (tmp_path's parents are 0700: uid 65534 could not enter)."""
    d = Path(tempfile.mkdtemp(prefix="rbx-bad-input-"))
    d.chmod(0o777)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_cli(argv: list[str], cwd: Path, env: dict[str, str], *, nobody: bool = False,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    tmp = cwd.parent / (cwd.name + ".tmp")
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o777)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp),
                "COLUMNS": "200", **env}
    prefix = NOBODY if nobody else []
    return subprocess.run([*prefix, *CLI, *argv], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_gets_one_clear_line(case: Case, workdir: Path) -> None:
    if case.nobody and not can_drop_to_nobody():
        pytest.skip("needs root and setpriv to drop to uid 65534")
    case.setup(workdir)
    before = snapshot(workdir)
    result = run_cli(case.argv, workdir, case.env, nobody=case.nobody)
    after = snapshot(workdir)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == case.code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("runbook-exec"), lines[0]
    assert re.search(case.error, lines[0]), lines[0]
    assert changed(before, after) <= case.writes
    assert not list((workdir.parent / (workdir.name + ".tmp")).iterdir()), "temp files left"
    shutil.rmtree(workdir.parent / (workdir.name + ".tmp"), ignore_errors=True)


def test_repair_replaces_an_existing_output_and_says_so(workdir: Path) -> None:
    (workdir / "a.tar").write_bytes(BAD)
    (workdir / "o.tar").write_text("old")
    (workdir / "o.tar").chmod(0o640)
    result = run_cli(["doctor", "repair", "a.tar", "-o", "o.tar"], workdir, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("replaced o.tar (fixed: layers-out-of-order)")
    assert stat.S_IMODE((workdir / "o.tar").stat().st_mode) == 0o640  # permissions kept
    assert (workdir / "a.tar").read_bytes() == BAD
    assert sorted(p.name for p in workdir.iterdir()) == ["a.tar", "o.tar"]


def test_repair_new_output_follows_the_umask(workdir: Path) -> None:
    (workdir / "a.tar").write_bytes(BAD)
    result = run_cli(["doctor", "repair", "a.tar", "-o", "o.tar"], workdir, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote o.tar")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((workdir / "o.tar").stat().st_mode) == 0o666 & ~umask


def test_repair_output_symlink_writes_through(workdir: Path) -> None:
    (workdir / "a.tar").write_bytes(BAD)
    (workdir / "real.tar").write_text("old")
    (workdir / "link.tar").symlink_to("real.tar")
    result = run_cli(["doctor", "repair", "a.tar", "-o", "link.tar"], workdir, {})
    assert result.returncode == 0, result.stderr
    assert (workdir / "link.tar").is_symlink()
    assert (workdir / "real.tar").stat().st_size > 3


def test_diagnose_garbage_on_stdin(workdir: Path) -> None:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([*CLI, "doctor", "diagnose", "--json", "-"], cwd=workdir,
                            input=b"\x00garbage" * 300, env=full_env, capture_output=True,
                            timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1 and "not a tar archive" in err and "Traceback" not in err
    assert b'"exit_code": 2' in result.stdout


def test_run_records_an_empty_runbook_as_failed(workdir: Path) -> None:
    """An empty file would otherwise be 'verified' with nothing run."""
    (workdir / "runbooks").mkdir()
    (workdir / "runbooks/empty.py").write_text("")
    result = run_cli(["run", "runbooks/empty.py"], workdir, {})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "FAILED empty: before any cell: ExecutorError: runbooks/empty.py: no code to run; a "
        "runbook needs at least one `# %%` code cell"
    )


def _python_for_nobody() -> str | None:
    """An interpreter uid 65534 can exec (the venv's may live under a 0700 home) that has the
    venv's packages on PYTHONPATH; None if there is none."""
    import sysconfig

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.realpath(sys.executable), f"/usr/bin/{version}"):
        probe = subprocess.run(
            [*NOBODY, candidate, "-c", "import os, sys; os.execv(sys.executable, "
             "[sys.executable, '-c', 'import nbclient, ipykernel, runbook_exec'])"],
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{sysconfig.get_paths()['purelib']}",
                 "HOME": "/tmp"},
            capture_output=True, timeout=60,
        )
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(not can_drop_to_nobody(), reason="needs root and setpriv")
def test_run_as_non_root_records_the_labs_one_line(workdir: Path) -> None:
    """The lab needs root: the runbook fails with its MissingDependencyError line, recorded in
    the ledger; the summary has no traceback."""
    import json
    import sysconfig

    python = _python_for_nobody()
    if python is None:
        pytest.skip("no interpreter uid 65534 can run with the venv's packages")
    (workdir / "runbooks").mkdir(mode=0o777)
    (workdir / "runbooks/lab.py").write_text(
        "# %%\nfrom runbook_exec.lab import open_target\ntarget = open_target()\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{sysconfig.get_paths()['purelib']}",
           "HOME": str(workdir), "TMPDIR": str(workdir), "RUNBOOK_TARGET": "sandbox"}
    result = subprocess.run([*NOBODY, python, "-m", "runbook_exec.cli", "run", "runbooks/lab.py"],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("FAILED lab: cell 1 `from runbook_exec.lab import open_target`: "
                           "MissingDependencyError: ")
    assert "needs root" in last and "RUNBOOK_TARGET=live" in last
    record = json.loads((workdir / "build/ledger.json").read_text())["runbooks"]["lab"]
    assert record["status"] == "failed"
    assert record["failure"]["kind"] == "exception"
    assert record["failure"]["error"].startswith("MissingDependencyError: ")
    assert "\n" not in record["failure"]["error"]


def test_ctrl_c_during_repair_leaves_nothing_partial(workdir: Path) -> None:
    """SIGINT while a large archive is copied: exit 130, one line, no temp file, no output."""
    big = dsave.make_image(2)
    big.layers[0] = dsave.layer_tar(os.urandom(1 << 20) * 64)  # 64 MiB layer
    entries = dsave.docker25(dsave.Img(big.layers, big.tags), order=[1, 0])
    with gzip.open(workdir / "big.tar", "wb", compresslevel=1) as f:  # streamed: slower
        f.write(dsave.tar_bytes(entries))
    proc = subprocess.Popen([*CLI, "doctor", "repair", "big.tar", "-o", "out.tar"], cwd=workdir,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".out.tar.") for p in workdir.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "repair never started writing"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err == "runbook-exec: interrupted (SIGINT); nothing written\n"
    assert sorted(p.name for p in workdir.iterdir()) == ["big.tar"]


@pytest.mark.parametrize(
    ("argv", "code", "line"),
    [
        (["./dev.sh", "frob"], 2, "dev.sh: error: unknown command 'frob'; usage: ./dev.sh site | "
         "./dev.sh test [pytest args]"),
        (["./dev.sh"], 2, "dev.sh: error: no command given; usage: ./dev.sh site | ./dev.sh test "
         "[pytest args]"),
        (["bash", "scripts/install-system-deps.sh", "--yes"], 2,
         "install-system-deps: error: unexpected argument '--yes'; this script takes none (see the "
         "comment at its top)"),
        (["bash", "scripts/vendor-assets.sh", "--force"], 2,
         "vendor-assets: error: unexpected argument '--force'; this script takes none (see the "
         "comment at its top)"),
    ],
    ids=["dev-unknown-command", "dev-no-command", "install-deps-argument", "vendor-argument"],
)
def test_scripts_reject_unknown_arguments(argv: list[str], code: int, line: str) -> None:
    before = snapshot(ROOT / "scripts")
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == code
    assert result.stderr == line + "\n"
    assert result.stdout == ""
    assert snapshot(ROOT / "scripts") == before
