"""The table of engines: every real binary the lab runs that we build from a Go module.

One :class:`EngineSpec` per engine names its upstream module and version, the Go toolchain
that builds it (the one its release was built with), build tags, version ldflags and the
binaries it yields. Its pins — a wrapper ``go.mod`` and ``go.sum`` — live in
``pins/<name>/`` beside this file; nothing of upstream's source is in our tree.

Where the Go version comes from:

* moby and the docker CLI: ``ARG GO_VERSION`` in the ``Dockerfile`` at the tag;
* containerd and crictl: the Go kind used for its base image (``.go-version`` at the kind
  release), because that is the build a kind node runs;
* kind: the Go of its own ``.go-version`` at the tag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# Build tags that avoid cgo headers this machine lacks (btrfs, devicemapper, zfs).
_MOBY_TAGS = (
    "netgo", "osusergo", "static_build",
    "exclude_graphdriver_btrfs", "exclude_graphdriver_devicemapper", "exclude_graphdriver_zfs",
)
_CONTAINERD_TAGS = ("no_btrfs", "no_devmapper", "no_zfs", "urfave_cli_no_docs")


@dataclass(frozen=True)
class EngineSpec:
    """One engine: where its source comes from and how it is built.

    ``binaries`` maps each output file name to the Go package that builds it.
    ``pin_from`` says how the wrapper's requirements were derived: ``"vendor.mod"`` (moby
    and the CLI at ``+incompatible`` tags, which vendor their dependencies and have no
    go.mod) or ``"go.mod"`` (the module's own requirements, reached by MVS).
    ``companions`` are extra modules the wrapper requires at published versions where
    upstream replaces them with local directories (moby v2's ``api`` and ``client``).
    """

    name: str
    kind: str
    version: str
    module: str
    module_version: str
    go: str
    binaries: dict[str, str]
    tags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    pin_from: str = "go.mod"
    companions: dict[str, str] = field(default_factory=dict)
    # upstream requirements replaced by another published version, each with its reason
    substitutes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # upstream's local replaces (k8s's ./staging/src/k8s.io/*) answered by the published
    # module of the same path at this version
    staging_version: str = ""
    cgo: bool = False
    go_source: str = ""
    note: str = ""

    @property
    def module_at(self) -> str:
        return f"{self.module}@{self.module_version}"

    @property
    def toolchain(self) -> str:
        """What compiles it: ``go1.21.6``, or ``gcc`` for a C engine."""
        return f"go{self.go}" if self.go else "gcc"

    @property
    def is_c(self) -> bool:
        """A C program compiled from a module's source (the pause binary), not a Go build."""
        return not self.go


def _moby(version: str, go: str, *, commit: str = "") -> EngineSpec:
    x = "github.com/docker/docker/dockerversion"
    return EngineSpec(
        name=f"dockerd-{version}", kind="dockerd", version=version,
        module="github.com/docker/docker", module_version=f"v{version}+incompatible", go=go,
        binaries={"dockerd": "github.com/docker/docker/cmd/dockerd"},
        tags=_MOBY_TAGS, pin_from="vendor.mod",
        ldflags=(f"-X {x}.Version={version}", f"-X {x}.GitCommit={commit or 'v' + version}",
                 f"-X {x}.PlatformName=Docker Engine - Community (runbook-exec build)"),
        go_source=f"moby Dockerfile ARG GO_VERSION at v{version}",
    )


def _cli(version: str, go: str) -> EngineSpec:
    x = "github.com/docker/cli/cli/version"
    return EngineSpec(
        name=f"docker-cli-{version}", kind="docker-cli", version=version,
        module="github.com/docker/cli", module_version=f"v{version}+incompatible", go=go,
        binaries={"docker": "github.com/docker/cli/cmd/docker"},
        tags=("osusergo", "netgo"), pin_from="vendor.mod",
        ldflags=(f"-X {x}.Version={version}", f"-X {x}.GitCommit=v{version}",
                 f"-X {x}.PlatformName=Docker Engine - Community (runbook-exec build)"),
        go_source=f"docker/cli Dockerfile ARG GO_VERSION at v{version}",
    )


def _containerd(version: str, go: str, kind_release: str) -> EngineSpec:
    major2 = version.startswith("2.")
    module = "github.com/containerd/containerd/v2" if major2 else "github.com/containerd/containerd"
    x = f"{module}/version"
    return EngineSpec(
        name=f"containerd-{version}", kind="containerd", version=version,
        module=module, module_version=f"v{version}", go=go,
        binaries={
            "containerd": f"{module}/cmd/containerd",
            "ctr": f"{module}/cmd/ctr",
            "containerd-shim-runc-v2": f"{module}/cmd/containerd-shim-runc-v2",
        },
        tags=_CONTAINERD_TAGS,
        ldflags=(f"-X {x}.Version=v{version}", f"-X {x}.Package=github.com/containerd/containerd",
                 f"-X {x}.Revision=v{version}"),
        go_source=f"kind {kind_release} .go-version (the Go kind's base image built it with)",
        note=f"the containerd of kind {kind_release} nodes",
    )


_BUILDKIT_0117 = (
    "v0.11.7-0.20230723230859-616c3f613b54",
    "moby v24.0.7 vendors buildkit v0.11.7-0.20230908085316-d3e6c1360f6e, a commit on the "
    "v0.11 branch that the module proxy refuses (403); the one moby v24.0.6 vendored, six "
    "weeks earlier on the same branch, stands in (v0.11.6 does not compile against 24.0.7's "
    "image-spec). BuildKit is dockerd's builder only: image/tarexport (docker save) does "
    "not import it.",
)

_BUILDKIT_0117_FOR_2409 = (
    "v0.11.7-0.20230723230859-616c3f613b54",
    "moby v24.0.9 vendors buildkit v0.11.7-0.20240124010513-435cb77e369c, a commit on the "
    "v0.11 branch that the module proxy refuses (403); as for 24.0.7, the one moby v24.0.6 "
    "vendored, six months earlier on the same branch, stands in. BuildKit is dockerd's "
    "builder only: image/tarexport (docker save) does not import it.",
)

# moby's and docker/cli's Dockerfiles at v24.0.9 say ARG GO_VERSION=1.20.13, but the module
# proxy refuses the golang.org/toolchain go1.20.13 linux-amd64 zip (403); go1.20.14, the next
# and last 1.20 patch release (security fixes only), builds both.
_GO_2409 = "1.20.14"


def _go_2409(what: str) -> str:
    return (f"{what} Dockerfile ARG GO_VERSION=1.20.13 at v24.0.9; the module proxy refuses "
            "the go1.20.13 toolchain (403), so go1.20.14, the next 1.20 patch release, builds it")


ENGINES: tuple[EngineSpec, ...] = (
    dataclasses.replace(
        _moby("24.0.7", "1.20.10"),
        substitutes={"github.com/moby/buildkit": _BUILDKIT_0117},
        note=_BUILDKIT_0117[1],
    ),
    dataclasses.replace(
        _moby("24.0.9", _GO_2409),
        go_source=_go_2409("moby"),
        substitutes={"github.com/moby/buildkit": _BUILDKIT_0117_FOR_2409},
        note=_BUILDKIT_0117_FOR_2409[1],
    ),
    _moby("25.0.0-rc.1", "1.21.5"),
    _moby("25.0.0", "1.21.6"),
    _moby("25.0.1", "1.21.6"),
    _moby("25.0.2", "1.21.6"),
    _moby("25.0.3", "1.21.6"),
    EngineSpec(
        name="dockerd-29.8.1", kind="dockerd", version="29.8.1",
        module="github.com/moby/moby/v2", module_version="v2.0.0-beta.24", go="1.26.8",
        binaries={"dockerd": "github.com/moby/moby/v2/cmd/dockerd"},
        tags=_MOBY_TAGS,
        companions={"github.com/moby/moby/api": "v1.56.0", "github.com/moby/moby/client": "v0.6.0"},
        ldflags=("-X github.com/moby/moby/v2/dockerversion.Version=29.8.1",
                 "-X github.com/moby/moby/v2/dockerversion.GitCommit=v2.0.0-beta.24",
                 "-X github.com/moby/moby/v2/dockerversion.PlatformName=Docker Engine - "
                 "Community (runbook-exec build)"),
        go_source="moby Dockerfile ARG GO_VERSION at v2.0.0-beta.24",
        note="moby's v2 module tags (v2.0.0-beta.N) stand beside the docker-v29.* tags; the "
        "proxy serves the module tags only. beta.24 (2026-09-15) is the newest served; it "
        "requires api v1.56.0 / client v0.6.0 as docker CLI 29.8.1 (same day) does, so it "
        "is labelled 29.8.1.",
    ),
    _cli("24.0.7", "1.20.10"),
    dataclasses.replace(_cli("24.0.9", _GO_2409), go_source=_go_2409("docker/cli")),
    _cli("25.0.0-rc.1", "1.21.5"),
    _cli("25.0.0", "1.21.6"),
    _cli("25.0.1", "1.21.6"),
    _cli("25.0.2", "1.21.6"),
    _cli("25.0.3", "1.21.6"),
    _cli("29.8.1", "1.26.8"),
    _containerd("1.7.1", "1.20.4", "v0.20.0"),
    _containerd("1.7.24", "1.23.4", "v0.26.0"),
    _containerd("2.0.2", "1.23.6", "v0.27.0"),
    _containerd("2.1.4", "1.24.6", "v0.30.0"),
    _containerd("2.3.4", "1.26.7", "v0.33.0"),
    EngineSpec(
        name="crictl-1.36.0", kind="crictl", version="1.36.0",
        module="sigs.k8s.io/cri-tools", module_version="v1.36.0", go="1.26.7",
        binaries={"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
        ldflags=("-X sigs.k8s.io/cri-tools/pkg/version.Version=v1.36.0",),
        go_source="kind v0.33.0 .go-version",
        note="kind v0.33.0's base image pins crictl v1.36.0; kind v0.20.0's v1.27.0 is not "
        "served by the module proxy, and kind's `crictl inspecti` is the same call in both.",
    ),
    EngineSpec(
        name="registry-3.1.2", kind="registry", version="3.1.2",
        module="github.com/distribution/distribution/v3", module_version="v3.1.2", go="1.26.8",
        binaries={"registry": "github.com/distribution/distribution/v3/cmd/registry"},
        ldflags=("-X github.com/distribution/distribution/v3/version.version=v3.1.2",),
        go_source="distribution Dockerfile ARG GO_VERSION at v3.1.2",
        note="the lab's own registry on 127.0.0.1: what 'pulled' images are pulled from",
    ),
    EngineSpec(
        name="buildx-0.38.2", kind="buildx", version="0.38.2",
        module="github.com/docker/buildx", module_version="v0.38.2", go="1.26.8",
        binaries={"buildx": "github.com/docker/buildx/cmd/buildx"},
        ldflags=("-X github.com/docker/buildx/version.Version=v0.38.2",),
        go_source="buildx Dockerfile ARG GO_VERSION=1.26 at v0.38.2 (its go.mod: go 1.26.8)",
        note="the docker CLI plugin that builds multi-platform images with attestations",
    ),
    EngineSpec(
        name="kind-0.20.0", kind="kind", version="0.20.0",
        module="sigs.k8s.io/kind", module_version="v0.20.0", go="1.20.4",
        binaries={"kind": "sigs.k8s.io/kind"},
        go_source="kind .go-version at v0.20.0",
    ),
    EngineSpec(
        # the last release that reads only containerd config versions 2 and 3
        # (pkg/cluster/nodeutils/util.go); v0.32.0 added 4, which containerd 2.3 writes
        name="kind-0.31.0", kind="kind", version="0.31.0",
        module="sigs.k8s.io/kind", module_version="v0.31.0", go="1.25.5",
        binaries={"kind": "sigs.k8s.io/kind"},
        go_source="kind .go-version at v0.31.0",
    ),
    EngineSpec(
        name="kind-0.33.0", kind="kind", version="0.33.0",
        module="sigs.k8s.io/kind", module_version="v0.33.0", go="1.26.7",
        binaries={"kind": "sigs.k8s.io/kind"},
        go_source="kind .go-version at v0.33.0",
    ),
)

def _runc(version: str, go: str, kind_release: str) -> EngineSpec:
    return EngineSpec(
        name=f"runc-{version}", kind="runc", version=version,
        module="github.com/opencontainers/runc", module_version=f"v{version}", go=go,
        binaries={"runc": "github.com/opencontainers/runc"},
        # runc's nsenter is C and seccomp is libseccomp: cgo, linked statically (glibc's and
        # libseccomp's .a from Debian's libc6-dev and libseccomp-dev) to run FROM scratch
        tags=("seccomp", "netgo", "osusergo"), cgo=True,
        ldflags=(f"-X main.version={version}", f"-X main.gitCommit=v{version}",
                 "-extldflags=-static"),
        go_source=f"kind {kind_release} .go-version (kind's base image builds runc with it)",
        note=f"the runc of kind {kind_release} nodes (RUNC_VERSION in images/base/Dockerfile), "
        "with the seccomp tag as runc's Makefile has by default: containerd's CRI plugin puts "
        "its RuntimeDefault seccomp profile on every pod sandbox (seen in the spec it hands "
        "runc), so kind's runc must apply it.",
    )


def _kubelet(version: str, go: str, kind_release: str) -> EngineSpec:
    x = "k8s.io/component-base/version"
    major, minor = version.split(".")[:2]
    return EngineSpec(
        name=f"kubelet-{version}", kind="kubelet", version=version,
        module="k8s.io/kubernetes", module_version=f"v{version}", go=go,
        binaries={
            "kubelet": "k8s.io/kubernetes/cmd/kubelet",
            # the klog --log-file flag is gone since 1.26; this is its replacement
            "kube-log-runner": "k8s.io/component-base/logs/kube-log-runner",
        },
        # providerless: no in-tree cloud providers (AWS, Azure, GCE, vSphere SDKs)
        tags=("providerless",),
        ldflags=(f"-X {x}.gitVersion=v{version}", f"-X {x}.gitMajor={major}",
                 f"-X {x}.gitMinor={minor}", f"-X {x}.gitTreeState=clean"),
        staging_version=f"v0.{minor}.{version.split('.')[2]}",
        go_source=("build/dependencies.yaml 'golang: upstream version'" if minor == "26"
                   else ".go-version") + f" at v{version}",
        note=f"the kubelet of the lab's {kind_release} node (standalone: static pods, no API "
        "server); the staging modules (k8s.io/api, client-go, ...) come from the proxy at the "
        "matching v0 versions, as they are published from the same tag.",
    )


_STAGING_12613 = (
    "v0.26.13",
    "the module proxy refuses v0.26.15 and v0.26.14 of these staging modules (403); v0.26.13 "
    "stands in. They hold other components' code and config types: the kubelet compiles none "
    "of them (`go list -deps` of cmd/kubelet), they only complete the module graph.",
)


def _pause(kube: str) -> EngineSpec:
    return EngineSpec(
        name="pause-3.9", kind="pause", version="3.9",
        module="k8s.io/kubernetes", module_version=f"v{kube}", go="",
        binaries={"pause": "build/pause/linux/pause.c"},
        go_source="C: gcc -Os -static, as build/pause/Makefile builds it",
        note="the sandbox ('pause') container of every pod: kubernetes' build/pause/linux/"
        f"pause.c at v{kube}, compiled by the host's gcc; the lab's node image carries it as "
        "registry.k8s.io/pause:3.9 (nothing is pulled).",
    )


ENGINES = ENGINES + (
    _runc("1.1.7", "1.20.4", "v0.20.0"),
    _runc("1.4.3", "1.26.7", "v0.33.0"),
    dataclasses.replace(
        _kubelet("1.26.15", "1.21.8", "v0.20.0"),
        substitutes={m: _STAGING_12613 for m in (
            "k8s.io/controller-manager", "k8s.io/kube-controller-manager", "k8s.io/kube-proxy",
            "k8s.io/sample-apiserver")},
    ),
    _kubelet("1.37.0", "1.26.6", "v0.33.0"),
    _pause("1.26.15"),
)

BY_NAME: dict[str, EngineSpec] = {e.name: e for e in ENGINES}

# Which containerd a kind release's nodes run (kind images/base/Dockerfile, CONTAINERD_VERSION).
KIND_CONTAINERD: dict[str, str] = {
    "v0.20.0": "containerd-1.7.1",
    "v0.26.0": "containerd-1.7.24",
    "v0.27.0": "containerd-2.0.2",
    "v0.30.0": "containerd-2.1.4",
    "v0.33.0": "containerd-2.3.4",
}

# The runc and kubelet of the lab's node for a kind release (kind images/base/Dockerfile
# RUNC_VERSION; the kubelet: the seed's Kubernetes 1.26 for v0.20.0, kind's default node
# image version for the latest release).
KIND_RUNC: dict[str, str] = {"v0.20.0": "runc-1.1.7", "v0.33.0": "runc-1.4.3"}
KIND_KUBELET: dict[str, str] = {"v0.20.0": "kubelet-1.26.15", "v0.33.0": "kubelet-1.37.0"}


def spec(name: str) -> EngineSpec:
    """The engine called ``name``; a clear error lists the known names otherwise."""
    from ..errors import EngineError

    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise EngineError(f"no engine called {name!r}; known engines: {known}") from None
