"""A live target made of lab parts: what a reader with Docker and kind has, for CI.

``RUNBOOK_TARGET=live`` means "my own Docker and my kind cluster". To run every runbook that
way here, :func:`live_stack` starts a real dockerd of a chosen release and kind node
containers of a chosen kind release in it (:class:`~.kindnode.KindCluster`), puts that
release's real ``docker`` CLI and the real ``kind`` CLI first on ``PATH``, and returns the
environment a reader's shell would have: ``DOCKER_HOST``, ``PATH``, ``RUNBOOK_TARGET=live``.
Nothing of the machine's own Docker or clusters is touched.

``runbook-exec lab live [--docker V] [--kind K] -- COMMAND`` runs COMMAND in it and removes
everything afterwards, also on SIGINT/SIGTERM/SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .. import proc
from ..errors import LabError, UsageError
from .commands import DEFAULT_LIVE_DOCKER, DEFAULT_LIVE_KIND
from .engine import Engine
from .kindnode import KindCluster
from .live import ENV_CLUSTER, ENV_TARGET

_OPEN = re.compile(r"open_target\(([^)]*)\)", re.S)


def stack_of(runbook: Path) -> tuple[str, str]:
    """The (Docker release, kind release) a runbook opens its target with: the reader that
    runbook is written for, so the live stack to verify it on."""
    from .engine import DEFAULT_DOCKER
    from .node import DEFAULT_KIND

    match = _OPEN.search(runbook.read_text(encoding="utf-8"))
    args = match.group(1) if match else ""
    docker = re.search(r'docker="([^"]+)"', args)
    kind = re.search(r'kind="([^"]+)"', args)
    return (docker.group(1) if docker else DEFAULT_DOCKER, kind.group(1) if kind else DEFAULT_KIND)


def opens_target(runbook: Path) -> bool:
    """Whether a runbook opens a target at all. One that does not starts its own lab parts
    (engines, a chroot, a podman store) whatever RUNBOOK_TARGET says, and those parts ignore
    the caller's Docker and kind variables (:mod:`.clientenv`): a live stack has nothing to
    verify for it."""
    return _OPEN.search(runbook.read_text(encoding="utf-8")) is not None


def stays_in_sandbox(runbook: Path) -> bool:
    """Whether a runbook opens its target with ``sandbox_only=…``: with RUNBOOK_TARGET=live it
    runs in the sandbox all the same, so a live stack has nothing to verify for it."""
    match = _OPEN.search(runbook.read_text(encoding="utf-8"))
    return bool(match and re.search(r"\bsandbox_only\s*=", match.group(1)))


@contextlib.contextmanager
def live_stack(
    *, docker: str = DEFAULT_LIVE_DOCKER, kind: str = DEFAULT_LIVE_KIND, name: str = "kind",
    kubelet: bool = False,
) -> Iterator[dict[str, str]]:
    """Start the engine and the kind nodes; yield the environment; remove both."""
    with proc.quiet(), Engine(docker) as engine, \
            KindCluster(engine, kind=kind, name=name, kubelet=kubelet) as cluster:
        bindir = engine.root / "live-bin"
        bindir.mkdir(exist_ok=True)
        for tool, target in (("docker", engine.cli_engine.bin("docker")),
                             ("kind", cluster.kind_cli.bin("kind"))):
            link = bindir / tool
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        env = {
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DOCKER_HOST": f"unix://{engine.socket}",
            "DOCKER_CONFIG": str(engine.root / "cli-config"),
            ENV_TARGET: "live",
            ENV_CLUSTER: name,
            "RUNBOOK_LIVE_DESCRIPTION": cluster.description,
        }
        yield env


def run_in_live_stack(argv: Sequence[str], *, docker: str, kind: str, kubelet: bool) -> int:
    """Run ``argv`` with the live stack's environment; its exit status."""
    if not argv:
        raise UsageError("`runbook-exec lab live` needs a command after `--`, e.g. "
                       "`runbook-exec lab live -- runbook-exec run --build build/live`")

    def stop(signum: int) -> None:
        raise KeyboardInterrupt  # unwinds the stack's context managers

    with proc.terminations(stop), live_stack(docker=docker, kind=kind, kubelet=kubelet) as env:
        print(f"live stack: {env['RUNBOOK_LIVE_DESCRIPTION']}", file=sys.stderr, flush=True)
        try:
            return subprocess.run(list(argv), env=dict(os.environ, **env),
                                  check=False).returncode
        except FileNotFoundError:
            raise LabError(f"command not found: {argv[0]}") from None
