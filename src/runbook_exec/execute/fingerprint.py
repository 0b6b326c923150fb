"""What a verification depends on: the lab environment, the package, its dependencies.

The executor never imports the lab; it asks the binaries for their versions directly.
:class:`CacheInputs` is the seam tests use to change one input at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

from .. import proc
from ..errors import CommandError, MissingDependencyError

PACKAGE_DIST = "runbook-exec"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
TARGET_ENV = "RUNBOOK_TARGET"

# binary -> argv that prints its version
# (containerd, dockerd and the rest are engines: each ledger record names those it ran)
_VERSION_ARGV: dict[str, list[str]] = {
    "skopeo": ["skopeo", "--version"],
    "runc": ["runc", "--version"],
}


def binary_version(argv: list[str]) -> str:
    """First line of ``argv``'s output, or ``"absent"`` when the binary is not installed."""
    try:
        result = proc.run(argv, timeout=20, check=False, echo=False, merge_stderr=True)
    except MissingDependencyError:
        return "absent"
    except CommandError:  # timed out: present but unusable
        return "unresponsive"
    lines = result.output.strip().splitlines()
    if result.returncode != 0 or not lines:
        return "absent"
    return lines[0].strip()


def lab_target() -> str:
    """``sandbox`` (default) or ``live``, as the lab will choose it from the environment."""
    return os.environ.get(TARGET_ENV, "sandbox").strip() or "sandbox"


def environment_fingerprint() -> dict[str, str]:
    """skopeo/runc versions, sandbox or live target, python version."""
    env = {name: binary_version(argv) for name, argv in _VERSION_ARGV.items()}
    env["target"] = lab_target()
    env["python"] = platform.python_version()
    return env


def dependency_versions() -> dict[str, str]:
    """Installed versions of the package's direct (non-extra) requirements."""
    try:
        requires = metadata.requires(PACKAGE_DIST) or []
    except metadata.PackageNotFoundError:
        return {}
    versions: dict[str, str] = {}
    for req in requires:
        if "extra ==" in req:
            continue
        found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
        if not found:
            continue
        name = found.group(0)
        try:
            versions[name.lower()] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name.lower()] = "absent"
    return dict(sorted(versions.items()))


def package_digest(root: Path = PACKAGE_ROOT) -> str:
    """sha256 over the package's own ``*.py`` files (paths and bytes, in a stable order)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit(where: Path) -> str:
    try:
        result = proc.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], timeout=10, check=False, echo=False
        )
    except (MissingDependencyError, CommandError):
        return "unknown"
    return result.stdout.strip() if result.ok else "unknown"


@dataclass(frozen=True)
class CacheInputs:
    """Everything besides the runbook source that a cache key covers."""

    environment: dict[str, str] = field(default_factory=dict)
    dependencies: dict[str, str] = field(default_factory=dict)
    package: str = ""

    @classmethod
    def gather(cls) -> CacheInputs:
        return cls(environment_fingerprint(), dependency_versions(), package_digest())

    def with_changes(
        self,
        *,
        environment: dict[str, str] | None = None,
        dependencies: dict[str, str] | None = None,
    ) -> CacheInputs:
        """A copy with some entries replaced (tests change one input at a time)."""
        return replace(
            self,
            environment={**self.environment, **(environment or {})},
            dependencies={**self.dependencies, **(dependencies or {})},
        )

    def key(self, source: bytes) -> str:
        digest = hashlib.sha256()
        digest.update(hashlib.sha256(source).digest())
        digest.update(
            json.dumps(
                {
                    "environment": self.environment,
                    "dependencies": self.dependencies,
                    "package": self.package,
                },
                sort_keys=True,
            ).encode()
        )
        return digest.hexdigest()
