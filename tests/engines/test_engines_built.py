"""Every engine in the table is built, and each binary is what the table says it is.

The README's commands build all engines before the tests, so an unbuilt engine fails here
(it is not skipped): CI must never fall back to a model for an engine declared real.
"""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest

from runbook_exec.engines import ENGINES, EngineSpec, find, module_of, toolchain

# What each kind of binary prints for --version / version, and the pattern that must match.
VERSION_ARGV = {
    "dockerd": ["--version"],
    "docker": ["--version"],
    "containerd": ["--version"],
    "ctr": ["--version"],
    "containerd-shim-runc-v2": ["-v"],
    "crictl": ["--version"],
    "kind": ["version"],
    "registry": ["--version"],
    "buildx": ["version"],
    "runc": ["--version"],
    "kubelet": ["--version"],
    "kube-log-runner": ["-help"],
    "pause": ["-v"],
}


def _expected(spec: EngineSpec, binary: str) -> str:
    v = re.escape(spec.version)
    if binary in ("dockerd", "docker"):
        return rf"^Docker version {v}, build "
    if binary in ("containerd", "ctr", "containerd-shim-runc-v2"):
        return rf"\bv{v}\b"
    if binary == "crictl":
        return rf"^crictl version v{v}$"
    if binary in ("registry", "buildx"):
        return rf"\bv{v}\b"
    if binary == "runc":
        return rf"^runc version {v}\ncommit: v{v}\n"
    if binary == "kubelet":
        return rf"^Kubernetes v{v}$"
    if binary == "kube-log-runner":
        return r"-log-file"
    if binary == "pause":
        return rf"^pause\.c v{v}-{re.escape(spec.module_version)}$"
    return rf"^kind v{v} go{re.escape(spec.go)} linux/amd64$"


def _ids(spec: EngineSpec) -> str:
    return spec.name


@pytest.mark.parametrize("spec", ENGINES, ids=_ids)
def test_engine_binaries_report_their_release(spec: EngineSpec) -> None:
    built = find(spec)
    assert built is not None, f"{spec.name} is not built: run `runbook-exec engines build`"
    for binary in spec.binaries:
        out = subprocess.run(
            [str(built.bin(binary)), *VERSION_ARGV[binary]],
            capture_output=True, text=True, timeout=30, check=False,
        )
        text = (out.stdout + out.stderr).strip()
        assert re.search(_expected(spec, binary), text, re.M), (binary, text)


@pytest.mark.parametrize("spec", ENGINES, ids=_ids)
def test_engine_binaries_were_built_by_the_release_go(spec: EngineSpec) -> None:
    built = find(spec)
    assert built is not None, f"{spec.name} is not built: run `runbook-exec engines build`"
    if spec.is_c:
        for binary, rel in spec.binaries.items():
            record = built.provenance["binaries"][binary]  # type: ignore[index]
            assert record["source"] == f"{spec.module_at}/{rel}"
            assert hashlib.sha256(built.bin(binary).read_bytes()).hexdigest() == record["sha256"]
            elf = built.bin(binary).read_bytes()
            assert b"/lib64/ld-linux" not in elf, "a node FROM scratch needs a static binary"
        return
    go = toolchain.go_binary(spec)
    for binary in spec.binaries:
        info = subprocess.run(
            [go, "version", "-m", str(built.bin(binary))],
            capture_output=True, text=True, timeout=60, check=True,
            env=toolchain.go_env(spec),
        ).stdout
        assert info.splitlines()[0].endswith(f": go{spec.go}"), info.splitlines()[0]
        mod, ver = module_of(spec, spec.binaries[binary]).split("@")
        assert f"\tmod\t{mod}\t{ver}\t" in info
        # the file on disk is the one the provenance record (and the site) names
        digest = hashlib.sha256(built.bin(binary).read_bytes()).hexdigest()
        assert digest == built.sha256(binary), (binary, "changed since it was built")
