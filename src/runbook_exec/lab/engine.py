"""A Docker engine for the lab, through the ``docker`` SDK.

:class:`Engine` is a throwaway dockerd of a chosen Docker release, built from moby's module
at that tag (:mod:`runbook_exec.engines`), with no iptables and no bridge, its own data
root, exec root, socket, pid file and a private containerd, all in one temp dir.
It builds small ``FROM scratch`` images with the legacy builder (what
``DOCKER_BUILDKIT=0 docker build`` uses) and saves them exactly as ``docker save`` does.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import engines, proc
from ..daemons import Closing, Daemon
from ..errors import LabError
from ._containerd import Containerd, make_workdir, remove_workdir
from ._deps import require_root
from .clientenv import own_env

SHORT_EXEC_PREFIX = "runbook-x-"

# Fixed mtimes keep every DiffID (and so every digest a runbook prints) the same run to run.
_EPOCH = 1_700_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BuiltImage:
    """An image the lab built: the reference to use, its ID and its layers (DiffIDs)."""

    ref: str
    image_id: str
    diff_ids: tuple[str, ...]
    dockerfile: str


def dockerfile_for(layers: Sequence[bytes], *, path: str = "/data") -> tuple[str, list[int]]:
    """The Dockerfile and, per layer, which distinct content file it copies.

    Every layer writes ``path``; identical contents share one context file (same bytes,
    same mtime), so they give identical layer tars, i.e. the same DiffID. A layer equal to
    the one just before it would change nothing, and the legacy builder then commits an
    empty diff that breaks the next step, so that is refused.
    """
    if not layers:
        raise LabError("build() needs at least one layer")
    slots: list[int] = []
    seen: dict[bytes, int] = {}
    for i, content in enumerate(layers):
        if i and content == layers[i - 1]:
            raise LabError(
                f"layer {i} repeats layer {i - 1} directly: that COPY would change nothing; "
                "put a different layer between repeats"
            )
        slots.append(seen.setdefault(content, len(seen)))
    lines = ["FROM scratch"] + [f"COPY c{slot} {path}" for slot in slots]
    return "\n".join(lines) + "\n", slots


PROGRAM_PATH = "/pause"


def build_context(dockerfile: str, contents: Sequence[bytes], *,
                  program: bytes | None = None) -> bytes:
    """A build context tar: the Dockerfile, one file per distinct layer content and, if
    given, an executable ``program`` (mode 0755: the legacy builder's COPY keeps modes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        members = [("Dockerfile", dockerfile.encode())]
        members += [(f"c{i}", data) for i, data in enumerate(contents)]
        if program is not None:
            members.append(("program", program))
        for i, (name, data) in enumerate(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name == "program" else 0o644
            # distinct mtimes: vfs's naive diff compares size and mtime, not bytes
            info.mtime = _EPOCH + i
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class EngineOps:
    """Build, save and remove through a ``docker.DockerClient``; shared by sandbox and live."""

    client: Any

    def _name(self, name: str) -> str:
        return name

    def _created(self, ref: str) -> None:
        pass

    def build(self, name: str, layers: Sequence[bytes], *, path: str = "/data",
              program: bytes | None = None) -> BuiltImage:
        """Build ``FROM scratch`` with one ``COPY`` layer per entry of ``layers``; with
        ``program`` (a static executable) a last layer puts it at ``/pause`` as the
        entrypoint, so a pod can run the image."""
        import docker.errors

        ref = self._name(name)
        slots: list[int]
        if program is not None and not layers:
            dockerfile, slots = "FROM scratch\n", []
        else:
            dockerfile, slots = dockerfile_for(layers, path=path)
        if program is not None:
            dockerfile += f'COPY program {PROGRAM_PATH}\nENTRYPOINT ["{PROGRAM_PATH}"]\n'
        distinct = sorted({slot: layers[i] for i, slot in enumerate(slots)}.items())
        context = build_context(dockerfile, [data for _, data in distinct], program=program)
        proc.echo(f"DOCKER_BUILDKIT=0 docker build -t {ref} .")
        try:
            image, _logs = self.client.images.build(
                fileobj=io.BytesIO(context), custom_context=True, tag=ref, rm=True, forcerm=True
            )
        except docker.errors.BuildError as exc:
            log = "".join(str(item.get("stream", item.get("error", ""))) for item in exc.build_log)
            raise LabError(f"building {ref} failed: {exc.msg}\n{log.strip()}") from exc
        self._created(ref)
        layers_ids = tuple(image.attrs["RootFS"].get("Layers") or ())
        return BuiltImage(ref, image.id, layers_ids, dockerfile)

    def cli(
        self, *args: str, timeout: float = 300.0, check: bool = True, cwd: Path | None = None,
        stdin: Path | None = None,
    ) -> proc.Result:
        """``docker ARGS`` against this engine."""
        raise NotImplementedError

    def _scratch(self) -> Path:
        """A directory of this engine's own for build contexts."""
        raise NotImplementedError

    def buildx_push(
        self,
        ref: str,
        layers: Sequence[bytes],
        *,
        platforms: Sequence[str],
        provenance: bool,
    ) -> proc.Result:
        """``docker buildx build --platform P,... --provenance=B --push -t REF .`` of a
        ``FROM scratch`` image with one ``COPY`` per layer (no RUN, so no emulation needed)."""
        dockerfile, slots = dockerfile_for(layers)
        scratch = self._scratch()
        context = scratch / f"context-{len(list(scratch.glob('context-*')))}"
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile)
        for i, slot in enumerate(slots):
            (context / f"c{slot}").write_bytes(layers[i])
        return self.cli("buildx", "build", "--platform", ",".join(platforms),
                        f"--provenance={'true' if provenance else 'false'}", "--push",
                        "-t", ref, ".", cwd=context, timeout=600)

    def save(self, refs: Iterable[str] | str, path: str | Path) -> Path:
        """Write ``docker save REFS`` output to ``path`` (streamed; removed on failure)."""
        names = [refs] if isinstance(refs, str) else list(refs)
        if not names:
            raise LabError("save() needs at least one image reference")
        dest = Path(path)
        proc.echo(proc.quote_argv(["docker", "save", "-o", str(dest), *names]))
        api = self.client.api
        try:
            # GET /images/get?names=... is what `docker save` calls; the SDK only wraps the
            # single-image form, so the multi-name request goes through its HTTP helpers.
            res = api._get(api._url("/images/get"), params={"names": names}, stream=True)
            api._raise_for_status(res)
            with dest.open("wb") as out:
                for chunk in res.iter_content(_CHUNK):
                    out.write(chunk)
        except BaseException as exc:
            dest.unlink(missing_ok=True)
            if isinstance(exc, Exception):
                raise LabError(f"docker save {' '.join(names)} failed: {exc}") from exc
            raise
        return dest

    def remove(self, *refs: str) -> None:
        """Remove images by reference (``docker rmi``); missing ones are ignored."""
        import docker.errors

        for ref in refs:
            with contextlib.suppress(docker.errors.ImageNotFound):
                self.client.images.remove(ref, force=True)

    def push(self, ref: str, registry: str) -> str:
        """``docker tag REF REGISTRY/REF`` + ``docker push``; returns the pushed reference."""
        remote = f"{registry}/{ref}"
        proc.echo(proc.quote_argv(["docker", "tag", ref, remote]))
        self.client.images.get(ref).tag(remote)
        proc.echo(proc.quote_argv(["docker", "push", remote]))
        for line in self.client.images.push(remote, stream=True, decode=True):
            if "error" in line:
                raise LabError(f"docker push {remote} failed: {line['error']}")
        return remote

    def pull(self, ref: str, *, platform: str | None = None) -> str:
        """``docker pull [--platform P] REF``; returns the image's repo digest reference."""
        argv = ["docker", "pull", *(["--platform", platform] if platform else []), ref]
        proc.echo(proc.quote_argv(argv))
        repo, _, tag = ref.rpartition(":")
        image = self.client.images.pull(repo, tag=tag, platform=platform)
        digests = [d for d in image.attrs.get("RepoDigests") or () if d.startswith(repo + "@")]
        if not digests:
            raise LabError(f"docker pull {ref} gave no repo digest")
        return str(digests[0])

    def load(self, path: str | Path) -> None:
        """``docker load -i PATH``."""
        proc.echo(proc.quote_argv(["docker", "load", "-i", str(path)]))
        with Path(path).open("rb") as fh:
            self.client.images.load(fh)

    def has(self, ref: str) -> bool:
        """Whether the engine has an image called ``ref``."""
        import docker.errors

        try:
            self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def version(self) -> str:
        """The engine's version (``docker version --format '{{.Server.Version}}'``)."""
        return str(self.client.version()["Version"])

    def image_id(self, ref: str) -> str:
        """``docker image inspect -f {{ .Id }} REF`` (kind's first step)."""
        return str(self.client.images.get(ref).id)


BUILDX = "buildx-0.38.2"

# The Docker release a runbook gets unless it names one: the last one before 25.0.0's change.
DEFAULT_DOCKER = "24.0.7"


def docker_major(version: str) -> int:
    return int(version.split(".", 1)[0])


def engine_containerd(docker: str) -> str:
    """The containerd behind a sandbox dockerd: 1.7 for Docker 24/25 (their static packages
    shipped 1.6/1.7), 2.3 for Docker 29 (its containerd image store needs containerd 2)."""
    return "containerd-2.3.4" if docker_major(docker) >= 29 else "containerd-1.7.24"


def dockerd_major(version_output: str) -> int:
    """Major version from ``dockerd --version`` ("Docker version 20.10.24+dfsg1, build ...")."""
    match = re.search(r"version (\d+)\.", version_output)
    if match is None:
        raise LabError(f"cannot read the dockerd version from {version_output.strip()!r}")
    return int(match.group(1))


def daemon_json(base: Path, major: int, *, containerd_store: bool = False) -> str:
    """dockerd's config file; it replaces /etc/docker/daemon.json for the sandbox engine.

    dockerd ≤ 22 writes a trust key to /etc/docker/key.json unless told otherwise. Docker 29
    picks the containerd image store on a fresh data root; the ``containerd-snapshotter``
    feature turned off is the documented way back to the graphdriver store.
    """
    conf: dict[str, object] = {}
    if major < 23:
        conf["deprecated-key-path"] = str(base / "key.json")
    if major >= 29 and not containerd_store:
        conf["features"] = {"containerd-snapshotter": False}
    return json.dumps(conf)


class Engine(EngineOps, Closing):
    """A sandbox dockerd of Docker release ``docker``, built from moby's module at that tag,
    with the docker CLI of the same release. ``with Engine("25.0.0") as engine:`` or
    ``start()`` … ``close()``.

    Releases before 29 run the graphdriver store (vfs, as overlay2 cannot stack on the lab's
    own storage); 29 runs the containerd image store, the default of a fresh install."""

    name = "sandbox"

    def __init__(
        self,
        docker: str = DEFAULT_DOCKER,
        *,
        containerd_store: bool | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.docker = docker
        require_root("the sandbox Docker engine")
        dockerd_spec, cli_spec = engines.docker_engines(docker)
        self.dockerd_engine = engines.require(dockerd_spec)
        self.cli_engine = engines.require(cli_spec)
        self.containerd_engine = engines.require(engines.spec(engine_containerd(docker)))
        # None: what a fresh install of this release does (29: the containerd image store)
        default_store = docker_major(docker) >= 29
        if containerd_store and not default_store:
            raise LabError(f"the sandbox runs the containerd image store only for Docker 29, "
                           f"not {docker}")
        self.containerd_store = default_store if containerd_store is None else containerd_store
        self.ready_timeout = ready_timeout
        self.startup_seconds: float | None = None
        self.client: Any = None
        self._base: Path | None = None
        self._exec_root: Path | None = None
        self._containerd: Containerd | None = None
        self._dockerd: Daemon | None = None

    @property
    def root(self) -> Path:
        if self._base is None:
            raise LabError("the sandbox engine is not running; call start() first")
        return self._base

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def pids(self) -> list[int]:
        procs = [
            self._dockerd.pid if self._dockerd else None,
            self._containerd and self._containerd.pid,
        ]
        return [p for p in procs if isinstance(p, int)]

    def start(self) -> Engine:
        if self._base is not None:
            return self
        require_root("the sandbox Docker engine")
        dockerd = str(self.dockerd_engine.bin("dockerd"))
        began = time.monotonic()
        self._base = base = make_workdir("runbook-engine-")
        atexit.register(self.close)
        try:
            # the shim of the engine's containerd runs runc: one of the same generation, built
            # from source (Docker 29's container specs ask for a time namespace, which
            # Debian's runc 1.1.5 does not know)
            runc = engines.require(engines.spec(
                "runc-1.4.3" if self.containerd_engine.spec.version.startswith("2.")
                else "runc-1.1.7"))
            self._containerd = Containerd(
                base / "c", cri=False, ready_timeout=self.ready_timeout,
                bindir=self.containerd_engine.bindir, runc_dir=runc.bindir,
            )
            (base / "c").mkdir()
            self._containerd.start()
            major = dockerd_major(proc.run([dockerd, "--version"], timeout=10, echo=False).stdout)
            (base / "daemon.json").write_text(
                daemon_json(base, major, containerd_store=self.containerd_store), encoding="utf-8"
            )
            self._exec_root = exec_root = self._short_exec_root(base)
            argv = [
                dockerd,
                f"--config-file={base / 'daemon.json'}",
                f"--data-root={base / 'data'}",
                f"--exec-root={exec_root}",
                f"--host=unix://{self.socket}",
                f"--pidfile={base / 'docker.pid'}",
                f"--containerd={self._containerd.address}",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ]
            if not self.containerd_store:
                argv.append("--storage-driver=vfs")
            # dockerd joins its containerd's private mount namespace: with the containerd
            # image store dockerd mounts each container's rootfs itself and the shim's runc
            # must see that mount (in a namespace of its own it finds an empty directory:
            # `exec: "/usr/local/bin/containerd": stat ...: no such file or directory`)
            nsenter = shutil.which("nsenter")
            unshare = shutil.which("unshare")
            cpid = self._containerd.pid
            if nsenter is not None and cpid is not None and Path(f"/proc/{cpid}/ns/mnt").exists():
                argv = [nsenter, f"--mount=/proc/{cpid}/ns/mnt", "--", *argv]
            elif unshare is not None:
                argv = [unshare, "--mount", "--propagation", "private", *argv]
            # dockerd finds runc and the containerd shim on PATH
            env = own_env(PATH=f"{self.containerd_engine.bindir}:{runc.bindir}:"
                          f"{os.environ['PATH']}")
            self._dockerd = Daemon("dockerd", argv, log=base / "dockerd.log",
                                   where=str(self.socket), env=env,
                                   ready_timeout=self.ready_timeout, grace=15.0)
            self._dockerd.start(self._answers)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _answers(self) -> bool:
        """Whether dockerd answers a ping on its socket (keeps the client when it does)."""
        import docker

        if not self.socket.exists():
            return False
        try:
            self.client = docker.DockerClient(base_url=f"unix://{self.socket}", timeout=60,
                                              version="auto")
            self.client.ping()
            return True
        except docker.errors.DockerException:
            if self.client is not None:
                self.client.close()
                self.client = None
            return False

    @property
    def description(self) -> str:
        """One line for outputs: which real dockerd and which image store."""
        store = "containerd image store" if self.containerd_store else "graphdriver store (vfs)"
        if docker_major(self.docker) >= 29 and not self.containerd_store:
            store += ', "containerd-snapshotter": false'
        spec = self.dockerd_engine.spec
        return f"dockerd {self.docker} ({spec.module_at}, go{spec.go}), {store}"

    def cli(
        self, *args: str, timeout: float = 300.0, check: bool = True, cwd: Path | None = None,
        stdin: Path | None = None,
    ) -> proc.Result:
        """Run the real docker CLI of this release against this engine (``docker ARGS``), with
        the lab's buildx as its ``docker buildx`` plugin."""
        config = self.root / "cli-config"
        plugins = config / "cli-plugins"
        if not plugins.exists():
            plugins.mkdir(parents=True)
            buildx = engines.require(engines.spec(BUILDX))
            (plugins / "docker-buildx").symlink_to(buildx.bin("buildx"))
        env = own_env(DOCKER_HOST=f"unix://{self.socket}", DOCKER_CONFIG=str(config))
        argv = [str(self.cli_engine.bin("docker")), *args]
        return proc.run(argv, timeout=timeout, check=check, env=env, display=["docker", *args],
                        merge_stderr=True, cwd=cwd, stdin=stdin)

    def _scratch(self) -> Path:
        return self.root

    def close(self) -> None:
        """Stop dockerd and its containerd, remove their directory (idempotent)."""
        atexit.unregister(self.close)
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._dockerd is not None:
            self._dockerd.close()
            self._dockerd = None
        if self._containerd is not None:
            self._containerd.stop()
            self._containerd = None
        base, self._base = self._base, None
        if base is not None:
            remove_workdir(base)
        exec_root, self._exec_root = self._exec_root, None
        if exec_root is not None and base is not None and not exec_root.is_relative_to(base):
            remove_workdir(exec_root)

    @staticmethod
    def _short_exec_root(base: Path) -> Path:
        """dockerd puts unix sockets (libnetwork's among them) under its exec root; a socket
        path over 108 bytes fails with ``bind: invalid argument``. Under a deep ``$TMPDIR``
        the exec root therefore moves to a short private dir in /tmp."""
        if len(str(base / "exec")) <= 40:
            return base / "exec"
        return make_workdir(SHORT_EXEC_PREFIX, Path("/tmp"))

    def __enter__(self) -> Engine:
        return self.start()

