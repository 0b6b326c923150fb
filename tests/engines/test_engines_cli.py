"""``runbook-exec engines``: the table, the pins, and failures that say what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_exec.engines import ENGINES, KIND_CONTAINERD, builder, pins, spec
from runbook_exec.engines.pins import parse_mod, render_go_mod
from runbook_exec.errors import EngineError

CLI = [sys.executable, "-m", "runbook_exec.cli", "engines"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600,
                          check=False, env=env)


def test_engines_list_json_has_every_engine_with_its_provenance() -> None:
    res = run("list", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert set(rows) == {e.name for e in ENGINES}
    d = rows["dockerd-25.0.0"]
    assert (d["module"], d["go"]) == ("github.com/docker/docker@v25.0.0+incompatible", "go1.21.6")
    if d["built"]:
        assert all(len(v) == 64 for v in d["binaries"].values())


def test_every_engine_has_committed_pins() -> None:
    for e in ENGINES:
        assert (pins.pin_dir(e) / "go.mod").is_file() and (pins.pin_dir(e) / "go.sum").is_file()
        assert f"\t{e.module} {e.module_version}" in (pins.pin_dir(e) / "go.mod").read_text()


def test_every_kind_release_maps_to_a_containerd_engine() -> None:
    for kind, name in KIND_CONTAINERD.items():
        assert spec(name).kind == "containerd", kind


def test_unknown_engine_is_one_line_and_exit_3() -> None:
    res = run("build", "dockerd-99")
    assert res.returncode == 3
    assert res.stderr.startswith("runbook-exec: error: no engine called 'dockerd-99'; known")
    assert len(res.stderr.strip().splitlines()) == 1


def test_missing_go_names_the_engine_step_and_fix(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RUNBOOK_ENGINES_DIR": str(tmp_path),
           "RUNBOOK_GO": str(tmp_path / "no-such-go")}
    res = run("build", "kind-0.33.0", env=env)
    assert res.returncode == 3
    assert f"RUNBOOK_GO={tmp_path / 'no-such-go'} does not exist" in res.stderr
    assert list(tmp_path.glob(".partial-*")) == [] and list(tmp_path.glob("kind-*")) == []


@pytest.mark.slow
def test_unreachable_proxy_fails_cleanly_and_leaves_nothing(tmp_path: Path) -> None:
    import os

    env = dict(os.environ, RUNBOOK_ENGINES_DIR=str(tmp_path / "cache"),
               GOMODCACHE=str(tmp_path / "modcache"), GOPROXY="http://127.0.0.1:9",
               GOFLAGS="-modcacherw", GOCACHE=str(tmp_path / "gocache"))
    res = run("build", "kind-0.33.0", env=env)
    assert res.returncode == 3, res.stderr
    first = res.stderr.splitlines()[1] if res.stderr.startswith("[") else res.stderr
    assert "engine kind-0.33.0: step 'go build' failed" in res.stderr, first
    assert "could not" in res.stderr  # the proxy or the toolchain download, named
    cache = tmp_path / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_render_go_mod_repeats_upstream_requires_replaces_and_excludes() -> None:
    upstream = """module example.com/up

go 1.22

require (
\texample.com/a v1.0.0
\texample.com/b v0.2.0 // indirect
)

replace example.com/a => example.com/a-fork v1.0.1

replace example.com/local => ./local

exclude (
\texample.com/b v0.3.0
)
"""
    go, requires, replaces, excludes = parse_mod(upstream)
    assert go == "1.22" and ("example.com/b", "v0.2.0") in requires
    mod = render_go_mod(spec("kind-0.33.0"), upstream)
    assert "\tsigs.k8s.io/kind v0.33.0" in mod and "\texample.com/b v0.2.0" in mod
    assert "example.com/a => example.com/a-fork v1.0.1" in mod
    assert "./local" not in mod  # local-directory replaces are answered by companions
    assert "exclude (\n\texample.com/b v0.3.0\n)" in mod


def test_build_key_changes_with_the_pins_not_with_notes(tmp_path: Path) -> None:
    import dataclasses

    s = spec("kind-0.33.0")
    assert builder.build_key(dataclasses.replace(s, note="other words")) == builder.build_key(s)
    assert builder.build_key(dataclasses.replace(s, go="1.26.8")) != builder.build_key(s)


def test_require_says_how_to_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_ENGINES_DIR", str(tmp_path))
    with pytest.raises(EngineError, match=r"run `runbook-exec engines build kind-0.20.0`"):
        builder.require(spec("kind-0.20.0"))
