"""Every runbook passes on the live target: a reader's own Docker and kind cluster, here made
of lab parts (``runbook-exec lab live``: a real dockerd of the runbook's Docker release, node
containers of its kind release, the real docker and kind CLIs on PATH, RUNBOOK_TARGET=live).

Runbooks are grouped by the (Docker, kind) they open their target with, one live stack per
group; the executed notebooks and ledger go to ``build/live/`` (cached like the site's).
A runbook that opens its target with ``sandbox_only=…`` (the matrix, the intermittency count)
runs in the sandbox even with RUNBOOK_TARGET=live, so re-running it on a live stack would
repeat the site's run to the byte; what is checked for those is the fallback itself. A runbook
that opens no target at all (it starts its own engines, chroot or podman store) reads nothing
the live stack sets: its lab parts drop the caller's Docker and kind variables, which
tests/lab/test_clientenv.py checks with a hostile shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from runbook_exec.lab.livestack import opens_target, stack_of, stays_in_sandbox

pytestmark = [
    pytest.mark.daemons,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for dockerd and kind nodes"),
]

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.py"))
NO_TARGET = [rb for rb in RUNBOOKS if not opens_target(rb)]
SANDBOX_ONLY = [rb for rb in RUNBOOKS if rb not in NO_TARGET and stays_in_sandbox(rb)]
GROUPS: dict[tuple[str, str], list[Path]] = defaultdict(list)
for _rb in RUNBOOKS:
    if _rb not in SANDBOX_ONLY and _rb not in NO_TARGET:
        GROUPS[stack_of(_rb)].append(_rb)


def test_every_runbook_has_a_live_stack_or_says_why_not() -> None:
    live = sum(len(v) for v in GROUPS.values())
    assert live + len(SANDBOX_ONLY) + len(NO_TARGET) == len(RUNBOOKS) >= 13
    assert {rb.stem for rb in SANDBOX_ONLY} >= {"matrix", "intermittent"}
    assert live > len(RUNBOOKS) // 2, "most runbooks must run on the live target"
    # every error page's runbook reproduces on the reader's own set-up
    pages = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "errors").glob("*.md"))
    embedded = {rb.stem for rb in RUNBOOKS if f"<!-- runbook: {rb.stem} -->" in pages}
    assert len(embedded) >= 4 and not {rb.stem for rb in NO_TARGET} & embedded


def test_a_runbook_without_a_target_never_reads_the_target_variable() -> None:
    # what the live stack sets for the kernel, besides the Docker and kind variables
    for rb in NO_TARGET:
        text = rb.read_text(encoding="utf-8")
        assert "RUNBOOK_TARGET" not in text and "RUNBOOK_KIND_CLUSTER" not in text, rb.name


def test_a_sandbox_only_runbook_says_so_on_the_live_target() -> None:
    code = ("from runbook_exec.lab import open_target\n"
            "with open_target(engine=False, kind='v0.20.0', sandbox_only='it compares "
            "releases') as t:\n    print('opened', t.kind)\n")
    env = {**os.environ, "RUNBOOK_TARGET": "live"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == (
        "target: sandbox — RUNBOOK_TARGET=live, but it compares releases; it runs in the "
        "sandbox, which never touches your Docker or your clusters")
    assert res.stdout.splitlines()[-1] == "opened sandbox"


@pytest.mark.parametrize("stack", sorted(GROUPS), ids=lambda s: f"docker-{s[0]}-kind-{s[1]}")
def test_runbooks_pass_on_the_live_target(stack: tuple[str, str]) -> None:
    docker, kind = stack
    build = ROOT / "build" / "live" / f"docker-{docker}-kind-{kind}"
    exe = Path(sys.executable).parent / "runbook-exec"
    argv = [str(exe), "lab", "live", "--docker", docker, "--kind", kind, "--",
            str(exe), "run", "-j", "1", "--build", str(build), *map(str, GROUPS[stack])]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ledger = json.loads((build / "ledger.json").read_text())
    records = ledger.get("runbooks", ledger)
    for rb in GROUPS[stack]:
        record = records[rb.stem]
        assert record["status"] == "passed", (rb.stem, record)
        assert record["environment"]["target"] == "live", record["environment"]
