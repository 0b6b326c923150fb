"""Live target: the user's own Docker and kind cluster; and the choice between targets.

The live node runs the same operations as :class:`~runbook_exec.lab.node.Node`, through
``docker exec <node> ctr ...`` (the way kind itself reaches a node) and asks the kubelet's
question with ``crictl inspecti`` inside the node. Argv building and output parsing are
plain functions so they are tested without a cluster.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import proc
from ..daemons import Closing
from ..errors import LabError
from ._deps import find_binary
from .engine import DEFAULT_DOCKER, BuiltImage, Engine, EngineOps
from .node import DEFAULT_KIND, NAMESPACE, Node, import_args
from .results import (
    CheckRecord,
    ImageRecord,
    ImportResult,
    KubeletView,
    is_unpacked,
    parse_check,
    parse_crictl_inspecti,
    parse_images,
    parse_import,
    strip_host_noise,
)

ENV_TARGET = "RUNBOOK_TARGET"
ENV_CLUSTER = "RUNBOOK_KIND_CLUSTER"


class NodeLike(Protocol):
    """What a runbook may call on a node, sandbox (:class:`Node`) or live (:class:`LiveNode`).

    ``Target.node`` has this type, so a method one kind of node lacks is a type error
    (mypy runs over ``runbooks/``), not a crash in a reader's notebook."""

    name: str

    @property
    def kind(self) -> str: ...
    @property
    def containerd_version(self) -> str: ...
    @property
    def description(self) -> str: ...
    def ctr(self, *args: str, timeout: float = ..., check: bool = ...,
            stdin: Path | None = ...) -> proc.Result: ...
    def crictl(self, *args: str, timeout: float = ..., check: bool = ...) -> proc.Result: ...
    def load(self, archive: str | Path, *, timeout: float = ...) -> ImportResult: ...
    def images(self) -> list[ImageRecord]: ...
    def check(self) -> list[CheckRecord]: ...
    def unpacked(self, ref: str) -> bool: ...
    def remove(self, *refs: str) -> proc.Result: ...
    def kubelet_view(self, ref: str) -> KubeletView: ...


def docker_exec_argv(node: str, argv: list[str], *, stdin: bool = False) -> list[str]:
    """kind's way into a node: ``docker exec --privileged [-i] NODE ARGV...``."""
    return ["docker", "exec", "--privileged", *(["-i"] if stdin else []), node, *argv]


def parse_kind_lines(output: str) -> list[str]:
    """Names printed one per line by ``kind get clusters`` / ``kind get nodes``.

    With nothing to list kind prints "No kind clusters found." (or "No kind nodes found
    for cluster ...") through its logger instead; such lines are not names.
    """
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.startswith("No kind ") and " " not in line.strip()
    ]


def parse_containerd_version(output: str) -> str:
    """``containerd github.com/containerd/containerd/v2 v2.3.4 <rev>`` → ``2.3.4``."""
    for word in output.split():
        if word.startswith("v") and word[1:2].isdigit():
            return word[1:]
    raise LabError(f"cannot read a containerd version from {output.strip()[:200]!r}")


def kind_for_containerd(version: str) -> str | None:
    """The newest kind release in the engine table whose nodes run containerd ``version``."""
    from ..engines import KIND_CONTAINERD

    found = [k for k, c in KIND_CONTAINERD.items() if c == f"containerd-{version}"]
    return max(found, key=lambda k: tuple(int(x) for x in k[1:].split("."))) if found else None


def parse_snapshotter(config_dump: str) -> str:
    """The CRI snapshotter from ``containerd config dump`` (what kind passes to ctr).

    containerd 1.x (config version 2) keeps it at
    ``plugins."io.containerd.grpc.v1.cri".containerd.snapshotter``; 2.x (version 3) at
    ``plugins."io.containerd.cri.v1.images".snapshotter``. Default: overlayfs.
    """
    try:
        conf = tomllib.loads(config_dump)
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"cannot parse the node's containerd config dump: {exc}") from exc
    plugins = conf.get("plugins", {})
    v3 = plugins.get("io.containerd.cri.v1.images", {}).get("snapshotter")
    v2 = plugins.get("io.containerd.grpc.v1.cri", {}).get("containerd", {}).get("snapshotter")
    return str(v3 or v2 or "overlayfs")


class LiveNode:
    """A node of a real kind cluster, reached with ``docker exec``."""

    name = "live"

    def __init__(self, container: str) -> None:
        self.container = container
        self._snapshotter: str | None = None
        self._containerd: str | None = None
        self._before: set[str] = set()

    @property
    def containerd_version(self) -> str:
        """The node's containerd release (``containerd --version`` inside it)."""
        if self._containerd is None:
            with proc.quiet():
                out = self._exec(["containerd", "--version"], timeout=30).stdout
            self._containerd = parse_containerd_version(out)
        return self._containerd

    @property
    def kind(self) -> str:
        """The kind release whose nodes run this containerd (the newest such), else the
        default: what a sandbox node standing in for this one would run."""
        return kind_for_containerd(self.containerd_version) or DEFAULT_KIND

    @property
    def description(self) -> str:
        return f"kind node {self.container}: containerd {self.containerd_version}"

    def ctr(self, *args: str, timeout: float = 60.0, check: bool = True,
            stdin: Path | None = None) -> proc.Result:
        """``docker exec --privileged [-i] NODE ctr ARGS``."""
        return self._exec(["ctr", *args], timeout=timeout, check=check, stdin=stdin)

    def crictl(self, *args: str, timeout: float = 60.0, check: bool = True) -> proc.Result:
        """``docker exec --privileged NODE crictl ARGS`` (the node's /etc/crictl.yaml)."""
        return self._exec(["crictl", *args], timeout=timeout, check=check)

    def _exec(
        self,
        argv: list[str],
        *,
        timeout: float = 60.0,
        check: bool = True,
        stdin: Path | None = None,
    ) -> proc.Result:
        res = proc.run(
            docker_exec_argv(self.container, argv, stdin=stdin is not None),
            timeout=timeout,
            check=check,
            stdin=stdin,
            merge_stderr=True,
        )
        # containerd >= 2.2 on a cgroup v1 host warns on every ctr call
        return dataclasses.replace(res, stdout=strip_host_noise(res.stdout))

    def snapshotter(self) -> str:
        if self._snapshotter is None:
            dump = self._exec(["containerd", "config", "dump"], timeout=30).stdout
            self._snapshotter = parse_snapshotter(dump)
        return self._snapshotter

    def load(self, archive: str | Path, *, timeout: float = 600.0) -> ImportResult:
        path = Path(archive)
        if not path.is_file():
            raise LabError(f"archive {path} does not exist; save an image first")
        argv = ["ctr", *import_args(self.snapshotter())]
        res = self._exec(argv, timeout=timeout, check=False, stdin=path)
        shown = proc.quote_argv(docker_exec_argv(self.container, argv, stdin=True))
        return parse_import(res.returncode, res.stdout, command=f"{shown} < {path}")

    # Your node holds your own images: the records there before the runbook started are
    # left out of images()/check(), never removed, and close() removes what the runbook
    # added. (So run one runbook at a time against a node.)
    def baseline(self) -> LiveNode:
        """Remember the records the node holds now (the reader's own)."""
        with proc.quiet():
            self._before = {r.ref for r in self._all_images()}
        return self

    def _all_images(self) -> list[ImageRecord]:
        return parse_images(self._exec(["ctr", "-n", NAMESPACE, "images", "ls"]).stdout)

    def images(self) -> list[ImageRecord]:
        return [r for r in self._all_images() if r.ref not in self._before]

    def check(self) -> list[CheckRecord]:
        rows = parse_check(self._exec(["ctr", "-n", NAMESPACE, "images", "check"]).stdout)
        return [c for c in rows if c.ref not in self._before]

    def unpacked(self, ref: str) -> bool:
        return is_unpacked(self.check(), ref)

    def remove(self, *refs: str) -> proc.Result:
        if not refs:
            raise LabError("remove() needs at least one image reference")
        mine = sorted(set(refs) & self._before)
        if mine:
            raise LabError(f"{', '.join(mine)} was on your node before this runbook started; "
                           "the runbook does not remove it (do it yourself if you mean to)")
        return self._exec(["ctr", "-n", NAMESPACE, "images", "rm", *refs])

    def close(self) -> None:
        """Remove the image records the runbook added to your node."""
        with proc.quiet():
            added = [r.ref for r in self.images()]
            if added:
                self._exec(["ctr", "-n", NAMESPACE, "images", "rm", *added], check=False)

    def kubelet_view(self, ref: str) -> KubeletView:
        res = self._exec(["crictl", "inspecti", ref], check=False)
        return parse_crictl_inspecti(ref, res.returncode, res.stdout)


class LiveEngine(EngineOps):
    """The user's own Docker engine. Names get a unique suffix; ``close`` removes them."""

    name = "live"

    def __init__(self, client: Any = None) -> None:
        self.client = client
        self.token = secrets.token_hex(4)
        self.created: list[str] = []
        self._tmp: Path | None = None

    def start(self) -> LiveEngine:
        if self.client is None:
            import docker

            self.client = docker.from_env()
        return self

    def _name(self, name: str) -> str:
        return unique_name(name, self.token)

    def cli(
        self, *args: str, timeout: float = 300.0, check: bool = True, cwd: Path | None = None,
        stdin: Path | None = None,
    ) -> proc.Result:
        """``docker ARGS`` with your docker CLI (PATH, DOCKER_HOST, your buildx plugin)."""
        return proc.run([find_binary("docker"), *args], timeout=timeout, check=check, cwd=cwd,
                        stdin=stdin, display=["docker", *args], merge_stderr=True)

    def _scratch(self) -> Path:
        if self._tmp is None:
            import tempfile

            self._tmp = Path(tempfile.mkdtemp(prefix="runbook-live-"))
        return self._tmp

    def _created(self, ref: str) -> None:
        self.created.append(ref)

    def close(self) -> None:
        if self.client is not None:
            self.remove(*self.created)
            self.created.clear()
            self.client.close()
            self.client = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def docker(self) -> str:
        """The reader's Docker release (``docker version``'s server version)."""
        if self.client is None:
            self.start()
        return self.version()

    @property
    def description(self) -> str:
        if self.client is None:
            self.start()
        info = self.client.info()
        driver = str(info.get("Driver", "?"))
        store = ("containerd image store" if "containerd" in str(info.get("DriverStatus", ""))
                 or driver.startswith(("overlayfs", "stargz")) else "graphdriver store")
        return f"your Docker {self.version()} ({store}, {driver})"

    def build(self, name: str, layers: Any, *, path: str = "/data",
              program: bytes | None = None) -> BuiltImage:
        if self.client is None:
            self.start()
        return super().build(name, layers, path=path, program=program)


def unique_name(name: str, token: str) -> str:
    """``demo:1`` → ``demo:1-runbook-<token>`` so the user's own images are never touched.

    The token goes into the tag, so the repository — what kind and containerd derive names
    from (e.g. kind v0.20.0 dropping an ``-amd64`` suffix) — stays the runbook's own."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = name, "latest"
    return f"{repo}:{tag}-runbook-{token}"


@dataclass(frozen=True)
class Choice:
    """Which target to use and why (printed at the top of a runbook)."""

    kind: str
    reason: str
    cluster: str = ""


def choose_target(env: Mapping[str, str], clusters: list[str] | None) -> Choice:
    """Decide sandbox vs live. ``clusters`` is None when kind is not installed."""
    wanted = env.get(ENV_TARGET, "").strip().lower()
    if wanted not in ("", "sandbox", "live"):
        raise LabError(f"{ENV_TARGET}={wanted!r} is not a target; use sandbox or live")
    if wanted != "live":
        why = f"{ENV_TARGET}=sandbox" if wanted else f"{ENV_TARGET} is not set"
        hint = ""
        if clusters:
            hint = f"; kind cluster {clusters[0]!r} exists: set {ENV_TARGET}=live to use it"
        return Choice("sandbox", f"{why} (the default){hint}")
    if clusters is None:
        return Choice("sandbox", f"{ENV_TARGET}=live but kind is not installed")
    if not clusters:
        return Choice("sandbox", f"{ENV_TARGET}=live but `kind get clusters` lists no cluster")
    name = env.get(ENV_CLUSTER) or ("kind" if "kind" in clusters else clusters[0])
    if name not in clusters:
        raise LabError(f"{ENV_CLUSTER}={name!r} is not among kind's clusters: {clusters}")
    return Choice("live", f"{ENV_TARGET}=live and kind cluster {name!r} exists", name)


@dataclass(frozen=True)
class Saved:
    """A ``docker save`` archive and who wrote it: a real engine, or the model of a release."""

    path: Path
    docker: str
    by: str
    real: bool

    def __str__(self) -> str:
        return f"{self.path}: written by {self.by}"


@dataclass
class Target(Closing):
    """A node and an engine to drive, and why they were chosen. Close it when done."""

    kind: str
    reason: str
    node: NodeLike
    engine: Any
    cluster: str = ""
    _closers: list[Any] = field(default_factory=list, repr=False)
    _engines: dict[str, Any] = field(default_factory=dict, repr=False)

    def kind_load(self, ref: str, archive: str | Path) -> ImportResult:
        """What ``kind load docker-image REF`` does: save REF to ``archive``, import it."""
        self.engine.save([ref], archive)
        return self.node.load(archive)

    def engine_for(self, docker: str) -> Any:
        """The engine of Docker release ``docker``: the target's own when it is that release,
        else a sandbox engine of it (:meth:`sandbox_engine`)."""
        if getattr(self.engine, "docker", None) == docker:
            return self.engine
        return self.sandbox_engine(docker)

    def sandbox_engine(self, docker: str) -> Engine:
        """A lab dockerd of release ``docker`` (started on first use): the sandbox's own
        engine when it is that release; on the live target one beside your Docker, which it
        never touches (root and the built engine are needed)."""
        if self.kind == "sandbox" and getattr(self.engine, "docker", None) == docker:
            return self.engine  # type: ignore[no-any-return]
        if os.geteuid() != 0:
            raise LabError(
                f"a sandbox Docker {docker} engine needs root; run as root, or skip this part")
        if docker not in self._engines:
            engine = Engine(docker).start()
            self._closers.append(engine.close)
            self._engines[docker] = engine
        return self._engines[docker]  # type: ignore[no-any-return]

    def save(
        self, refs: list[str] | str, path: str | Path, *, as_docker: str | None = None,
        source: Any = None,
    ) -> Saved:
        """``docker save REFS`` as Docker release ``as_docker`` writes it (default: the
        target's own engine).

        The real dockerd of that release answers where one can start (always on the
        sandbox; on the live target beside your Docker when run as root): images built in
        ``source`` (default: the target's engine) are moved into it first (``docker save``
        | ``docker load``, which keeps their IDs). Otherwise a release other than your own
        Docker can only be modelled (:mod:`runbook_exec.writers`); the answer says which.
        """
        names = [refs] if isinstance(refs, str) else list(refs)
        dest = Path(path)
        src = source if source is not None else self.engine
        if self.kind == "sandbox" or (as_docker and as_docker != self.engine.docker
                                      and _can_start_engine(as_docker)):
            engine = self.engine_for(as_docker) if as_docker else src
            if engine is not src:
                self._transfer(names, engine, src)
            engine.save(names, dest)
            return Saved(dest, engine.docker, f"real {engine.description}", True)
        # the live target, and no sandbox engine of that release can start here
        own = self.engine.version()
        if as_docker is None or as_docker == own:
            self.engine.save(names, dest)
            return Saved(dest, own, f"your Docker {own}", True)
        return _model_save(self.engine, names, dest, as_docker)

    def _transfer(self, names: list[str], engine: Any, source: Any) -> None:
        missing = [n for n in names if not engine.has(n)]
        if not missing:
            return
        handoff = Path(engine.root) / "handoff.tar"  # the sandbox engine's own temp dir
        try:
            with proc.quiet():
                source.save(missing, handoff)
                engine.load(handoff)
        finally:
            handoff.unlink(missing_ok=True)

    def registry(self) -> Any:
        """The lab's registry on 127.0.0.1 (started on first use): where "pulled" images come
        from. On the live target your Docker pushes to it and pulls from it (a loopback
        registry needs no ``insecure-registries`` entry)."""
        if "registry" not in self._engines:
            from .registry import Registry

            reg = Registry().start()
            self._closers.append(reg.close)
            self._engines["registry"] = reg
        return self._engines["registry"]

    def pulled(self, ref: str, *, as_docker: str | None = None) -> str:
        """Push ``ref`` from the main engine to the lab registry and pull it into the engine
        of ``as_docker``: the image then has a repo digest, as a pulled image does. Returns
        ``REGISTRY/NAME@sha256:…``."""
        remote = self.engine.push(ref, self.registry().host)
        engine = self.engine_for(as_docker) if as_docker else self.engine
        return str(engine.pull(remote))

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()



def _model_save(engine: Any, names: list[str], dest: Path, docker: str) -> Saved:
    from .. import writers
    from ..writers.source import image_from_save

    work = dest.with_name(dest.name + ".model")
    work.mkdir(exist_ok=True)
    try:
        with proc.quiet():
            engine.save(names, work / "source.tar")
        image = image_from_save(work / "source.tar", work / "layers")
        writers.write(image, dest, profile=docker, seed=writers.SEED_25_SHUFFLED)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by = f"the model of docker save {docker} (runbook_exec.writers; no real {docker} here)"
    return Saved(dest, docker, by, False)


def _can_start_engine(docker: str) -> bool:
    """Whether a sandbox dockerd of release ``docker`` can start here: root, and built."""
    from .. import engines
    from ..errors import EngineError

    if os.geteuid() != 0:
        return False
    try:
        return all(engines.find(s) is not None for s in engines.docker_engines(docker))
    except EngineError:  # a release with no engine: the model answers
        return False


def kind_clusters() -> list[str] | None:
    """``kind get clusters``, or None when kind is not installed."""
    if shutil.which("kind") is None:
        return None
    res = proc.run(
        ["kind", "get", "clusters"], timeout=30, check=False, echo=False, merge_stderr=True
    )
    return parse_kind_lines(res.stdout) if res.ok else []


def open_target(
    env: Mapping[str, str] | None = None,
    *,
    engine: bool = True,
    docker: str = DEFAULT_DOCKER,
    kind: str = DEFAULT_KIND,
    sandbox_only: str = "",
) -> Target:
    """Open the sandbox (default) or live target, print which and why, and return it.

    On the sandbox the node runs the containerd of kind release ``kind`` and the engine is
    the real dockerd of Docker release ``docker``, both built from source. ``sandbox_only``
    (the reason, e.g. "this runbook compares nine Docker releases") keeps a runbook on the
    sandbox even with ``RUNBOOK_TARGET=live``, and says so."""
    env = os.environ if env is None else env
    if sandbox_only and env.get(ENV_TARGET, "").strip().lower() == "live":
        env = dict(env, **{ENV_TARGET: "sandbox"})
        print(f"target: sandbox — {ENV_TARGET}=live, but {sandbox_only}; it runs in the "
              "sandbox, which never touches your Docker or your clusters", flush=True)
        return open_target(env, engine=engine, docker=docker, kind=kind)
    choice = choose_target(env, kind_clusters())
    print(f"target: {choice.kind} — {choice.reason}", flush=True)
    if choice.kind == "live":
        find_binary("docker")
        nodes = parse_kind_lines(
            proc.run(["kind", "get", "nodes", "--name", choice.cluster], timeout=30).output
        )
        if not nodes:
            raise LabError(f"kind cluster {choice.cluster!r} has no nodes")
        node_name = next((n for n in nodes if n.endswith("-control-plane")), nodes[0])
        live_engine = LiveEngine().start()
        live_node = LiveNode(node_name).baseline()
        target = Target("live", choice.reason, live_node, live_engine, choice.cluster)
        target._closers.append(live_engine.close)
        target._closers.append(live_node.close)
        return target
    node = Node(kind=kind).start()
    target = Target("sandbox", choice.reason, node, None)
    target._closers.append(node.close)
    print(f"node: {node.description}", flush=True)
    if engine:
        try:
            sandbox_engine = Engine(docker).start()
        except BaseException:
            target.close()
            raise
        target.engine = sandbox_engine
        target._closers.append(sandbox_engine.close)
        print(f"engine: {sandbox_engine.description}", flush=True)
    return target
