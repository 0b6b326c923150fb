"""`runbook-exec run` / `status` end to end, including Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from runbook_exec import proc
from runbook_exec.cli import main
from runbook_exec.execute import ledger

from .conftest import Workspace

pytestmark = pytest.mark.slow


def test_run_command_exit_status_and_summary(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.write("good", "print('ok')")
    ws.write("bad", "x = 1", "y = 2", "assert x == y, 'x is not y'")
    rc = main(["run", str(ws.runbooks), "--build", str(ws.build), "-j", "2", "--timeout", "30"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "2 runbooks: 1 passed, 0 cached, 1 failed" in err
    assert "FAILED bad: cell 3 `assert x == y, 'x is not y'`: AssertionError: x is not y" in err

    assert main(["status", "--build", str(ws.build), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records["good"]["status"] == "passed"
    assert records["good"]["environment"]["skopeo"]  # the real fingerprint

    assert main(["status", "--build", str(ws.build)]) == 1
    table = capsys.readouterr().out
    assert "good" in table and "passed" in table and "cell 3" in table
    # piped output keeps one line per runbook instead of wrapping at 80 columns
    good_row = next(line for line in table.splitlines() if " good " in line)
    assert "sandbox" in good_row or "live" in good_row, good_row


def test_run_command_rejects_a_missing_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["run", str(tmp_path / "nope.py"), "--build", str(tmp_path / "b")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err == f"runbook-exec: error: {tmp_path / 'nope.py'}: no such file or directory\n"


def test_run_command_rejects_a_non_runbook_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["run", str(tmp_path / "notes.txt")]) == 2
    assert "not a runbook (expected a jupytext .py or an .ipynb file)" in capsys.readouterr().err


def test_run_command_rejects_a_corrupt_ledger(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.write("good", "print('ok')")
    ws.build.mkdir()
    ledger.ledger_path(ws.build).write_text("{not json")
    assert main(["run", str(ws.runbooks), "--build", str(ws.build)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "many"], ids=["zero", "word"])
def test_run_command_rejects_bad_jobs(value: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "-j", value])
    assert exc.value.code == 2


def test_status_without_ledger_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an error like any other: raised into cli.main, one line on stderr, nothing on stdout
    assert main(["status", "--build", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"runbook-exec: error: no verification records in {tmp_path}/ledger.json; "
                   "run `runbook-exec run` first\n")


def test_run_ctrl_c_stops_kernels_and_removes_scratch(ws: Workspace, scratch_parent: Path) -> None:
    ready = ws.root / "ready"
    # the marker is written by cell 2 itself, so the interrupt cannot land before the
    # executor has seen cell 2 start (under load it otherwise raced cell 1's end)
    for name in ("a", "b"):
        ws.write(name, "import time",
                 f"open({str(ready)!r}, 'a').write({name!r})\ntime.sleep(120)")
    env = {**os.environ, "TMPDIR": str(scratch_parent)}
    cli = [
        sys.executable,
        "-m",
        "runbook_exec.cli",
        "run",
        str(ws.runbooks),
        "--build",
        str(ws.build),
        "-j",
        "2",
    ]
    runner = proc.spawn(cli, log=ws.root / "run.log", env=env)
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and len(ready.read_text()) == 2):
            assert time.monotonic() < deadline, (ws.root / "run.log").read_text()
            assert runner.poll() is None, (ws.root / "run.log").read_text()
            time.sleep(0.2)
        os.kill(runner.pid, signal.SIGINT)
        assert runner.wait(timeout=60) == 130
    finally:
        proc.stop(runner)
    log = (ws.root / "run.log").read_text()
    assert "runbook-exec: interrupted" in log
    records = ledger.load(ledger.ledger_path(ws.build))
    for name in ("a", "b"):
        failure = records[name]["failure"]
        assert failure is not None and (failure["kind"], failure["cell"]) == ("interrupted", 2)


def test_run_command_full_run_forgets_deleted_runbooks(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write("kept", "print(1)")
    ws.write("gone", "print(2)")
    monkeypatch.chdir(ws.root)
    assert main(["run"]) == 0
    (ws.runbooks / "gone.py").unlink()
    assert main(["run"]) == 0
    records = ledger.load(ledger.ledger_path(ws.build))
    assert list(records) == ["kept"]
