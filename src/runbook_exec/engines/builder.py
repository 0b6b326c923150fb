"""Building engines into the cache, and finding them there.

The cache (``RUNBOOK_ENGINES_DIR``, default ``$XDG_CACHE_HOME/runbook-exec/engines`` or
``~/.cache/runbook-exec/engines``) holds one directory per engine and build key::

    <cache>/<name>-<key>/bin/<binary>...
    <cache>/<name>-<key>/provenance.json

The key hashes the table entry and the pins, so a changed pin builds anew and an unchanged
one is never rebuilt. A build writes into ``<cache>/.partial-<name>-<pid>/`` and renames it
into place only when every binary was built and checked, so nothing half-built is ever
found; partial directories of dead builds are swept at the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..errors import CommandError, EngineError
from . import toolchain
from .pins import pin_dir
from .table import EngineSpec
from .usage import record_use

PROVENANCE = "provenance.json"
_BUILD_TIMEOUT = 3600.0


def cache_root() -> Path:
    """Where built engines live (created on demand)."""
    explicit = os.environ.get("RUNBOOK_ENGINES_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runbook-exec" / "engines"


# Bump when _go_build changes the way it builds (flags), so every engine builds anew.
_RECIPE = 1
# The table fields that change the binaries; notes and sources do not.
_RECIPE_FIELDS = ("module", "module_version", "go", "binaries", "tags", "ldflags", "pin_from",
                  "cgo")


def build_key(spec: EngineSpec) -> str:
    """A short hash of the recipe: the fields of the table entry that change the binaries,
    and the committed pins."""
    fields = {f: getattr(spec, f) for f in _RECIPE_FIELDS}
    h = hashlib.sha256(json.dumps({"recipe": _RECIPE, **fields}, sort_keys=True).encode())
    for name in ("go.mod", "go.sum"):
        path = pin_dir(spec) / name
        if not path.is_file():
            raise EngineError(
                f"engine {spec.name}: step 'pins': {path} is missing; "
                f"run `runbook-exec engines pin {spec.name}` and commit the result"
            )
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Built:
    """A built engine: its directory, binaries and provenance record."""

    spec: EngineSpec
    root: Path
    provenance: dict[str, object]

    def bin(self, name: str) -> Path:
        if name not in self.spec.binaries:
            raise EngineError(f"engine {self.spec.name} has no binary {name!r}")
        return self.root / "bin" / name

    @property
    def bindir(self) -> Path:
        return self.root / "bin"

    def sha256(self, name: str) -> str:
        binaries = self.provenance["binaries"]
        assert isinstance(binaries, dict)
        entry = binaries[name]
        assert isinstance(entry, dict)
        return str(entry["sha256"])

    @property
    def digest(self) -> str:
        """One digest for the engine: the sha256 over its binaries' digests."""
        joined = ",".join(f"{b}={self.sha256(b)}" for b in sorted(self.spec.binaries))
        return hashlib.sha256(joined.encode()).hexdigest()


def find(spec: EngineSpec) -> Built | None:
    """The built engine for ``spec``'s current pins, or ``None``."""
    root = cache_root() / f"{spec.name}-{build_key(spec)}"
    record = root / PROVENANCE
    if not record.is_file():
        return None
    try:
        provenance = json.loads(record.read_text())
    except ValueError:
        return None
    if not all((root / "bin" / b).is_file() for b in spec.binaries):
        return None
    return Built(spec, root, provenance)


def require(spec: EngineSpec) -> Built:
    """The built engine, or an error saying the one command that builds it.

    The use is recorded (:func:`~.usage.record_use`), so the executor knows which binaries
    a runbook ran."""
    built = find(spec)
    if built is None:
        raise EngineError(
            f"engine {spec.name} ({spec.module_at}) is not built; "
            f"run `runbook-exec engines build {spec.name}` (about 1-4 min on 2 cores)"
        )
    record_use(spec.name, {"module": spec.module_at, "go": spec.toolchain,
                           "digest": built.digest,
                           "binaries": {b: built.sha256(b) for b in sorted(spec.binaries)}})
    return built


Progress = Callable[[str], None]


def build(spec: EngineSpec, *, progress: Progress | None = None) -> Built:
    """Build ``spec`` into the cache unless it is there already; return it."""
    existing = find(spec)
    if existing is not None:
        return existing
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    _sweep_partials(root)
    key = build_key(spec)
    final = root / f"{spec.name}-{key}"
    partial = root / f".partial-{spec.name}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "bin").mkdir(parents=True)
    started = time.monotonic()
    try:
        with _removed_on_signal(partial):
            if spec.is_c:
                sources = _c_build(spec, partial / "bin", progress)
                provenance = _c_provenance(spec, partial / "bin", key,
                                           time.monotonic() - started, sources)
            else:
                _go_build(spec, partial / "bin", progress)
                provenance = _provenance(spec, partial / "bin", key, time.monotonic() - started)
            (partial / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    _remove_superseded(root, spec, final)
    return Built(spec, final, provenance)


def _remove_superseded(root: Path, spec: EngineSpec, keep: Path) -> None:
    """Builds of the same engine from older pins: nothing finds them any more."""
    for other in root.glob(f"{spec.name}-*"):
        if other == keep:
            continue
        try:
            name = json.loads((other / PROVENANCE).read_text())["name"]
        except (OSError, ValueError, KeyError):
            continue
        if name == spec.name:  # dockerd-25.0.0-* also matches dockerd-25.0.0-rc.1-*
            shutil.rmtree(other, ignore_errors=True)


def _go_build(spec: EngineSpec, out: Path, progress: Progress | None) -> None:
    go = toolchain.go_binary(spec)
    env = toolchain.go_env(spec)
    lang = ".".join(spec.go.split(".")[:2])
    argv = [go, "build", "-trimpath", "-o", f"{out}/"]
    if spec.tags:
        argv += ["-tags", " ".join(spec.tags)]
    if spec.ldflags:
        argv += ["-ldflags", " ".join(_quote_ldflag(f) for f in spec.ldflags)]
    if spec.pin_from == "vendor.mod":
        # Without a go.mod of its own, a dependency is compiled as Go 1.16; moby's release
        # builds compiled it in GOPATH mode with the toolchain's own language version.
        argv += [f"-gcflags={spec.module}/...=-lang=go{lang}"]
    argv += list(spec.binaries.values())
    if progress:
        progress(f"building {spec.name} ({spec.module_at}, go{spec.go})")
    try:
        proc.run(argv, timeout=_BUILD_TIMEOUT, env=env, cwd=pin_dir(spec), echo=False)
    except CommandError as exc:
        raise EngineError(_explain_failure(spec, exc.output)) from None
    for binary in spec.binaries:
        if not (out / binary).is_file():
            raise EngineError(f"engine {spec.name}: step 'go build' wrote no {binary}")


def _c_build(spec: EngineSpec, out: Path, progress: Progress | None) -> dict[str, str]:
    """Compile each binary's C file from the module source, verified against the pinned
    sums (``go mod download`` in the pin directory), as upstream's Makefile does."""
    from .pins import download

    if progress:
        progress(f"building {spec.name} (C from {spec.module_at})")
    gcc = shutil.which("gcc")
    if gcc is None:
        raise EngineError(f"engine {spec.name}: step 'find gcc': no gcc; "
                          "install it with `apt-get install -y gcc libc6-dev`")
    src = Path(download(spec)["Dir"])
    sources: dict[str, str] = {}
    for binary, rel in spec.binaries.items():
        path = src / rel
        sources[binary] = _sha256(path)
        try:
            proc.run([gcc, "-Os", "-Wall", "-Werror", "-static",
                      f"-DVERSION=v{spec.version}-{spec.module_version}",
                      "-o", str(out / binary), str(path)], timeout=300, echo=False)
        except CommandError as exc:
            raise EngineError(f"engine {spec.name}: step 'gcc' failed:\n{exc.output[-1500:]}"
                              ) from None
    return sources


def _c_provenance(spec: EngineSpec, bindir: Path, key: str, seconds: float,
                  sources: dict[str, str]) -> dict[str, object]:
    gcc = proc.run(["gcc", "--version"], timeout=30, echo=False).stdout.splitlines()[0]
    binaries = {name: {"sha256": _sha256(bindir / name), "size": (bindir / name).stat().st_size,
                       "compiler": gcc, "source": f"{spec.module_at}/{spec.binaries[name]}",
                       "source_sha256": sources[name]}
                for name in spec.binaries}
    return {
        "name": spec.name, "kind": spec.kind, "version": spec.version,
        "module": spec.module_at, "go": "", "compiler": gcc, "tags": [],
        "key": key, "build_seconds": round(seconds, 1), "binaries": binaries,
    }


def _quote_ldflag(flag: str) -> str:
    """``-X pkg.Var=a b`` as the linker's flag parser needs it: ``-X 'pkg.Var=a b'``."""
    if flag.startswith("-X ") and " " in flag[3:]:
        return f"-X '{flag[3:]}'"
    return flag


def _explain_failure(spec: EngineSpec, output: str) -> str:
    tail = "\n".join(output.strip().splitlines()[-12:])
    if re.search(r"proxy\.golang\.org|dial tcp|no such host|connection refused", output):
        fix = "the Go module proxy could not be reached; check GOPROXY and the network"
    elif "toolchain" in output and "download" in output:
        fix = f"go could not fetch the go{spec.go} toolchain; check GOPROXY (or GOTOOLCHAIN)"
    elif "missing go.sum entry" in output or "verifying" in output:
        fix = f"the pins do not match; run `runbook-exec engines pin {spec.name}`"
    else:
        fix = "see the compiler output above"
    return f"engine {spec.name}: step 'go build' failed ({fix}):\n{tail}"


_GO_LINE = re.compile(r"^\S+: (go\S+)$", re.M)
_MOD_LINE = re.compile(r"^\tmod\t(\S+)\t(\S+)", re.M)


def _provenance(spec: EngineSpec, bindir: Path, key: str, seconds: float) -> dict[str, object]:
    go = toolchain.go_binary(spec)
    binaries: dict[str, object] = {}
    for name in spec.binaries:
        path = bindir / name
        info = proc.run([go, "version", "-m", str(path)], timeout=60, echo=False,
                        env=toolchain.go_env(spec)).stdout
        go_line = _GO_LINE.search(info)
        mod_line = _MOD_LINE.search(info)
        got_go = go_line.group(1) if go_line else "?"
        got_mod = f"{mod_line.group(1)}@{mod_line.group(2)}" if mod_line else "?"
        want_mod = module_of(spec, spec.binaries[name])
        if got_go != f"go{spec.go}" or got_mod != want_mod:
            raise EngineError(
                f"engine {spec.name}: step 'check': {name} says {got_mod} built with {got_go}, "
                f"the table says {want_mod} with go{spec.go}"
            )
        binaries[name] = {"sha256": _sha256(path), "size": path.stat().st_size,
                          "go": got_go, "module": got_mod}
    return {
        "name": spec.name, "kind": spec.kind, "version": spec.version,
        "module": spec.module_at, "go": f"go{spec.go}", "tags": list(spec.tags),
        "key": key, "build_seconds": round(seconds, 1), "binaries": binaries,
    }


def module_of(spec: EngineSpec, package: str) -> str:
    """module@version a main package comes from: the engine's module, a companion, or a
    staging module (k8s.io/component-base for kube-log-runner) at the staging version."""
    if package == spec.module or package.startswith(spec.module + "/"):
        return spec.module_at
    for mod, ver in spec.companions.items():
        if package == mod or package.startswith(mod + "/"):
            return f"{mod}@{ver}"
    if spec.staging_version:
        parts = package.split("/")
        return f"{'/'.join(parts[:2])}@{spec.staging_version}"
    return spec.module_at


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sweep_partials(root: Path) -> None:
    for partial in root.glob(".partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not proc.pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)




def _removed_on_signal(path: Path) -> contextlib.AbstractContextManager[None]:
    """SIGTERM/SIGHUP during a build remove the partial directory, then exit (SIGINT is a
    KeyboardInterrupt, which the ``finally`` of :func:`build` handles)."""

    def handler(signum: int) -> None:
        shutil.rmtree(path, ignore_errors=True)
        sys.exit(128 + signum)

    return proc.terminations(handler)
