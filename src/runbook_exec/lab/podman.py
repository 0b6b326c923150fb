"""Podman with a store of its own, and kind node containers run by it for kind's podman
provider.

:class:`Podman` is Debian's podman (and the buildah and skopeo beside it) pointed at a private
store: ``CONTAINERS_STORAGE_CONF`` and ``CONTAINERS_CONF`` name files in the store's directory,
so every ``podman``, ``buildah`` or ``skopeo`` command run through :meth:`Podman.tool` — and
the real kind CLI's own ``podman`` calls — sees only this store. The user's images, containers
and ``/run/libpod`` are not touched. (containers/image keeps its blob-info cache in
``/var/lib/containers/cache`` for root whatever the store; podman 4.3 offers no setting.)

:class:`PodmanKindCluster` runs the lab's kind node (the chosen kind release's containerd, ctr,
crictl, kind's CRI settings; see :mod:`.kindnode`) as podman containers labelled as kind labels
them, and runs the real kind CLI with ``KIND_EXPERIMENTAL_PROVIDER=podman`` and a ``PATH``
holding ``podman`` but no ``docker``: kind finds the nodes with ``podman ps`` and imports with
``podman exec``, exactly as on a podman-only machine.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from pathlib import Path

from .. import engines, proc
from ..daemons import Closing
from ..errors import LabError
from ._containerd import make_workdir, remove_workdir
from ._deps import find_binary, require_root
from .clientenv import own_env
from .kindnode import (
    CLUSTER_LABEL,
    CRICTL,
    CRICTL_YAML,
    ROLE_LABEL,
    containerd_config,
    kind_cli_engine,
)

# podman refuses a runroot path over 50 characters: the store lives in a short dir in /tmp
PREFIX = "runbook-podman-"
TOOLS = ("podman", "buildah", "skopeo")


def _limits() -> tuple[int, int]:
    """This process's hard RLIMIT_NOFILE and a small RLIMIT_NPROC: podman's defaults (raised
    limits) fail in a sandbox that withholds the raise (`error setting rlimit type 7`)."""
    import resource

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return (nofile if nofile > 0 else 1024), 1024


def storage_conf(base: Path) -> str:
    return (f'[storage]\ndriver = "vfs"\ngraphroot = "{base / "root"}"\n'
            f'runroot = "{base / "run"}"\n')


def containers_conf(base: Path) -> str:
    nofile, nproc = _limits()
    return (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        'netns = "none"\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "none"\n'
        f'tmp_dir = "{base / "tmp"}"\n'
        f'static_dir = "{base / "root" / "libpod"}"\n'
        f'volume_path = "{base / "root" / "volumes"}"\n'
        "[network]\n"
        f'network_config_dir = "{base / "networks"}"\n'
    )


class Podman(Closing):
    """Debian's podman, buildah and skopeo on a private vfs store (removed on close)."""

    def __init__(self) -> None:
        require_root("podman with a private store")
        self.podman = find_binary("podman")
        self._base: Path | None = None

    @property
    def root(self) -> Path:
        if self._base is None:
            raise LabError("the lab's podman store is not set up; call start() first")
        return self._base

    def start(self) -> Podman:
        if self._base is not None:
            return self
        base = self._base = make_workdir(PREFIX, Path("/tmp"))
        for sub in ("root", "run", "tmp", "networks", "bin"):
            (base / sub).mkdir()
        (base / "storage.conf").write_text(storage_conf(base))
        (base / "containers.conf").write_text(containers_conf(base))
        (base / "auth.json").write_text("{}\n")
        # a PATH with the containers tools and nothing else: no `docker` on it
        for tool in TOOLS:
            found = shutil.which(tool)
            if found is not None:
                (base / "bin" / tool).symlink_to(found)
        return self

    @property
    def bindir(self) -> Path:
        """A directory holding ``podman``, ``buildah`` and ``skopeo`` only (no ``docker``)."""
        return self.root / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment that points every containers tool at this store: the caller's,
        less what would send them elsewhere or read the caller's credentials (see
        :mod:`.clientenv`; podman 4.3 fails on a ``DOCKER_CONFIG`` without ``config.json``)."""
        return own_env(CONTAINERS_STORAGE_CONF=str(self.root / "storage.conf"),
                       CONTAINERS_CONF=str(self.root / "containers.conf"),
                       REGISTRY_AUTH_FILE=str(self.root / "auth.json"), **extra)

    @property
    def description(self) -> str:
        with proc.quiet():
            version = proc.run([self.podman, "--version"], timeout=20, echo=False).stdout
        return f"{version.strip()} (Debian 12's package), private vfs store"

    def tool(self, name: str, *args: str, timeout: float = 300.0, check: bool = True,
             cwd: Path | None = None, merge_stderr: bool = True) -> proc.Result:
        """Run ``NAME ARGS`` (podman, buildah or skopeo) against this store."""
        if name not in TOOLS:
            raise LabError(f"{name} is not a containers tool this store serves ({TOOLS})")
        return proc.run([find_binary(name), *args], timeout=timeout, check=check,
                        env=self.env(), display=[name, *args], cwd=cwd, merge_stderr=merge_stderr)

    def cli(self, *args: str, timeout: float = 300.0, check: bool = True,
            merge_stderr: bool = True) -> proc.Result:
        """``podman ARGS`` against this store."""
        return self.tool("podman", *args, timeout=timeout, check=check,
                         merge_stderr=merge_stderr)

    def import_image(self, ref: str, files: dict[str, bytes], *,
                     changes: tuple[str, ...] = ()) -> str:
        """``podman import`` a one-layer image made of ``files`` (path → content); return the
        image ID. No registry: the image is built from a tarball, as ``FROM scratch`` would."""
        archive = self.root / "import.tar"
        with tarfile.open(archive, "w") as tf:
            for path, data in sorted(files.items()):
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size = len(data)
                info.mode = 0o755 if path.startswith(("bin/", "usr/")) else 0o644
                tf.addfile(info, io.BytesIO(data))
        argv = ["import", "-q"]
        for change in changes:
            argv += ["--change", change]
        res = self.cli(*argv, str(archive), ref)
        archive.unlink()
        return res.stdout.strip().splitlines()[-1]

    def close(self) -> None:
        """Remove every container of this store, then the store (idempotent)."""
        base, self._base = self._base, None
        if base is None:
            return
        self._base = base
        with proc.quiet():
            self.cli("rm", "-a", "-f", "-t", "0", check=False, timeout=120)
        self._base = None
        remove_workdir(base)

    def __enter__(self) -> Podman:
        return self.start()


class PodmanKindCluster(Closing):
    """Node containers of kind release ``kind`` run by ``podman``, and the real kind CLI with
    its podman provider, on a PATH without ``docker``."""

    def __init__(self, podman: Podman, *, kind: str = "v0.20.0", name: str = "kind",
                 cli: str | None = None) -> None:
        self.podman = podman
        self.kind = kind
        self.name = name
        self.kind_cli = kind_cli_engine(cli or kind)
        self.nodes: list[str] = []

    @property
    def description(self) -> str:
        spec = self.kind_cli.spec
        containerd = engines.node_containerd(self.kind).version
        return (f"kind {spec.version} CLI ({spec.module_at}, go{spec.go}) with "
                f"KIND_EXPERIMENTAL_PROVIDER=podman; podman node containers "
                f"{', '.join(self.nodes)} with containerd {containerd}")

    def _node_image(self) -> str:
        ref = f"localhost/kindest/lab-node:{self.kind}"
        with proc.quiet():
            if self.podman.cli("image", "exists", ref, check=False).ok:
                return ref
        files: dict[str, bytes] = {}
        for built in (engines.require(engines.node_containerd(self.kind)),
                      engines.require(engines.spec(CRICTL))):
            for binary in built.spec.binaries:
                files[f"usr/local/bin/{binary}"] = built.bin(binary).read_bytes()
        files["etc/containerd/config.toml"] = containerd_config().encode()
        files["etc/crictl.yaml"] = CRICTL_YAML.encode()
        for keep in ("tmp/.keep", "run/.keep", "var/lib/containerd/.keep"):
            files[keep] = b""
        with proc.quiet():
            self.podman.import_image(ref, files, changes=(
                'ENTRYPOINT ["/usr/local/bin/containerd"]',
                "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            ))
        return ref

    def start(self, roles: tuple[str, ...] = ("control-plane",)) -> PodmanKindCluster:
        image = self._node_image()
        for i, role in enumerate(roles):
            node = f"{self.name}-{role}" + (str(i) if role == "worker" and i > 1 else "")
            with proc.quiet():
                self.podman.cli(
                    "run", "-d", "--privileged", "--name", node, "--hostname", node,
                    "--network", "none",
                    "--label", f"{CLUSTER_LABEL}={self.name}", "--label", f"{ROLE_LABEL}={role}",
                    "-v", "/var", "--tmpfs", "/run", "--tmpfs", "/tmp", image,
                )
            self.nodes.append(node)
            self._wait_ready(node)
        return self

    def _wait_ready(self, node: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with proc.quiet():
                res = self.node_exec(node, "ctr", "version")
            if res.ok:
                return
            if time.monotonic() > deadline:
                raise LabError(f"podman node container {node} did not answer: "
                               f"{res.output[-500:]}")
            time.sleep(0.2)

    def kind_cmd(self, *args: str, timeout: float = 600.0, stdin: Path | None = None,
                 piped_from: tuple[str, bytes] | None = None,
                 docker_alias: bool = False) -> proc.Result:
        """Run the real ``kind ARGS`` with ``KIND_EXPERIMENTAL_PROVIDER=podman`` and a PATH that
        has podman, buildah and skopeo but no docker.

        ``piped_from=(command, data)`` feeds ``data`` (what ``command`` wrote) to kind through a
        pipe, shown as ``command | kind ARGS``. ``docker_alias`` puts ``docker`` on the PATH as
        a link to podman, as Fedora's ``podman-docker`` package does."""
        path = str(self.podman.bindir)
        if docker_alias:
            alias = self.podman.root / "alias-bin"
            if not alias.exists():
                alias.mkdir()
                (alias / "docker").symlink_to(self.podman.podman)
            path = f"{alias}:{path}"
        env = self.podman.env(KIND_EXPERIMENTAL_PROVIDER="podman", PATH=path)
        argv = [str(self.kind_cli.bin("kind")), *args]
        display = ["kind", *args]
        data = None
        if piped_from is not None:
            command, data = piped_from
            proc.echo(f"{command} | {proc.quote_argv(display)}")
        return proc.run(argv, timeout=timeout, check=False, env=env, display=display,
                        merge_stderr=True, stdin=stdin, input=data, echo=piped_from is None)

    def node_exec(self, node: str, *argv: str) -> proc.Result:
        """``podman exec --privileged NODE ARGV`` — how kind's podman provider reaches a node.
        stdout and stderr stay apart (containerd 2.3 warns about cgroup v1 hosts on stderr)."""
        return self.podman.cli("exec", "--privileged", node, *argv, check=False,
                               merge_stderr=False)

    def copy_from(self, node: str, path: str, dest: Path) -> Path:
        """``podman cp NODE:PATH DEST``."""
        with proc.quiet():
            self.podman.cli("cp", f"{node}:{path}", str(dest))
        return dest

    def close(self) -> None:
        for node in self.nodes:
            with proc.quiet():
                self.podman.cli("rm", "-f", "-v", "-t", "0", node, check=False)
        self.nodes = []

    def __enter__(self) -> PodmanKindCluster:
        return self.start() if not self.nodes else self
