"""The live target: argv it builds, its parsers and the target choice. No kind cluster
exists here, so ``docker`` is a stand-in script on PATH that records its argv."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runbook_exec.errors import LabError
from runbook_exec.lab import LiveNode, choose_target
from runbook_exec.lab.live import (
    docker_exec_argv,
    parse_kind_lines,
    parse_snapshotter,
    unique_name,
)

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize(
    ("env", "clusters", "kind", "reason"),
    [
        ({}, None, "sandbox", "RUNBOOK_TARGET is not set (the default)"),
        (
            {},
            ["kind"],
            "sandbox",
            "RUNBOOK_TARGET is not set (the default); kind cluster 'kind' exists: "
            "set RUNBOOK_TARGET=live to use it",
        ),
        ({"RUNBOOK_TARGET": "sandbox"}, ["kind"], "sandbox", "RUNBOOK_TARGET=sandbox"),
        (
            {"RUNBOOK_TARGET": "live"},
            None,
            "sandbox",
            "RUNBOOK_TARGET=live but kind is not installed",
        ),
        ({"RUNBOOK_TARGET": "live"}, [], "sandbox", "`kind get clusters` lists no cluster"),
        ({"RUNBOOK_TARGET": "live"}, ["dev", "kind"], "live", "kind cluster 'kind' exists"),
        ({"RUNBOOK_TARGET": "LIVE"}, ["dev"], "live", "kind cluster 'dev' exists"),
    ],
    ids=[
        "unset",
        "unset-with-cluster",
        "sandbox",
        "live-no-kind",
        "live-no-cluster",
        "live",
        "live-first",
    ],
)
def test_choose_target(
    env: dict[str, str], clusters: list[str] | None, kind: str, reason: str
) -> None:
    choice = choose_target(env, clusters)
    assert choice.kind == kind and reason in choice.reason


def test_choose_target_rejects_unknown_values() -> None:
    with pytest.raises(LabError, match="is not a target"):
        choose_target({"RUNBOOK_TARGET": "prod"}, [])
    with pytest.raises(LabError, match="is not among kind's clusters"):
        choose_target({"RUNBOOK_TARGET": "live", "RUNBOOK_KIND_CLUSTER": "x"}, ["kind"])


def test_parse_kind_lines() -> None:
    assert parse_kind_lines((SAMPLES / "kind-get-clusters.txt").read_text()) == ["kind", "staging"]
    assert parse_kind_lines("No kind clusters found.\n") == []
    assert parse_kind_lines("kind-control-plane\nkind-worker\n") == [
        "kind-control-plane",
        "kind-worker",
    ]


@pytest.mark.parametrize(
    ("name", "snapshotter"),
    [
        ("containerd-config-dump-v2.toml", "overlayfs"),
        ("containerd-config-dump-v3.toml", "fuse-overlayfs"),
    ],
    ids=["containerd-1.7", "containerd-2"],
)
def test_parse_snapshotter(name: str, snapshotter: str) -> None:
    assert parse_snapshotter((SAMPLES / name).read_text()) == snapshotter


def test_parse_snapshotter_defaults_to_overlayfs() -> None:
    assert parse_snapshotter("version = 2\n") == "overlayfs"


def test_docker_exec_argv_matches_kind() -> None:
    assert docker_exec_argv("kind-control-plane", ["ctr", "version"], stdin=True) == [
        "docker",
        "exec",
        "--privileged",
        "-i",
        "kind-control-plane",
        "ctr",
        "version",
    ]
    assert "-i" not in docker_exec_argv("n", ["crictl", "inspecti", "a"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo:1", "demo:1-runbook-ab12"),
        ("demo", "demo:latest-runbook-ab12"),
        ("localhost:5000/demo", "localhost:5000/demo:latest-runbook-ab12"),
        ("registry.k8s.io/kube-apiserver-amd64:v1.29.0",
         "registry.k8s.io/kube-apiserver-amd64:v1.29.0-runbook-ab12"),
    ],
    ids=["tag", "no-tag", "registry-port", "arch-suffix-kept"],
)
def test_unique_name(name: str, expected: str) -> None:
    assert unique_name(name, "ab12") == expected


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `docker` that logs its argv and stdin size and answers like a kind node would."""
    log = tmp_path / "argv.log"
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    dump = (SAMPLES / "containerd-config-dump-v2.toml").resolve()
    inspect = (SAMPLES / "crictl-inspecti.json").resolve()
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in\n'
        f'  *"config dump"*) cat {dump} ;;\n'
        '  *"images import"*) wc -c >> ' + str(log) + "; "
        'echo "ctr: mismatched image rootfs and manifest layers" >&2; exit 1 ;;\n'
        f'  *"inspecti demo:drop"*) cat {inspect} ;;\n'
        "  *inspecti*) echo 'FATA[0000] no such image \"x\" present' >&2; exit 1 ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_live_node_load_runs_kinds_command_in_node(fake_docker: Path, tmp_path: Path) -> None:
    archive = tmp_path / "images.tar"
    archive.write_bytes(b"x" * 1234)
    result = LiveNode("kind-control-plane").load(archive)
    assert result.returncode == 1
    assert result.error == "ctr: mismatched image rootfs and manifest layers"
    calls = fake_docker.read_text().splitlines()
    assert calls == [
        "exec --privileged kind-control-plane containerd config dump",
        "exec --privileged -i kind-control-plane ctr --namespace=k8s.io images import "
        "--all-platforms --digests --snapshotter=overlayfs -",
        "1234",
    ]
    assert result.command.endswith(f"--snapshotter=overlayfs - < {archive}")


def test_live_node_kubelet_view_uses_crictl(fake_docker: Path) -> None:
    node = LiveNode("kind-control-plane")
    assert node.kubelet_view("demo:drop").present
    assert not node.kubelet_view("demo:none").present
    assert (
        "exec --privileged kind-control-plane crictl inspecti demo:none" in fake_docker.read_text()
    )
