"""Docker reference names as ``docker save`` writes them (distribution/reference rules):
the full name for ``io.containerd.image.name``, the familiar name for ``repositories`` and
``RepoTags``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Ref", "parse_ref"]

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"


@dataclass(frozen=True)
class Ref:
    domain: str
    path: str
    tag: str

    @property
    def full(self) -> str:
        """``docker.io/library/demo:v1`` (reference.Named.String())."""
        return f"{self.domain}/{self.path}:{self.tag}"

    @property
    def familiar_name(self) -> str:
        """``demo`` (reference.FamiliarName)."""
        if self.domain != DEFAULT_DOMAIN:
            return f"{self.domain}/{self.path}"
        return self.path.removeprefix(OFFICIAL_PREFIX) if self.path.count("/") == 1 else self.path

    @property
    def familiar(self) -> str:
        """``demo:v1`` (reference.FamiliarString)."""
        return f"{self.familiar_name}:{self.tag}"


def parse_ref(name: str) -> Ref:
    """Normalise ``demo:v1`` / ``user/app`` / ``reg:5000/x:t``; the tag defaults to latest."""
    if "@" in name:
        raise ValueError(f"{name!r}: a digest reference has no tag to save under")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    last = remainder.rsplit("/", 1)[-1]
    path, tag = remainder, "latest"
    if ":" in last:
        path, tag = remainder.rsplit(":", 1)
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if not path or path != path.lower():
        raise ValueError(f"{name!r}: repository names must be lowercase and non-empty")
    return Ref(domain, path, tag)
