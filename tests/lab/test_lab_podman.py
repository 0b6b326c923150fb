"""The lab's podman: a private store that nothing outside it sees, and kind nodes run by it
for the real kind CLI's podman provider, on a PATH without docker."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from runbook_exec.errors import LabError
from runbook_exec.lab import Podman, PodmanKindCluster
from runbook_exec.lab.podman import containers_conf, storage_conf

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for podman's store")
needs_podman = pytest.mark.skipif(shutil.which("podman") is None,
                                  reason="podman is not installed")

SYSTEM = ("/var/lib/containers/storage", "/run/containers", "/run/libpod",
          "/etc/containers/networks")


def _paths_in(conf: str) -> list[str]:
    return [line.split("=", 1)[1].strip().strip('"') for line in conf.splitlines()
            if "=" in line and line.split("=", 1)[1].strip().startswith('"/')]


def test_store_configuration_keeps_every_path_under_the_base(tmp_path: Path) -> None:
    paths = _paths_in(storage_conf(tmp_path)) + _paths_in(containers_conf(tmp_path))
    assert len(paths) == 6  # graphroot, runroot, tmp_dir, static_dir, volume_path, networks
    assert all(Path(p).is_relative_to(tmp_path) for p in paths), paths
    assert not any(p.startswith(SYSTEM) for p in paths)
    assert 'driver = "vfs"' in storage_conf(tmp_path)
    assert 'cgroup_manager = "cgroupfs"' in containers_conf(tmp_path)


def test_containers_conf_limits_are_ones_this_process_can_grant(tmp_path: Path) -> None:
    import resource

    conf = containers_conf(tmp_path)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = hard if hard > 0 else 1024  # RLIM_INFINITY (-1): a finite default
    assert f'"nofile={nofile}:{nofile}"' in conf
    assert '"nproc=1024:1024"' in conf


@needs_root
@needs_podman
def test_tool_refuses_what_is_not_a_containers_tool() -> None:
    with Podman() as podman, pytest.raises(LabError, match="not a containers tool"):
        podman.tool("docker", "version")


def test_root_before_start_says_what_to_do() -> None:
    podman = Podman.__new__(Podman)
    podman._base = None
    with pytest.raises(LabError, match="call start"):
        _ = podman.root


@pytest.mark.parametrize("cli", ["v0.19.0", "v1"])
def test_unknown_kind_cli_is_a_clear_error(cli: str) -> None:
    podman = Podman.__new__(Podman)
    podman._base = None
    with pytest.raises(LabError, match="no kind CLI engine"):
        PodmanKindCluster(podman, kind="v0.20.0", cli=cli)


@pytest.mark.daemons
@needs_root
@needs_podman
def test_store_is_private_and_removed_on_close() -> None:
    with Podman() as podman:
        base = podman.root
        podman.import_image("lab/private:1", {"f": b"x\n"})
        info = json.loads(podman.cli("info", "--format", "json", merge_stderr=False).stdout)
        assert Path(info["store"]["graphRoot"]).is_relative_to(base)
        assert Path(info["store"]["runRoot"]).is_relative_to(base)
        assert info["store"]["graphDriverName"] == "vfs"
        assert not (podman.bindir / "docker").exists()
        listed = podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        assert listed == ["localhost/lab/private:1"]
    assert not base.exists()
    podman.close()  # idempotent


@pytest.mark.daemons
@needs_root
@needs_podman
def test_store_ignores_the_callers_docker_config_and_remote(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a live target's DOCKER_CONFIG without config.json made podman 4.3 fail
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-such-config"))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    with Podman() as podman:
        env = podman.env()
        assert "DOCKER_CONFIG" not in env and "CONTAINER_HOST" not in env
        assert Path(env["REGISTRY_AUTH_FILE"]).is_relative_to(podman.root)
        podman.import_image("lab/env:1", {"f": b"env\n"})
        podman.cli("save", "-q", "-o", str(tmp_path / "env.tar"), "lab/env:1")
        podman.tool("skopeo", "copy", "-q", f"docker-archive:{tmp_path / 'env.tar'}",
                    f"oci-archive:{tmp_path / 'env-oci.tar'}:lab/env:1")
        assert (tmp_path / "env-oci.tar").stat().st_size > 0


@pytest.mark.daemons
@needs_root
@needs_podman
def test_kind_with_the_podman_provider_finds_and_loads_podman_nodes(tmp_path: Path) -> None:
    with Podman() as podman:
        podman.import_image("lab/kindpm:1", {"f": b"kind\n"})
        archive = tmp_path / "a.tar"
        podman.cli("save", "-q", "-o", str(archive), "lab/kindpm:1")
        with PodmanKindCluster(podman, kind="v0.33.0", name="labpm") as cluster:
            nodes = cluster.kind_cmd("get", "nodes", "--name", "labpm")
            assert nodes.ok and "labpm-control-plane" in nodes.output
            assert "enabling experimental podman provider" in nodes.output
            # no docker on kind's PATH: docker-image fails before any node is touched
            missing = cluster.kind_cmd("load", "docker-image", "--name", "labpm", "lab/kindpm:1")
            assert not missing.ok and "not present locally" in missing.output
            loaded = cluster.kind_cmd("load", "image-archive", "--name", "labpm", str(archive))
            assert loaded.ok, loaded.output
            names = cluster.node_exec(cluster.nodes[0], "ctr", "-n", "k8s.io", "images", "ls",
                                      "-q").stdout.split()
            assert "localhost/lab/kindpm:1" in names
        gone = podman.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert "labpm-control-plane" not in gone
