"""Real kind against lab node containers: the kind CLI of a release, unmodified, loading
images into node containers that carry kind's labels.

``kind load docker-image`` needs only this of a cluster: containers labelled
``io.x-k8s.kind.cluster=<name>`` and ``io.x-k8s.kind.role=<role>``, ``docker exec
--privileged`` into them, and ``ctr``, ``crictl`` and ``containerd config dump`` inside. The
lab's node image is ``FROM scratch`` with the static binaries of the chosen kind release's
containerd (+ ctr, shim) and crictl, kind's CRI settings in ``/etc/containerd/config.toml``
and its ``/etc/crictl.yaml``; ``/var/lib/containerd`` is a volume, so overlayfs never stacks on
the engine's own storage. Nothing is pulled: the engine builds the image from the cache.

What this node is not: there is no kubelet, no API server, no CNI, no systemd — containerd is
the container's only process. Enough for every ``kind load`` path; not a cluster.
"""

from __future__ import annotations

import os
import shutil

from .. import engines, proc
from ..errors import LabError
from .engine import Engine

CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"
CRICTL = "crictl-1.36.0"
KIND_CLI = {"v0.20.0": "kind-0.20.0", "v0.33.0": "kind-0.33.0"}

# kind's images/base/files/etc/containerd/config.toml, the parts an import reads (v2 layout;
# containerd 2.x migrates it and `containerd config dump` prints version 3, as on kind >= v0.27)
CONTAINERD_CONFIG = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = false
  tolerate_missing_hugetlb_controller = true
  sandbox_image = "registry.k8s.io/pause:3.9"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = true
"""
CRICTL_YAML = ("runtime-endpoint: unix:///run/containerd/containerd.sock\n"
               "image-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 20\n")
DOCKERFILE = """FROM scratch
COPY bin/ /usr/local/bin/
COPY config.toml /etc/containerd/config.toml
COPY crictl.yaml /etc/crictl.yaml
COPY keep /tmp/.keep
COPY keep /run/.keep
COPY keep /var/lib/containerd/.keep
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["/usr/local/bin/containerd"]
"""


def node_image_ref(kind: str) -> str:
    return f"kindest/lab-node:{kind}"


def build_node_image(engine: Engine, kind: str) -> str:
    """Build the lab's node image for kind release ``kind`` in ``engine``; return its ref."""
    containerd = engines.require(engines.node_containerd(kind))
    crictl = engines.require(engines.spec(CRICTL))
    ctx = engine.root / f"node-image-{kind}"
    shutil.rmtree(ctx, ignore_errors=True)
    (ctx / "bin").mkdir(parents=True)
    for binary in containerd.spec.binaries:
        shutil.copy2(containerd.bin(binary), ctx / "bin" / binary)
    shutil.copy2(crictl.bin("crictl"), ctx / "bin" / "crictl")
    (ctx / "config.toml").write_text(CONTAINERD_CONFIG)
    (ctx / "crictl.yaml").write_text(CRICTL_YAML)
    (ctx / "keep").write_text("")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    ref = node_image_ref(kind)
    with proc.quiet():
        engine.cli("build", "-q", "-t", ref, str(ctx), timeout=300)
    shutil.rmtree(ctx, ignore_errors=True)
    return ref


class KindCluster:
    """Node containers of kind release ``kind`` in ``engine``, named and labelled as kind
    names and labels them, and that release's real kind CLI pointed at the engine."""

    def __init__(self, engine: Engine, *, kind: str = "v0.20.0", name: str = "kind",
                 cli: str | None = None) -> None:
        self.engine = engine
        self.kind = kind
        self.name = name
        cli_release = cli or kind
        if cli_release not in KIND_CLI:
            raise LabError(f"no kind CLI engine for {cli_release}; known: {', '.join(KIND_CLI)}")
        self.kind_cli = engines.require(engines.spec(KIND_CLI[cli_release]))
        self.nodes: list[str] = []

    @property
    def description(self) -> str:
        spec = self.kind_cli.spec
        containerd = engines.node_containerd(self.kind).version
        return (f"kind {spec.version} CLI ({spec.module_at}, go{spec.go}); node containers "
                f"{', '.join(self.nodes)} with containerd {containerd}, "
                f"in {self.engine.description}")

    def start(self, roles: tuple[str, ...] = ("control-plane",)) -> KindCluster:
        image = build_node_image(self.engine, self.kind)
        for i, role in enumerate(roles):
            node = f"{self.name}-{role}" + (str(i) if role == "worker" and i > 1 else "")
            with proc.quiet():
                self.engine.cli(
                    "run", "-d", "--privileged", "--name", node, "--hostname", node,
                    "--label", f"{CLUSTER_LABEL}={self.name}", "--label", f"{ROLE_LABEL}={role}",
                    "-v", "/var/lib/containerd", "--tmpfs", "/run", "--tmpfs", "/tmp", image,
                )
            self.nodes.append(node)
            self._wait_ready(node)
        return self

    def _wait_ready(self, node: str, timeout: float = 20.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:
            with proc.quiet():
                res = self.engine.cli("exec", node, "ctr", "version", check=False, timeout=20)
            if res.ok:
                return
            if time.monotonic() > deadline:
                raise LabError(f"node container {node} did not answer: {res.output[-500:]}")
            time.sleep(0.2)

    def kind_cmd(self, *args: str, timeout: float = 600.0) -> proc.Result:
        """Run the real ``kind ARGS`` against this engine (``DOCKER_HOST`` at it, the engine's
        own docker CLI first on PATH, as kind shells out to ``docker``)."""
        path = f"{self.engine.cli_engine.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        env = dict(os.environ, DOCKER_HOST=f"unix://{self.engine.socket}",
                   DOCKER_CONFIG=str(self.engine.root / "cli-config"), PATH=path)
        argv = [str(self.kind_cli.bin("kind")), *args]
        return proc.run(argv, timeout=timeout, check=False, env=env, display=["kind", *args],
                        merge_stderr=True)

    def node_exec(self, node: str, *argv: str) -> proc.Result:
        """``docker exec --privileged NODE ARGV`` — how kind reaches a node."""
        return self.engine.cli("exec", "--privileged", node, *argv, check=False)

    def close(self) -> None:
        """Remove the node containers and their volumes (the engine goes with its owner)."""
        for node in self.nodes:
            with proc.quiet():
                self.engine.cli("rm", "-f", "-v", node, check=False)
        self.nodes = []

    def __enter__(self) -> KindCluster:
        return self.start() if not self.nodes else self

    def __exit__(self, *exc: object) -> None:
        self.close()
