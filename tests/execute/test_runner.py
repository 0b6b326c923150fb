"""The executor on tiny purpose-made runbooks: outcomes land in the ledger as they happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_exec.execute import ledger

from .conftest import Workspace

pytestmark = pytest.mark.slow


def record_of(ws: Workspace, name: str) -> ledger.Record:
    return ledger.load(ledger.ledger_path(ws.build))[name]


def test_run_success_writes_notebook_and_ledger(ws: Workspace) -> None:
    ws.write(
        "hello",
        "md:# Hello",
        "import os\nprint('tmp', os.environ['TMPDIR'])",
        "open('images.tar', 'w').write('x')\nprint(sorted(os.listdir('.')))",
    )
    summary = ws.run()
    assert not summary.failed and summary.kernels_started == 1
    record = record_of(ws, "hello")
    assert record["status"] == "passed"
    assert record["failure"] is None
    assert record["cells"] == 2
    assert record["cached"] is False
    assert record["environment"]["target"] == "sandbox"
    assert record["started"].endswith("Z") and record["duration"] > 0
    nb = json.loads(ledger.executed_path(ws.build, "hello").read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    tmp_line = outputs[0]["text"]
    # the kernel's TMPDIR is private to this run, and files land in its own work dir
    tmpdir = Path(tmp_line.split()[1])
    assert tmpdir.name == "t" and tmpdir.parent.name.startswith("rbx-")
    assert "['images.tar']" in outputs[1]["text"]
    assert not (ws.runbooks / "images.tar").exists()


def test_run_exception_in_cell_3_is_recorded_with_cell_and_error(ws: Workspace) -> None:
    ws.write(
        "boom",
        "md:# Prose is not counted",
        "x = 1",
        "y = 2",
        "import json\njson.loads('{broken')",
        "print('never')",
    )
    summary = ws.run()
    assert [r["name"] for r in summary.failed] == ["boom"]
    failure = record_of(ws, "boom")["failure"]
    assert failure == {
        "cell": 3,
        "first_line": "import json",
        "error": "JSONDecodeError: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "kind": "exception",
    }
    assert "FAILED boom: cell 3 `import json`: JSONDecodeError" in ws.log.getvalue()


def test_run_raises_exception_tag_lets_the_runbook_continue(ws: Workspace) -> None:
    path = ws.runbooks / "tagged.py"
    path.write_text('# %% tags=["raises-exception"]\n1 / 0\n\n# %%\nprint("after")\n')
    ws.run()
    assert record_of(ws, "tagged")["status"] == "passed"


def test_run_infinite_loop_times_out(ws: Workspace) -> None:
    ws.write("spin", "x = 0", "while True:\n    x += 1")
    ws.run(timeout=2)
    failure = record_of(ws, "spin")["failure"]
    assert failure is not None
    assert (failure["kind"], failure["cell"], failure["first_line"]) == (
        "timeout",
        2,
        "while True:",
    )
    assert failure["error"] == "cell timed out after 2 s (--timeout)"


def test_run_deadline_stops_a_slow_runbook(ws: Workspace) -> None:
    ws.write("slow", "import time", "time.sleep(1.5)", "time.sleep(1.5)", "time.sleep(60)")
    ws.run(timeout=100, deadline=4)
    failure = record_of(ws, "slow")["failure"]
    assert failure is not None and failure["kind"] == "deadline"
    assert failure["error"] == "runbook exceeded its deadline of 4 s"


def test_run_kernel_death_is_recorded(ws: Workspace) -> None:
    ws.write("dies", "print('up')", "import os\nos._exit(3)", "print('never')")
    ws.run()
    failure = record_of(ws, "dies")["failure"]
    assert failure == {
        "cell": 2,
        "first_line": "import os",
        "error": "the kernel died while running this cell",
        "kind": "kernel-died",
    }


def test_run_missing_kernel_spec_is_a_clean_failure(ws: Workspace) -> None:
    header = (
        "# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Nope\n"
        "#     language: python\n#     name: no-such-kernel\n# ---\n"
    )
    ws.write("nokernel", "print(1)", header=header)
    ws.write("fine", "print(2)")
    summary = ws.run()
    assert summary.kernels_started == 2  # attempted for both; the other still runs
    failure = record_of(ws, "nokernel")["failure"]
    assert failure is not None and failure["kind"] == "no-kernel" and failure["cell"] is None
    assert failure["error"].startswith("no kernel spec named 'no-such-kernel'")
    assert record_of(ws, "fine")["status"] == "passed"


def test_run_detached_daemon_started_by_a_cell_is_killed(ws: Workspace) -> None:
    # A daemon in its own session escapes the kernel's process group; the sweep still
    # finds it by the marker in its environment (the fixture asserts nothing is left).
    ws.write(
        "daemon",
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print('started')",
    )
    ws.run()
    assert record_of(ws, "daemon")["status"] == "passed"


def test_run_parallel_four_runbooks_overlap(ws: Workspace) -> None:
    for i in range(4):
        ws.write(f"p{i}", "import time, os", "time.sleep(2)", "print(os.environ['TMPDIR'])")
    summary = ws.run(jobs=4)
    assert not summary.failed and summary.kernels_started == 4
    records = ledger.load(ledger.ledger_path(ws.build))
    spans = sorted((r["started"], r["finished"]) for r in records.values())
    # every runbook started before the first one finished: they ran side by side
    assert all(start <= spans[0][1] for start, _ in spans)
    tmpdirs = {
        json.loads(ledger.executed_path(ws.build, n).read_text())["cells"][2]["outputs"][0]["text"]
        for n in records
    }
    assert len(tmpdirs) == 4
