"""The lab's daemons and client tools ignore what a reader's shell points elsewhere.

A reader's shell may set DOCKER_HOST (rootless Docker, Colima), DOCKER_CONTEXT, TLS variables,
DOCKER_DEFAULT_PLATFORM or KIND_EXPERIMENTAL_PROVIDER; the live stack sets DOCKER_HOST and
DOCKER_CONFIG for the whole kernel. A runbook that starts its own engines (which docker, the
apt pin, the podman pages) must work the same with all of them set."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster
from runbook_exec.lab.clientenv import FOREIGN, own_env

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for dockerd")

# what a reader's shell could hold, each pointing somewhere the lab's parts must not go
HOSTILE = {
    "DOCKER_HOST": "unix:///nonexistent/docker.sock",
    "DOCKER_CONTEXT": "someone-elses",
    "DOCKER_CONFIG": "/nonexistent/docker-config",
    "DOCKER_TLS_VERIFY": "1",
    "DOCKER_CERT_PATH": "/nonexistent/certs",
    "DOCKER_API_VERSION": "1.12",
    "DOCKER_DEFAULT_PLATFORM": "linux/s390x",
    "BUILDX_BUILDER": "someone-elses",
    "KIND_EXPERIMENTAL_PROVIDER": "podman",
    "KIND_CLUSTER_NAME": "someone-elses",
}


def test_own_env_drops_every_foreign_variable_and_keeps_the_rest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in FOREIGN:
        monkeypatch.setenv(name, "from-the-caller")
    monkeypatch.setenv("RUNBOOK_TEST_KEPT", "kept")
    env = own_env(DOCKER_HOST="unix:///lab.sock")
    assert env["RUNBOOK_TEST_KEPT"] == "kept" and env["PATH"] == os.environ["PATH"]
    assert env["DOCKER_HOST"] == "unix:///lab.sock"
    assert not FOREIGN - {"DOCKER_HOST"} & env.keys()
    assert set(HOSTILE) <= FOREIGN


@pytest.fixture
def hostile_shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    yield


@pytest.mark.daemons
@needs_root
def test_engine_and_kind_work_in_a_hostile_shell(hostile_shell: None) -> None:
    with proc.quiet(), Engine("25.0.0") as engine, \
            KindCluster(engine, kind="v0.33.0", name="envtest") as cluster:
        version = engine.cli("version", "--format", "{{.Server.Version}}")
        assert version.stdout.strip() == "25.0.0", version.output
        built = engine.build("envtest/app:1", [b"env\n"])
        res = cluster.kind_cmd("load", "docker-image", "--name", cluster.name, built.ref)
        assert res.ok, res.output
        listed = cluster.node_exec(f"{cluster.name}-control-plane", "ctr", "-n", "k8s.io",
                                   "images", "ls", "-q")
        assert f"docker.io/{built.ref}" in listed.stdout.split(), listed.output
