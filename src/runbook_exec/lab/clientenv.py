"""The environment the lab's client tools (docker, buildx, kind, podman, buildah, skopeo) run in.

It is the caller's environment less every variable that would point a tool at another daemon,
cluster or credential store, or change what it builds and saves. A reader's shell often sets
some of them (``DOCKER_HOST`` for rootless Docker or Colima, ``DOCKER_CONTEXT``,
``DOCKER_DEFAULT_PLATFORM`` on an Apple silicon Mac, ``KIND_EXPERIMENTAL_PROVIDER=podman``),
and with ``RUNBOOK_TARGET=live`` the live stack sets ``DOCKER_HOST`` and ``DOCKER_CONFIG`` for
the whole kernel. The lab's own parts must not follow them; each caller then sets the few it
means (its socket, its config directory, its provider).
"""

from __future__ import annotations

import os

# docker CLI and buildx: where to connect, with what TLS and API version, which builder,
# which platform to build and save, which legacy builder switch
DOCKER_VARS = (
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS", "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_DEFAULT_PLATFORM", "DOCKER_BUILDKIT",
    "BUILDX_BUILDER", "BUILDX_CONFIG", "BUILDKIT_HOST",
)
# kind: which provider, which cluster a command without --name means, which network
KIND_VARS = ("KIND_EXPERIMENTAL_PROVIDER", "KIND_CLUSTER_NAME", "KIND_EXPERIMENTAL_DOCKER_NETWORK")
# podman, buildah, skopeo: a remote podman, credentials, registries, storage
CONTAINERS_VARS = (
    "CONTAINER_HOST", "CONTAINER_CONNECTION", "REGISTRY_AUTH_FILE", "CONTAINERS_REGISTRIES_CONF",
    "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF",
)
FOREIGN = frozenset(DOCKER_VARS + KIND_VARS + CONTAINERS_VARS)


def own_env(**pinned: str) -> dict[str, str]:
    """The caller's environment without :data:`FOREIGN`, plus ``pinned`` (what the lab part
    means: its socket, config directory, provider, PATH)."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(pinned)
    return env
