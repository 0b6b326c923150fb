"""The cache: unchanged inputs start no kernel; any changed input re-executes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runbook_exec.execute import ledger
from runbook_exec.execute.fingerprint import (
    CacheInputs,
    binary_version,
    dependency_versions,
    environment_fingerprint,
    package_digest,
)

from .conftest import INPUTS, Workspace

pytestmark = pytest.mark.slow


@pytest.fixture
def verified(ws: Workspace) -> Workspace:
    ws.write("one", "md:# One", "print('first')", "print('second')")
    summary = ws.run()
    assert summary.kernels_started == 1 and not summary.failed
    return ws


def test_cache_hit_starts_no_kernel_and_keeps_the_original_time(verified: Workspace) -> None:
    first = ledger.load(ledger.ledger_path(verified.build))["one"]
    summary = verified.run()
    assert summary.kernels_started == 0
    record = summary.records[0]
    assert record["cached"] is True
    assert (record["started"], record["finished"]) == (first["started"], first["finished"])
    assert ledger.load(ledger.ledger_path(verified.build))["one"]["cached"] is True
    assert "cached  one" in verified.log.getvalue()


def test_cache_hit_needs_the_executed_notebook(verified: Workspace) -> None:
    ledger.executed_path(verified.build, "one").unlink()
    assert verified.run().kernels_started == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda ws: (ws.write("one", "md:# One", "print('first')", "print('2nd')"), INPUTS)[1],
            id="cell-edited",
        ),
        pytest.param(
            lambda ws: INPUTS.with_changes(dependencies={"nbclient": "0.10.2"}),
            id="dependency-version",
        ),
        pytest.param(
            lambda ws: INPUTS.with_changes(environment={"skopeo": "skopeo version 1.15.0"}),
            id="containerd-version",
        ),
        pytest.param(lambda ws: INPUTS.with_changes(environment={"target": "live"}), id="target"),
    ],
)
def test_cache_miss_after_an_input_changes(
    verified: Workspace, change: Callable[[Workspace], CacheInputs]
) -> None:
    inputs = change(verified)
    summary = verified.run(inputs=inputs)
    assert summary.kernels_started == 1
    assert summary.records[0]["cached"] is False


def test_cache_force_executes_again(verified: Workspace) -> None:
    assert verified.run(force=True).kernels_started == 1


def test_cache_never_keeps_a_failure_as_success(ws: Workspace) -> None:
    ws.write("bad", "raise RuntimeError('no')")
    for _ in range(2):
        summary = ws.run()
        assert summary.kernels_started == 1
        assert summary.records[0]["status"] == "failed"


def test_package_digest_changes_with_package_source(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    before = package_digest(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert package_digest(tmp_path) != before


def test_dependency_versions_are_the_installed_ones() -> None:
    from importlib.metadata import version

    deps = dependency_versions()
    assert deps["nbclient"] == version("nbclient")
    assert "mkdocs" not in deps  # site extras do not change what a runbook prints


def test_binary_version_of_a_missing_binary_is_absent() -> None:
    assert binary_version(["runbook-exec-no-such-binary", "--version"]) == "absent"


def test_environment_fingerprint_reads_the_real_binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_TARGET", "live")
    env = environment_fingerprint()
    assert set(env) == set(ledger.ENVIRONMENT_KEYS)
    assert env["target"] == "live"
    if env["runc"] != "absent":
        assert env["runc"].startswith("runc version ")
    if env["skopeo"] != "absent":
        assert env["skopeo"].startswith("skopeo version ")
