"""A throwaway Debian 12 chroot with a local apt repository of stand-in Docker packages.

::

    from runbook_exec.lab import DebianChroot, docker_repo
    with DebianChroot() as chroot:                 # Debian 12 from Debian's mirror, cached
        chroot.add_repo(docker_repo())              # docker-ce, docker-ce-cli, containerd.io
        print(chroot.run("apt-cache madison docker-ce").output)

What the pin and upgrade pages tell a reader to type (``apt-cache policy``, ``apt-mark hold``,
an ``/etc/apt/preferences.d/`` pin, ``apt-get install docker-ce=<version>``) is run here by
the real apt of Debian 12, against packages named and versioned as Docker's own
(``5:24.0.7-1~debian.12~bookworm``: docker-ce-packaging ``deb/build-deb``). Only the packaging
is a stand-in, because download.docker.com cannot be reached from here: each package's payload
is the real binary of that release from the engines cache (``dockerd``, ``docker``,
``containerd``), and no package has maintainer scripts, so nothing is started.

Both the chroot's tarball (``mmdebstrap``, downloaded once from Debian's mirror) and the
repository (``dpkg-deb`` + ``apt-ftparchive``) are cached under ``<engines cache>/lab/``, keyed
by their recipe, so only the first run downloads or packs anything. The chroot itself is
unpacked into a lab directory that records its owner (swept when a dead run left it); every
command runs in its own mount and pid namespace (``unshare``), so the ``/proc`` it mounts
vanishes with it, even when the run is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import engines, proc
from ..daemons import Closing
from ..errors import CommandError, LabError, MissingDependencyError
from ..mounts import unmount_under
from ._containerd import OWNER_FILE, make_workdir
from ._deps import INSTALL_HINT

__all__ = [
    "DISTRO",
    "DOCKER_RELEASES",
    "MIRROR_ENV",
    "REPO_PATH",
    "SUITE",
    "AptRepo",
    "DebianChroot",
    "StandIn",
    "debian_tarball",
    "deb_version",
    "docker_repo",
    "docker_stand_ins",
]

DISTRO, VERSION_ID, SUITE = "debian", "12", "bookworm"
MIRROR_ENV = "RUNBOOK_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
VARIANT = "apt"  # Essential: yes packages plus apt: the smallest system apt runs in
# apt-utils: as on most installs (without it debconf says it delays package configuration)
INCLUDE = ("apt-utils",)
# Where the stand-in repository sits inside the chroot: the path of Docker's own repository.
REPO_PATH = "/srv/download.docker.com/linux/debian"
# The Docker releases whose real binaries the engines cache holds (stable releases only).
DOCKER_RELEASES = ("24.0.7", "24.0.9", "25.0.0", "25.0.1", "25.0.2", "25.0.3", "29.8.1")
# containerd.io stand-ins: (package version, containerd engine). containerd-packaging's
# debian/changelog versions are "<containerd release>-1".
CONTAINERD_IO = (("1.7.24-1", "containerd-1.7.24"), ("2.3.4-1", "containerd-2.3.4"))
# Bump when the way a tarball or repository is made changes, so caches are made anew.
_RECIPE = 1
_CHROOT_ENV = ("PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
               "DEBIAN_FRONTEND=noninteractive")
_TOOLS = {"mmdebstrap": "mmdebstrap", "apt-ftparchive": "apt-utils", "dpkg-deb": "dpkg",
          "unshare": "util-linux", "chroot": "coreutils", "tar": "tar"}


def deb_version(release: str, *, distro: str = DISTRO, version_id: str = VERSION_ID,
                suite: str = SUITE) -> str:
    """The version of Docker release ``release`` in Docker's apt repository for a distribution:
    ``5:24.0.7-1~debian.12~bookworm``, ``5:24.0.7-1~ubuntu.22.04~jammy`` (docker-ce-packaging
    ``deb/build-deb``: epoch 5, ``-`` of a pre-release as ``~``, package revision 1)."""
    return f"5:{release.replace('-', '~')}-1~{distro}.{version_id}~{suite}"


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise MissingDependencyError(
            f"{name} not found: install the Debian package `{_TOOLS.get(name, name)}` "
            f"({INSTALL_HINT})"
        )
    return found


def _require_root() -> None:
    if os.geteuid() != 0:
        raise MissingDependencyError(
            "the Debian chroot needs root (it unpacks a root filesystem and runs chroot in its "
            "own namespaces): rerun as root"
        )


def lab_cache() -> Path:
    """Where the lab's downloaded and packed parts live: ``<engines cache>/lab``."""
    return engines.cache_root() / "lab"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


@contextlib.contextmanager
def _partial(dest: Path) -> Iterator[Path]:
    """A path next to ``dest`` to write into, renamed to ``dest`` only on success."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".partial-{dest.name}-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not proc.pid_alive(int(pid)):
            _remove(stale)
    part = dest.parent / f".partial-{dest.name}-{os.getpid()}"
    try:
        yield part
        part.rename(dest)
    finally:
        _remove(part)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def debian_tarball(*, suite: str = SUITE, mirror: str | None = None) -> Path:
    """The Debian ``suite`` root filesystem as a tarball, made by ``mmdebstrap`` from Debian's
    mirror (``$RUNBOOK_DEBIAN_MIRROR``, default deb.debian.org) on first use and cached by
    its recipe; a later call downloads nothing."""
    mirror = mirror or os.environ.get(MIRROR_ENV, "").strip() or DEFAULT_MIRROR
    mm = _tool("mmdebstrap")
    version = proc.run([mm, "--version"], timeout=30, echo=False).stdout.strip()
    recipe = {"recipe": _RECIPE, "tool": version, "suite": suite, "variant": VARIANT,
              "mirror": mirror, "arch": "amd64", "include": INCLUDE}
    dest = lab_cache() / f"debian-{suite}-{VARIANT}-{_digest(recipe)}.tar"
    if dest.is_file():
        return dest
    _require_root()
    print(f"making the Debian {suite} chroot tarball with {version} from {mirror} "
          f"(once; cached as {dest})", flush=True)
    with _partial(dest) as part, _scratch() as tmp:
        # mmdebstrap mounts /proc, /sys and /dev in its temp dir while it works: in a private
        # mount namespace those mounts vanish with it even if it is killed.
        argv = ["unshare", "--mount", "--propagation", "private", mm, f"--variant={VARIANT}",
                "--mode=root", "--format=tar", "--architectures=amd64",
                f"--include={','.join(INCLUDE)}", suite, str(part), mirror]
        try:
            proc.run(argv, timeout=900, env={**os.environ, "TMPDIR": str(tmp)}, echo=False,
                     merge_stderr=True)
        except CommandError as exc:
            raise LabError(
                f"could not make the Debian {suite} chroot: mmdebstrap failed fetching from "
                f"{mirror} (exit status {exc.returncode}). The first run needs Debian's package "
                f"mirror (or set {MIRROR_ENV} to one you can reach); later runs use the cached "
                f"tarball {dest}. mmdebstrap said:\n{_tail(exc.output)}"
            ) from None
    for old in dest.parent.glob(f"debian-{suite}-{VARIANT}-*.tar"):
        if old != dest:  # an older recipe's tarball: nothing finds it any more
            old.unlink(missing_ok=True)
    return dest


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    path = make_workdir("runbook-x-apt-")
    try:
        yield path
    finally:
        unmount_under(path)
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class StandIn:
    """One stand-in package: Docker's name and version, the real binaries as its payload.

    ``files`` maps installed paths to (engine, binary) pairs of the engines cache."""

    package: str
    version: str
    files: tuple[tuple[str, str, str], ...]  # (installed path, engine name, binary name)
    depends: str = ""
    release: str = ""

    def control(self, size_kib: int) -> str:
        what = ", ".join(f"{binary} of {engine}" for _, engine, binary in self.files)
        lines = [
            f"Package: {self.package}",
            f"Version: {self.version}",
            "Architecture: amd64",
            "Maintainer: runbook-exec lab <lab@runbook-exec.invalid>",
            f"Installed-Size: {size_kib}",
            *([f"Depends: {self.depends}"] if self.depends else []),
            "Section: admin",
            "Priority: optional",
            f"Description: stand-in for Docker's {self.package} (real binaries, lab packaging)",
            f" Payload: the real {what}, built from source by runbook-exec.",
            " No maintainer scripts: installing it starts nothing.",
        ]
        return "\n".join(lines) + "\n"


def docker_stand_ins(releases: Sequence[str] = DOCKER_RELEASES) -> list[StandIn]:
    """docker-ce, docker-ce-cli and containerd.io stand-ins for ``releases`` (Debian 12).

    The dependencies are those of docker-ce-packaging's ``deb/common/control`` that matter to
    apt's choice here: docker-ce needs docker-ce-cli and containerd.io (>= 1.6.4 on the 24.0
    branch, >= 2.1.5 for 29.x); the system packages it also names (iptables, …) are left out
    so the chroot stays small."""
    found = []
    for release in releases:
        version = deb_version(release)
        floor = "2.1.5" if int(release.split(".")[0]) >= 29 else "1.6.4"
        found.append(StandIn("docker-ce", version, (("usr/bin/dockerd", f"dockerd-{release}",
                                                      "dockerd"),),
                             f"containerd.io (>= {floor}), docker-ce-cli", release))
        found.append(StandIn("docker-ce-cli", version, (("usr/bin/docker",
                                                          f"docker-cli-{release}", "docker"),),
                             "", release))
    for version, engine in CONTAINERD_IO:
        found.append(StandIn("containerd.io", version, tuple(
            (f"usr/bin/{b}", engine, b) for b in ("containerd", "containerd-shim-runc-v2", "ctr")
        ), "", version.split("-")[0]))
    return found


class AptRepo:
    """A local apt repository laid out like Docker's: ``dists/<suite>/stable``, ``pool/stable``."""

    def __init__(self, path: Path, packages: Sequence[StandIn]) -> None:
        self.path = path
        self.packages = list(packages)

    def sources_line(self, where: str = REPO_PATH) -> str:
        """The apt source of the repository at ``where`` in a chroot (unsigned, so trusted)."""
        return f"deb [arch=amd64 trusted=yes] file:{where} {SUITE} stable"


def docker_repo(releases: Sequence[str] = DOCKER_RELEASES) -> AptRepo:
    """The stand-in repository of :func:`docker_stand_ins`, packed once and cached by the
    packages' names, versions and the sha256 of every binary they carry."""
    packages = docker_stand_ins(releases)
    built = {name: engines.require(engines.spec(name))
             for name in sorted({e for p in packages for _, e, _ in p.files})}
    key = _digest({"recipe": _RECIPE, "packages": [
        [p.package, p.version, p.depends, [[path, built[e].sha256(b)] for path, e, b in p.files]]
        for p in packages]})
    dest = lab_cache() / f"docker-apt-{SUITE}-{key}"
    if not dest.is_dir():
        _require_root()
        print(f"packing {len(packages)} stand-in packages with dpkg-deb (once; cached as "
              f"{dest})", flush=True)
        with _partial(dest) as part:
            _pack(part, packages, built)
    return AptRepo(dest, packages)


def _pack(root: Path, packages: Sequence[StandIn], built: dict[str, engines.Built]) -> None:
    dpkg_deb, ftparchive = _tool("dpkg-deb"), _tool("apt-ftparchive")
    pool = root / "pool" / "stable"
    pool.mkdir(parents=True)
    for pkg in packages:
        stage = root / ".stage"
        (stage / "DEBIAN").mkdir(parents=True)
        size = 0
        for path, engine, binary in pkg.files:
            target = stage / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built[engine].bin(binary), target)
            target.chmod(0o755)
            size += target.stat().st_size
        (stage / "DEBIAN" / "control").write_text(pkg.control(size // 1024), encoding="utf-8")
        # Like Docker's files, the name leaves out the epoch: docker-ce_24.0.7-1~debian…deb
        name = f"{pkg.package}_{pkg.version.split(':')[-1]}_amd64.deb"
        proc.run([dpkg_deb, "--root-owner-group", "-Znone", "--build", str(stage),
                  str(pool / name)], timeout=300, echo=False)
        shutil.rmtree(stage)
    index = root / "dists" / SUITE / "stable" / "binary-amd64"
    index.mkdir(parents=True)
    packages_text = proc.run([ftparchive, "packages", "pool/stable"], timeout=300, cwd=root,
                             echo=False).stdout
    (index / "Packages").write_text(packages_text, encoding="utf-8")
    release = proc.run([ftparchive,
                        "-o", "APT::FTPArchive::Release::Origin=runbook-exec lab",
                        "-o", "APT::FTPArchive::Release::Label=Docker CE stand-ins",
                        "-o", f"APT::FTPArchive::Release::Suite={SUITE}",
                        "-o", f"APT::FTPArchive::Release::Codename={SUITE}",
                        "-o", "APT::FTPArchive::Release::Components=stable",
                        "-o", "APT::FTPArchive::Release::Architectures=amd64",
                        "release", f"dists/{SUITE}"], timeout=120, cwd=root, echo=False).stdout
    (root / "dists" / SUITE / "Release").write_text(release, encoding="utf-8")


class DebianChroot(Closing):
    """A Debian 12 root filesystem unpacked for one run, and commands run in it as root.

    It is made in a lab directory (under the runbook's workspace when there is one) that
    records its owner, so a run killed before :meth:`close` leaves nothing the next lab start
    does not sweep. Nothing of the host's apt, dpkg or Docker is touched."""

    def __init__(self, parent: Path | None = None) -> None:
        _require_root()
        for tool in ("unshare", "chroot", "tar"):
            _tool(tool)
        if parent is None and (Path.cwd() / OWNER_FILE).is_file():
            parent = Path.cwd()  # the runbook's workspace
        tarball = debian_tarball()
        self.dir = make_workdir("runbook-chroot-", parent)
        self.root = self.dir / "rootfs"
        self.root.mkdir()
        try:
            proc.run(["tar", "-x", "--numeric-owner", "-f", str(tarball), "-C", str(self.root)],
                     timeout=300, echo=False)
            # Only the stand-in repository: no Debian mirror is needed after the first run.
            (self.root / "etc/apt/sources.list").unlink(missing_ok=True)
            # A throwaway system needs no fsync after every unpacked file (some 200 MB per
            # install here); dpkg's output and apt's choices stay the same.
            (self.root / "etc/dpkg/dpkg.cfg.d/unsafe-io").write_text("force-unsafe-io\n",
                                                                    encoding="utf-8")
        except BaseException:
            self.close()
            raise
        self.description = f"Debian {VERSION_ID} ({SUITE}) chroot from {tarball.name}"

    def add_repo(self, repo: AptRepo, *, name: str = "docker.list") -> str:
        """Put ``repo`` at :data:`REPO_PATH` in the chroot (hard links where the file system
        allows, else copies) and add its apt source; returns the source line."""
        dest = self.root / REPO_PATH.lstrip("/")
        shutil.copytree(repo.path, dest, copy_function=_link_or_copy)
        line = repo.sources_line()
        (self.root / "etc/apt/sources.list.d" / name).write_text(line + "\n", encoding="utf-8")
        return line

    def argv(self, script: str) -> list[str]:
        """The command line that runs ``script`` with ``sh -e`` as root in the chroot, in new
        mount and pid namespaces with their own ``/proc`` and ``/dev/pts`` (dpkg logs its
        terminal output through a pty)."""
        inner = ["chroot", str(self.root), "/usr/bin/env", "-i", *_CHROOT_ENV,
                 "/bin/sh", "-ec", script]
        # A new devpts instance, and /dev/ptmx pointing into it: apt runs dpkg on a pty.
        setup = ('mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts" && '
                 'mount --bind "$1/dev/pts/ptmx" "$1/dev/ptmx" && shift && exec "$@"')
        return ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                "--kill-child", f"--mount-proc={self.root}/proc", "/bin/sh", "-c", setup,
                "sh", str(self.root), *inner]

    def run(self, script: str, *, check: bool = True, timeout: float = 300,
            echo: bool = True) -> proc.Result:
        """Run ``script`` in the chroot and return its result (stdout and stderr merged, as a
        terminal shows them). With ``echo`` each of its commands is shown first as the reader
        types it (``$ apt-get …``), in the output, right before what it prints. With
        ``check``, a non-zero exit raises :class:`LabError` with the output's tail."""
        shown = script
        if echo:
            script = "\n".join(f"printf '$ %s\\n' {shlex.quote(c)}\n{c}"
                               for c in commands(script))
        res = proc.run(self.argv(script), timeout=timeout, check=False, echo=False,
                       merge_stderr=True)
        res = proc.Result(res.argv, res.returncode, as_terminal(res.stdout), res.stderr)
        if check and not res.ok:
            raise LabError(f"in the Debian chroot, `{shown}` exited with status "
                           f"{res.returncode}:\n{_tail(res.output, 15)}")
        return res

    def close(self) -> None:
        """Detach anything left mounted under the chroot and remove it; idempotent."""
        if self.dir.exists():
            unmount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)


def commands(script: str) -> list[str]:
    """The commands of a shell script, one per line, except that a here-document's body and
    terminator stay with the command that opens it (``tee FILE <<'EOF'`` … ``EOF``)."""
    found: list[str] = []
    end = ""
    for line in script.splitlines():
        if end:
            found[-1] += "\n" + line
            end = "" if line == end else end
            continue
        found.append(line)
        opener = re.search(r"<<-?\s*(['\"]?)(\w+)\1\s*$", line)
        end = opener.group(2) if opener else ""
    return found


def as_terminal(text: str) -> str:
    """``text`` as a terminal leaves it: of a line rewritten with carriage returns (dpkg's
    "Reading database ... 5%"), only what was written last."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def _link_or_copy(src: str, dst: str) -> object:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
