"""The legacy v1 image JSON Docker writes for every layer of a saved image, and the v1 IDs.

Follows moby ``image/tarexport/save.go`` (``saveImage``), ``image/v1/imagev1.go``
(``CreateID``) and the ``V1Image``/``container.Config`` structs in ``image/image.go`` and
``api/types/container/config.go`` at v24.0.7 and v25.0.0 (unchanged through v27): each
layer i gets a v1 image whose ID is a hash over its JSON, the chain ID of layers 0..i and
the previous v1 ID; only the last one carries the image's own config.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..archive.gojson import Field, encode, encoded_fields, go_time, struct

__all__ = ["V1Layer", "chain_ids", "v1_layers"]

EPOCH = "1970-01-01T00:00:00Z"


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID of each prefix of ``diff_ids`` (OCI image-spec: sha256 of "parent child")."""
    out: list[str] = []
    for d in diff_ids:
        out.append(
            d if not out else "sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest()
        )
    return out


def _get(obj: dict[str, Any], key: str) -> Any:
    # Go's decoder matches keys case-insensitively; exact match first.
    if key in obj:
        return obj[key]
    low = key.lower()
    for k, v in obj.items():
        if k.lower() == low:
            return v
    return None


def _strslice(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


def _health(h: dict[str, Any], start_interval: bool) -> Any:
    fields: list[Field] = [("Test", _get(h, "Test"), True)]
    fields += [(k, _get(h, k) or 0, True) for k in ("Interval", "Timeout", "StartPeriod")]
    if start_interval:
        fields.append(("StartInterval", _get(h, "StartInterval") or 0, True))
    fields.append(("Retries", _get(h, "Retries") or 0, True))
    return struct(fields)


def container_config(c: dict[str, Any] | None, *, start_interval: bool) -> Any:
    """``container.Config`` as a Go struct (a zero struct for ``None``)."""
    c = c or {}
    health = _get(c, "Healthcheck")

    def s(k: str) -> str:
        return str(_get(c, k) or "")

    def b(k: str) -> bool:
        return bool(_get(c, k))

    return struct(
        [
            ("Hostname", s("Hostname"), False),
            ("Domainname", s("Domainname"), False),
            ("User", s("User"), False),
            ("AttachStdin", b("AttachStdin"), False),
            ("AttachStdout", b("AttachStdout"), False),
            ("AttachStderr", b("AttachStderr"), False),
            ("ExposedPorts", {k: {} for k in (_get(c, "ExposedPorts") or {})}, True),
            ("Tty", b("Tty"), False),
            ("OpenStdin", b("OpenStdin"), False),
            ("StdinOnce", b("StdinOnce"), False),
            ("Env", _get(c, "Env"), False),
            ("Cmd", _strslice(_get(c, "Cmd")), False),
            ("Healthcheck", None if health is None else _health(health, start_interval), True),
            ("ArgsEscaped", b("ArgsEscaped"), True),
            ("Image", s("Image"), False),
            (
                "Volumes",
                None if _get(c, "Volumes") is None else {k: {} for k in _get(c, "Volumes")},
                False,
            ),
            ("WorkingDir", s("WorkingDir"), False),
            ("Entrypoint", _strslice(_get(c, "Entrypoint")), False),
            ("NetworkDisabled", b("NetworkDisabled"), True),
            ("MacAddress", s("MacAddress"), True),
            ("OnBuild", _get(c, "OnBuild"), False),
            ("Labels", _get(c, "Labels"), False),
            ("StopSignal", s("StopSignal"), True),
            ("StopTimeout", _get(c, "StopTimeout"), True),
            ("Shell", _strslice(_get(c, "Shell")), True),
        ]
    )


def _v1_struct(v: dict[str, Any], *, start_interval: bool) -> Any:
    """``image.V1Image`` in field order; ``v`` holds already-decoded Go values."""
    cfg = v.get("config")
    return struct(
        [
            ("id", v.get("id", ""), True),
            ("parent", v.get("parent", ""), True),
            ("comment", v.get("comment", ""), True),
            ("created", v.get("created"), False),
            ("container", v.get("container", ""), True),
            (
                "container_config",
                container_config(v.get("container_config"), start_interval=start_interval),
                True,
            ),
            ("docker_version", v.get("docker_version", ""), True),
            ("author", v.get("author", ""), True),
            (
                "config",
                None if cfg is None else container_config(cfg, start_interval=start_interval),
                True,
            ),
            ("architecture", v.get("architecture", ""), True),
            ("variant", v.get("variant", ""), True),
            ("os", v.get("os", ""), True),
            ("Size", v.get("Size", 0), True),
        ]
    )


def _image_v1(config: dict[str, Any]) -> dict[str, Any]:
    # What json.Unmarshal into image.Image leaves in its embedded V1Image: "parent" goes to
    # the outer Image.Parent, so it is not taken here.
    created = _get(config, "created")
    out: dict[str, Any] = {
        "created": go_time(created) if isinstance(created, str) else "0001-01-01T00:00:00Z"
    }
    for key in (
        "id",
        "comment",
        "container",
        "docker_version",
        "author",
        "architecture",
        "variant",
        "os",
    ):
        val = _get(config, key)
        if isinstance(val, str):
            out[key] = val
    for key in ("container_config", "config"):
        val = _get(config, key)
        if isinstance(val, dict):
            out[key] = val
    size = _get(config, "Size")
    if isinstance(size, int):
        out["Size"] = size
    return out


@dataclass(frozen=True)
class V1Layer:
    """One layer's legacy entry: its v1 ID (hex), the JSON Docker writes for it, and the
    layer's DiffID and chain ID."""

    v1_id: str
    json: bytes
    diff_id: str
    chain_id: str


def v1_layers(config_bytes: bytes, *, start_interval: bool) -> list[V1Layer]:
    """The v1 entries ``saveImage`` makes for an image config, in config order.

    ``start_interval``: whether the tag's HealthConfig has ``StartInterval`` (v25+).
    """
    config = json.loads(config_bytes)
    diff_ids: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
    chains = chain_ids(diff_ids)
    image_v1 = _image_v1(config)
    out: list[V1Layer] = []
    parent = ""
    for i, (diff_id, chain) in enumerate(zip(diff_ids, chains, strict=True)):
        v1 = dict(image_v1) if i == len(diff_ids) - 1 else {"created": EPOCH}
        v1.pop("id", None)  # CreateID clears ID before hashing
        # CreateID re-marshals through map[string]*json.RawMessage: keys sorted, values as is.
        fields = dict(encoded_fields(_v1_struct(v1, start_interval=start_interval)))
        fields["layer_id"] = encode(chain)
        if parent:
            fields["parent"] = encode("sha256:" + parent)
        id_json = "{" + ",".join(encode(k) + ":" + fields[k] for k in sorted(fields)) + "}"
        v1_id = hashlib.sha256(id_json.encode()).hexdigest()
        v1["id"] = v1_id
        if parent:
            v1["parent"] = parent
        v1["os"] = _get(config, "os") or ""
        body = encode(_v1_struct(v1, start_interval=start_interval)).encode()
        out.append(V1Layer(v1_id, body, diff_id, chain))
        parent = v1_id
    return out
