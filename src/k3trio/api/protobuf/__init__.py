"""The Kubernetes protobuf encoding (``application/vnd.kubernetes.protobuf``) of built-in types.

Bodies are decoded into, and encoded from, the same JSON dicts the rest of the API server uses:

    decode_protobuf(body: bytes) -> dict       # full object, kind/apiVersion from the envelope
    encode_protobuf(obj: dict) -> bytes        # envelope + message for obj's apiVersion/kind
    decode_message(buf, message) / encode_message(obj, message)   # one message, no envelope
    message_for_kind(api_version, kind) -> message name

Every failure is a :class:`ProtobufError` (a ValueError) whose text can go straight into a
400 Status. Modules: ``wire`` (varints and records), ``schema`` (the field table),
``special`` (times, durations, quantities), ``codec`` (messages), ``envelope``.
"""

from .codec import decode_message, encode_message
from .envelope import PROTOBUF_CONTENT_TYPE, decode_protobuf, encode_protobuf
from .schema import message_for_kind
from .wire import ProtobufError

__all__ = [
    "PROTOBUF_CONTENT_TYPE",
    "ProtobufError",
    "decode_message",
    "decode_protobuf",
    "encode_message",
    "encode_protobuf",
    "message_for_kind",
]
