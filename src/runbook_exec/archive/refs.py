r"""Docker image references: the one place their grammar lives.

The rules are those of github.com/distribution/reference (``normalize.go``, ``regexp.go``),
which docker, containerd's ``ctr`` and the kubelet all use:

* the first path component is a *domain* when it contains ``.`` or ``:``, is ``localhost``,
  or has an uppercase letter; otherwise the domain is ``docker.io`` (``splitDockerDomain``);
* ``index.docker.io`` is the legacy spelling of ``docker.io``;
* on ``docker.io`` a one-component path is an official image: ``library/`` is prepended;
* the *familiar* form (``FamiliarName``/``FamiliarString``, what ``docker save`` writes in
  ``RepoTags`` and ``repositories``) drops ``docker.io/`` and, only when one component
  remains after it, ``library/``: ``docker.io/library/a/b`` stays ``library/a/b``;
* the repository path is lowercase (``ErrNameContainsUppercase``), tags are
  ``[\w][\w.-]{0,127}``, digests ``sha256|sha384|sha512:<lowercase hex>`` (go-digest's
  check; the grammar alone allows any ``algorithm:hex``), a bare 64-hex
  string is refused (it would be an image ID), and the path (without
  the domain) is at most 255 characters.

:func:`parse` is ``reference.ParseNormalizedNamed`` (raises :class:`ArchiveError`);
:func:`qualify`, :func:`has_domain` and :func:`familiar` are the lenient spellings the doctor
applies to whatever names an archive holds (they never raise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ArchiveError

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "Reference",
    "familiar",
    "has_domain",
    "parse",
    "parse_tagged",
    "qualify",
    "split_tag",
]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = (rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[(?:[a-fA-F0-9:]+)\])(?::[0-9]+)?")
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^((?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}  # go-digest's, with their hex
_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
_NAME = re.compile(rf"^(?:({_DOMAIN})/)?({_COMPONENT}(?:/{_COMPONENT})*)$")


def _split_domain(name: str) -> tuple[str, str, bool]:
    """``splitDockerDomain``: (domain, remainder, whether the name spelled the domain)."""
    first, sep, rest = name.partition("/")
    if sep and (first == "localhost" or any(c in first for c in ".:") or first.lower() != first):
        domain, remainder, explicit = first, rest, True
        if domain == LEGACY_DEFAULT_DOMAIN:
            domain = DEFAULT_DOMAIN
    else:
        domain, remainder, explicit = DEFAULT_DOMAIN, name, False
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder, explicit


def _familiar_path(domain: str, path: str) -> str:
    if domain != DEFAULT_DOMAIN:
        return f"{domain}/{path}"
    rest = path[len(OFFICIAL_PREFIX):]
    return rest if path.startswith(OFFICIAL_PREFIX) and "/" not in rest else path


@dataclass(frozen=True)
class Reference:
    """A normalised reference: ``domain``/``path``, optional ``tag`` and ``digest``."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """``docker.io/library/demo`` (``Named.Name()``)."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        """``docker.io/library/demo:v1[@sha256:…]`` (``Reference.String()``)."""
        return self.name + (f":{self.tag}" if self.tag else "") + (
            f"@{self.digest}" if self.digest else "")

    @property
    def full(self) -> str:
        """The full string (``str(ref)``)."""
        return str(self)

    @property
    def familiar_name(self) -> str:
        """``demo``, ``user/app``, ``library/a/b``, ``reg:5000/x`` (``FamiliarName``)."""
        return _familiar_path(self.domain, self.path)

    @property
    def familiar(self) -> str:
        """``demo:v1`` (``FamiliarString``)."""
        return self.familiar_name + (f":{self.tag}" if self.tag else "") + (
            f"@{self.digest}" if self.digest else "")

    def tagged(self) -> Reference:
        """With ``:latest`` when neither tag nor digest is given (``TagNameOnly``)."""
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG)


def parse(text: str) -> Reference:
    """``reference.ParseNormalizedNamed``: ``demo:v1`` → ``docker.io/library/demo:v1``."""
    if _IDENTIFIER.match(text):
        raise ArchiveError(f"invalid repository name ({text}), cannot specify 64-byte "
                           "hexadecimal strings")
    domain, remainder, _ = _split_domain(text)
    remote = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote.lower() != remote:
        raise ArchiveError(f"invalid reference format: repository name ({remote}) must be "
                           "lowercase")
    m = _REFERENCE.match(f"{domain}/{remainder}")
    if m is None:
        raise ArchiveError(f"invalid reference format: {text!r}")
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    named = _NAME.match(name)
    assert named is not None  # the reference pattern matched it
    if len(named.group(2)) > NAME_MAX:  # the path, without the domain (reference.go)
        raise ArchiveError(f"{text!r}: repository name must not be more than {NAME_MAX} "
                           "characters")
    if digest:
        algorithm, _, encoded = digest.partition(":")
        width = _ALGORITHMS.get(algorithm)
        if width is None or not re.fullmatch(f"[a-f0-9]{{{width}}}", encoded):
            raise ArchiveError(f"{text!r}: invalid digest {digest!r} (sha256, sha384 or sha512 "
                               "with their lowercase hex)")
    return Reference(named.group(1) or "", named.group(2), tag, digest)


def parse_tagged(text: str) -> Reference:
    """A name to save an image under: :func:`parse`, ``:latest`` by default, no digest."""
    ref = parse(text)
    if ref.digest:
        raise ArchiveError(f"{text!r}: a digest reference has no tag to save under")
    return ref.tagged()


def qualify(name: str) -> str:
    """The full spelling of ``name`` as far as its domain goes, without validating it or
    adding a tag: ``demo:v1`` → ``docker.io/library/demo:v1``."""
    domain, remainder, _ = _split_domain(name)
    return f"{domain}/{remainder}"


def has_domain(name: str) -> bool:
    """Whether ``name`` spells its domain (``reg:5000/x``, ``docker.io/library/x``)."""
    return _split_domain(name)[2]


def familiar(name: str) -> str:
    """The familiar spelling of ``name`` (``docker.io/library/a:1`` → ``a:1``,
    ``docker.io/library/a/b:1`` → ``library/a/b:1``), without validating it."""
    domain, remainder, _ = _split_domain(name)
    return _familiar_path(domain, remainder)


def split_tag(name: str) -> tuple[str, str | None]:
    """(name without tag, tag or None); a ``:`` in the domain's port is not a tag."""
    head, _, last = name.rpartition("/")
    if ":" in last:
        path, tag = last.rsplit(":", 1)
        return (f"{head}/{path}" if head else path), tag
    return name, None
