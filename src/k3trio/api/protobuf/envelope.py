"""The Kubernetes protobuf envelope: ``k8s\\x00`` then a ``runtime.Unknown`` message.

    Unknown {1: TypeMeta {1: apiVersion, 2: kind}, 2: raw (the object's message),
             3: contentEncoding, 4: contentType}

``decode_protobuf`` returns the object as the JSON decoder would (``kind`` and ``apiVersion``
first, from the envelope); ``encode_protobuf`` is its inverse. The object's message type is
found from its ``apiVersion``/``kind``; an unknown kind is a ProtobufError naming it.
"""

from __future__ import annotations

from typing import Any

from .codec import MAGIC, decode_message, encode_message
from .schema import message_for_kind
from .wire import LENGTH, ProtobufError, iter_fields, write_length_delimited

__all__ = ["PROTOBUF_CONTENT_TYPE", "decode_protobuf", "encode_protobuf"]

PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _text(value: Any, what: str) -> str:
    try:
        return bytes(value).decode("utf-8")
    except (UnicodeDecodeError, TypeError):
        raise ProtobufError(f"invalid {what} in the protobuf envelope") from None


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """The JSON object of a Kubernetes protobuf body.

    Raises:
        ProtobufError: no ``k8s\\x00`` prefix, a malformed envelope or message, a content
            encoding, or a kind without a protobuf schema.
    """
    if not body.startswith(MAGIC):
        raise ProtobufError("the body is not a Kubernetes protobuf object: it lacks the 4-byte k8s prefix")
    api_version = kind = encoding = ""
    raw: bytes | memoryview = b""
    for number, wire, value in iter_fields(memoryview(body)[len(MAGIC) :]):
        if wire != LENGTH:
            raise ProtobufError(f"invalid protobuf envelope: field {number} has wire type {wire}")
        if number == 1:
            for sub, sub_wire, sub_value in iter_fields(value):  # type: ignore[arg-type]
                if sub_wire == LENGTH and sub == 1:
                    api_version = _text(sub_value, "apiVersion")
                elif sub_wire == LENGTH and sub == 2:
                    kind = _text(sub_value, "kind")
        elif number == 2:
            raw = value  # type: ignore[assignment]
        elif number == 3:
            encoding = _text(value, "contentEncoding")
    if encoding:
        raise ProtobufError(f'unsupported content encoding "{encoding}" in the protobuf envelope')
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in the protobuf envelope")
    if not api_version:
        raise ProtobufError("Object 'apiVersion' is missing in the protobuf envelope")
    obj = decode_message(raw, message_for_kind(api_version, kind))
    return {"kind": kind, "apiVersion": api_version, **obj}


def encode_protobuf(obj: dict[str, Any]) -> bytes:
    """The Kubernetes protobuf body of a JSON object with ``apiVersion`` and ``kind``.

    Raises:
        ProtobufError: missing ``apiVersion``/``kind``, a kind without a protobuf schema, or a
            value of the wrong type.
    """
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        raise ProtobufError("cannot encode an object without apiVersion and kind as protobuf")
    raw = encode_message(obj, message_for_kind(api_version, kind))
    type_meta = bytearray()
    write_length_delimited(type_meta, 1, api_version.encode())
    write_length_delimited(type_meta, 2, kind.encode())
    out = bytearray(MAGIC)
    write_length_delimited(out, 1, type_meta)
    write_length_delimited(out, 2, raw)
    write_length_delimited(out, 3, b"")
    write_length_delimited(out, 4, b"")
    return bytes(out)
