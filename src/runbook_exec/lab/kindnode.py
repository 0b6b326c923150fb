"""Real kind against lab node containers: the kind CLI of a release, unmodified, loading
images into node containers that carry kind's labels, and a kubelet running pods there.

``kind load docker-image`` needs only this of a cluster: containers labelled
``io.x-k8s.kind.cluster=<name>`` and ``io.x-k8s.kind.role=<role>``, ``docker exec
--privileged`` into them, and ``ctr``, ``crictl`` and ``containerd config dump`` inside. The
lab's node image is ``FROM scratch`` with static binaries only — the chosen kind release's
containerd (+ ctr, shim), runc and crictl, and with ``kubelet=True`` a kubelet (1.26.15 for
v0.20.0, the seed's Kubernetes; 1.37.0, kind v0.33.0's default node, for the latest) and
the pause image — so nothing is pulled and no distribution's packages are needed: every
binary in the node is one the engines room built from its module. kind's CRI settings are in
``/etc/containerd/config.toml``, its ``/etc/crictl.yaml`` beside it; ``/var`` is a volume,
so overlayfs never stacks on the engine's own storage.

What this node is not: no API server, scheduler or controller manager (the kubelet runs
standalone, pods come from static manifests and events go to its log), no CNI (pods use the
host network), no systemd (``docker exec -d`` starts the kubelet), no kubeadm. Enough for
every ``kind load`` path and for the kubelet's side of the failure; not a cluster.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .. import engines, proc
from ..daemons import Closing
from ..errors import LabError
from . import kubelet as kl
from .clientenv import own_env
from .engine import Engine

CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"
CRICTL = "crictl-1.36.0"
KIND_CLI = {"v0.20.0": "kind-0.20.0", "v0.31.0": "kind-0.31.0", "v0.33.0": "kind-0.33.0"}

# kind's images/base/files/etc/containerd/config.toml, the parts an import reads (v2 layout;
# containerd 2.x migrates it and `containerd config dump` prints version 3, as on kind >= v0.27)
CONTAINERD_CONFIG = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = {restrict_oom}
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
# with a kubelet: its configuration and the directories it expects
KUBELET_DOCKERFILE = f"""COPY kubelet.yaml {kl.CONFIG}
COPY passwd /etc/passwd
COPY group /etc/group
COPY keep {kl.MANIFESTS}/.keep
COPY keep /var/lib/kubelet/.keep
COPY keep {kl.LOG_DIR}/.keep
"""
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"  # CONTAINERD_CONFIG's sandbox_image


_CAP_SYS_RESOURCE = 24


def host_can_lower_oom_score() -> bool:
    """Whether this machine's root holds CAP_SYS_RESOURCE, which lowering an
    ``oom_score_adj`` needs (the kubelet gives pod sandboxes -998). Some sandboxed machines
    withhold it; kind's rootless nodes meet the same and set ``restrict_oom_score_adj``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> _CAP_SYS_RESOURCE & 1)
    return False


def containerd_config() -> str:
    """kind's CRI settings; ``restrict_oom_score_adj`` as kind sets it (false), unless the
    host cannot lower OOM scores: then true, as kind's rootless provider sets it, so the CRI
    plugin clamps -998 to its own score instead of runc failing with
    ``failed to update /proc/self/oom_score_adj: Permission denied``."""
    restrict = "false" if host_can_lower_oom_score() else "true"
    return CONTAINERD_CONFIG.replace("{restrict_oom}", restrict)


def pause_program() -> bytes:
    """The static pause binary (kubernetes' build/pause/linux/pause.c, built by the engines
    room): the sandbox of every pod, and a program the lab's test images can run
    (``Engine.build(..., program=pause_program())``)."""
    return engines.require(engines.spec("pause-3.9")).bin("pause").read_bytes()


def node_image_ref(kind: str) -> str:
    return f"kindest/lab-node:{kind}"


def build_node_image(engine: Engine, kind: str, *, kubelet: bool = False) -> str:
    """Build the lab's node image for kind release ``kind`` in ``engine``; return its ref."""
    if kubelet:
        parts = engines.node_binaries(kind)  # says which releases have a kubelet engine
        built = [engines.require(parts[k]) for k in ("containerd", "runc", "kubelet")]
    else:
        built = [engines.require(engines.node_containerd(kind))]
    built.append(engines.require(engines.spec(CRICTL)))
    ctx = engine.root / f"node-image-{kind}"
    shutil.rmtree(ctx, ignore_errors=True)
    (ctx / "bin").mkdir(parents=True)
    for engine_built in built:
        for binary in engine_built.spec.binaries:
            shutil.copy2(engine_built.bin(binary), ctx / "bin" / binary)
    (ctx / "config.toml").write_text(containerd_config())
    (ctx / "crictl.yaml").write_text(CRICTL_YAML)
    (ctx / "keep").write_text("")
    dockerfile = DOCKERFILE
    if kubelet:
        version = engines.node_binaries(kind)["kubelet"].version
        (ctx / "kubelet.yaml").write_text(kl.kubelet_config(version))
        # kubelet >= 1.30 reads /etc/passwd for its user-namespace mappings (a "kubelet"
        # user); a Debian node has the file, a FROM-scratch one only root's lines
        (ctx / "passwd").write_text("root:x:0:0:root:/root:/sbin/nologin\n")
        (ctx / "group").write_text("root:x:0:\n")
        dockerfile += KUBELET_DOCKERFILE
    (ctx / "Dockerfile").write_text(dockerfile)
    ref = node_image_ref(kind) + ("-kubelet" if kubelet else "")
    with proc.quiet():
        engine.cli("build", "-q", "-t", ref, str(ctx), timeout=300)
    shutil.rmtree(ctx, ignore_errors=True)
    return ref


def kind_cli_engine(release: str) -> engines.Built:
    """The built kind CLI engine of kind ``release`` (``v0.33.0``), or a LabError naming the
    releases there are."""
    if release not in KIND_CLI:
        raise LabError(f"no kind CLI engine for {release}; known: {', '.join(KIND_CLI)}")
    return engines.require(engines.spec(KIND_CLI[release]))


class KindCluster(Closing):
    """Node containers of kind release ``kind`` in ``engine``, named and labelled as kind
    names and labels them, and that release's real kind CLI pointed at the engine."""

    def __init__(self, engine: Engine, *, kind: str = "v0.20.0", name: str = "kind",
                 cli: str | None = None, kubelet: bool = False) -> None:
        self.engine = engine
        self.kind = kind
        self.name = name
        self.kubelet = engines.node_binaries(kind)["kubelet"] if kubelet else None
        self._attempts: dict[str, int] = {}
        self.kind_cli = kind_cli_engine(cli or kind)
        self.nodes: list[str] = []

    @property
    def description(self) -> str:
        spec = self.kind_cli.spec
        containerd = engines.node_containerd(self.kind).version
        kubelet = ""
        if self.kubelet is not None:
            runc = engines.node_binaries(self.kind)["runc"]
            kubelet = (f", runc {runc.version} and a standalone kubelet {self.kubelet.version} "
                       f"({self.kubelet.module_at}, go{self.kubelet.go})")
            if not host_can_lower_oom_score():
                kubelet += " (restrict_oom_score_adj = true: this host withholds CAP_SYS_RESOURCE)"
        return (f"kind {spec.version} CLI ({spec.module_at}, go{spec.go}); node containers "
                f"{', '.join(self.nodes)} with containerd {containerd}{kubelet}, "
                f"in {self.engine.description}")

    def start(self, roles: tuple[str, ...] = ("control-plane",)) -> KindCluster:
        image = build_node_image(self.engine, self.kind, kubelet=self.kubelet is not None)
        for i, role in enumerate(roles):
            node = f"{self.name}-{role}" + (str(i) if role == "worker" and i > 1 else "")
            mounts: list[str] = []
            if self.kubelet is not None:
                host = self._host_dir(node)
                (host / "manifests").mkdir(parents=True, exist_ok=True)
                (host / "log").mkdir(parents=True, exist_ok=True)
                mounts = ["-v", f"{host / 'manifests'}:{kl.MANIFESTS}",
                          "-v", f"{host / 'log'}:{kl.LOG_DIR}"]
            with proc.quiet():
                self.engine.cli(
                    "run", "-d", "--privileged", "--name", node, "--hostname", node,
                    "--label", f"{CLUSTER_LABEL}={self.name}", "--label", f"{ROLE_LABEL}={role}",
                    "-v", "/var", *mounts, "--tmpfs", "/run", "--tmpfs", "/tmp", image,
                )
            self.nodes.append(node)
            self._wait_ready(node)
            if self.kubelet is not None:
                self._start_kubelet(node)
        return self

    # -- the kubelet ------------------------------------------------------------------------

    def _host_dir(self, node: str) -> Path:
        return self.engine.root / "kind-nodes" / node

    @property
    def control_plane(self) -> str:
        return next((n for n in self.nodes if n.endswith("-control-plane")), self.nodes[0])

    def _start_kubelet(self, node: str) -> None:
        assert self.kubelet is not None
        pause = pause_program()
        archive = self.engine.root / "pause.tar"
        with proc.quiet():
            if not self.engine.has(PAUSE_IMAGE):
                self.engine.build(PAUSE_IMAGE, [], program=pause)
            self.engine.save([PAUSE_IMAGE], archive)
            res = self.engine.cli("exec", "-i", node, "ctr", "-n", "k8s.io", "images", "import",
                                  "-", stdin=archive, check=False, timeout=120)
        archive.unlink(missing_ok=True)
        if not res.ok:
            raise LabError(f"importing {PAUSE_IMAGE} into {node} failed: {res.output[-500:]}")
        argv = kl.kubelet_argv(self.kubelet.version, node=node)
        with proc.quiet():
            self.engine.cli("exec", "-d", "--privileged", node, *argv)
        self._wait_kubelet(node)

    def kubelet_log(self, node: str | None = None) -> str:
        """The kubelet's log (kube-log-runner's file, on a bind mount)."""
        path = self._host_dir(node or self.control_plane) / "log" / "kubelet.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def _wait_kubelet(self, node: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            log = self.kubelet_log(node)
            if '"Started kubelet"' in log or "Started kubelet" in log:
                return
            if "command failed" in log or time.monotonic() > deadline:
                tail = "\n".join(log.strip().splitlines()[-15:])
                raise LabError(f"the kubelet in {node} did not start:\n{tail}")
            time.sleep(0.3)

    def run_pod(self, name: str, image: str, *, node: str | None = None,
                pull_policy: str = "IfNotPresent") -> str:
        """Put a static pod manifest running ``image`` on ``node``; return the pod's name as
        the kubelet names it (``NAME-NODE``)."""
        node = node or self.control_plane
        manifest = self._host_dir(node) / "manifests" / f"{name}.json"
        # the kubelet derives a static pod's UID from its file: a new attempt number makes a
        # manifest put back after delete_pod() a new pod, as a recreated pod is on a cluster
        self._attempts[name] = self._attempts.get(name, 0) + 1
        text = kl.static_pod(name, image, pull_policy=pull_policy,
                             attempt=self._attempts[name])
        proc.echo(f"cat > {kl.MANIFESTS}/{name}.json  # on {node}: pod {name}, image {image}, "
                  f"imagePullPolicy: {pull_policy}")
        manifest.write_text(text)
        return f"{name}-{node}"

    def delete_pod(self, name: str, *, node: str | None = None, timeout: float = 60.0) -> None:
        """Remove the static pod's manifest: the kubelet stops and removes the pod."""
        node = node or self.control_plane
        proc.echo(f"rm {kl.MANIFESTS}/{name}.json  # on {node}")
        (self._host_dir(node) / "manifests" / f"{name}.json").unlink(missing_ok=True)
        # gone when the CRI plugin has no ready sandbox of it left
        deadline = time.monotonic() + timeout
        while True:
            with proc.quiet():
                res = self.node_exec(node, "crictl", "pods", "-q", "--state", "ready",
                                     "--name", f"{name}-{node}")
            if res.ok and not res.stdout.strip():
                return
            if time.monotonic() > deadline:
                raise LabError(f"pod {name}-{node} still has a sandbox after {timeout:.0f} s")
            time.sleep(0.5)

    def events(self, pod: str | None = None, *, node: str | None = None) -> list[kl.Event]:
        """The kubelet's events (of ``pod``, a name as :meth:`run_pod` returns it)."""
        found = kl.parse_events(self.kubelet_log(node))
        return [e for e in found if pod is None or e.object == f"default/{pod}"]

    def wait_event(self, pod: str, reason: str, *, node: str | None = None,
                   after: int = 0, timeout: float = 120.0) -> list[kl.Event]:
        """Wait until ``pod`` has an event with ``reason`` beyond the first ``after`` of its
        events; return its events from ``after`` on."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(pod, node=node)[after:]
            if any(e.reason == reason for e in found):
                return found
            if time.monotonic() > deadline:
                seen = "\n".join(str(e) for e in found) or "(none)"
                raise LabError(f"pod {pod}: no {reason} event in {timeout:.0f} s; events:\n{seen}")
            time.sleep(0.5)

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
        env = own_env(DOCKER_HOST=f"unix://{self.engine.socket}",
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
            shutil.rmtree(self._host_dir(node), ignore_errors=True)
        self.nodes = []

    def __enter__(self) -> KindCluster:
        return self.start() if not self.nodes else self

