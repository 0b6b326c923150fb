"""Ask containerd's CRI plugin what the kubelet would see: ``ImageService/ImageStatus``.

No crictl exists here, so this speaks the CRI gRPC API directly with a hand-written
protobuf encoding of just the fields needed (cri-api ``api.proto``)::

    ImageStatusRequest  { ImageSpec image = 1; bool verbose = 2; }
    ImageSpec           { string image = 1; ... }
    ImageStatusResponse { Image image = 1; map<string,string> info = 2; }
    Image               { string id = 1; repeated string repo_tags = 2;
                          repeated string repo_digests = 3; uint64 size = 4; ... }

An absent ``image`` field in the response means "not present" (that is how the kubelet
decides to pull). The encoding is split from the I/O so it is tested without a daemon.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError

# runtime.v1 first (containerd ≥ 1.5, what kubelets ≥ 1.26 use); v1alpha2 for older nodes.
SERVICES = ("runtime.v1.ImageService", "runtime.v1alpha2.ImageService")


@dataclass(frozen=True)
class CriImage:
    """The CRI ``Image`` message, reduced to what identifies it."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_image_status_request(ref: str) -> bytes:
    """Serialise ``ImageStatusRequest{image: ImageSpec{image: ref}}``."""
    return _field_bytes(1, _field_bytes(1, ref.encode("utf-8")))


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise LabError("truncated protobuf varint in a CRI response")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def iter_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield ``(field number, value)``: ints for varints/fixed, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            yield number, value
        elif wire == 1:
            yield number, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise LabError("truncated protobuf field in a CRI response")
            yield number, data[pos : pos + length]
            pos += length
        elif wire == 5:
            yield number, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise LabError(f"unsupported protobuf wire type {wire} in a CRI response")


def decode_image_status_response(data: bytes) -> CriImage | None:
    """Parse ``ImageStatusResponse``; ``None`` when the runtime says the image is absent."""
    for number, value in iter_fields(data):
        if number == 1 and isinstance(value, bytes):
            return _decode_image(value)
    return None


def _decode_image(data: bytes) -> CriImage:
    image_id, size = "", 0
    tags: list[str] = []
    digests: list[str] = []
    for number, value in iter_fields(data):
        if number == 1 and isinstance(value, bytes):
            image_id = value.decode("utf-8")
        elif number == 2 and isinstance(value, bytes):
            tags.append(value.decode("utf-8"))
        elif number == 3 and isinstance(value, bytes):
            digests.append(value.decode("utf-8"))
        elif number == 4 and isinstance(value, int):
            size = value
    return CriImage(image_id, tuple(tags), tuple(digests), size)


def image_status(address: Path, ref: str, *, timeout: float = 10.0) -> tuple[CriImage | None, str]:
    """Ask the CRI plugin at ``address`` about ``ref``; return the image (or None) and the API.

    Tries ``runtime.v1`` then ``runtime.v1alpha2`` (only when v1 is UNIMPLEMENTED).
    """
    import grpc

    request = encode_image_status_request(ref)
    with grpc.insecure_channel(f"unix:{address}") as channel:
        last: Exception | None = None
        for service in SERVICES:
            call = channel.unary_unary(
                f"/{service}/ImageStatus",
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            try:
                reply = call(request, timeout=timeout)
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    last = exc
                    continue
                raise LabError(
                    f"CRI ImageStatus for {ref!r} at {address} failed: {exc.code().name}: "
                    f"{exc.details()}"
                ) from exc
            return decode_image_status_response(reply), service
    raise LabError(f"the runtime at {address} serves no CRI ImageService") from last
