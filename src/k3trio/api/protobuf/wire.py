"""Protocol-buffers wire format: varints, tags and length-delimited records, bytes in and out.

Only what the Kubernetes encoding uses (proto2, no groups): wire types 0 (varint), 1 (64-bit),
2 (length-delimited) and 5 (32-bit). Readers raise :class:`ProtobufError` on truncated or
malformed input and never read past the buffer.

Invariants:
- ``iter_fields`` yields ``(number, wire_type, value)`` in buffer order; ``value`` is an ``int``
  for varints, the raw little-endian ``bytes`` for fixed widths, a ``memoryview`` slice (no copy)
  for length-delimited records.
- Writers append to a ``bytearray``; negative integers are written as 10-byte two's complement
  varints, as Go does for int32 and int64 fields.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = [
    "ProtobufError",
    "VARINT",
    "FIXED64",
    "LENGTH",
    "FIXED32",
    "iter_fields",
    "read_varint",
    "signed64",
    "write_tag",
    "write_varint",
    "write_length_delimited",
]

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """A body that is not a valid Kubernetes protobuf encoding, or an object that cannot be
    encoded (unknown kind, value of the wrong type)."""


def read_varint(buf: memoryview | bytes, pos: int) -> tuple[int, int]:
    """Decode the varint at ``pos``; returns ``(value, next position)``."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def signed64(value: int) -> int:
    """Reinterpret a decoded varint as a two's complement int64."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def iter_fields(buf: memoryview | bytes) -> Iterator[tuple[int, int, int | bytes | memoryview]]:
    """Yield ``(field number, wire type, value)`` for each record of a message."""
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    pos = 0
    end = len(view)
    while pos < end:
        key, pos = read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0 is not allowed")
        if wire == VARINT:
            value, pos = read_varint(view, pos)
            yield number, wire, value
        elif wire == LENGTH:
            length, pos = read_varint(view, pos)
            if pos + length > end:
                raise ProtobufError(f"field {number}: length {length} runs past the end of the message")
            yield number, wire, view[pos : pos + length]
            pos += length
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtobufError(f"field {number}: truncated 64-bit value")
            yield number, wire, bytes(view[pos : pos + 8])
            pos += 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtobufError(f"field {number}: truncated 32-bit value")
            yield number, wire, bytes(view[pos : pos + 4])
            pos += 4
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire}")


def write_varint(out: bytearray, value: int) -> None:
    """Append ``value`` as a varint (negative values as 64-bit two's complement)."""
    if value < 0:
        value += 1 << 64
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def write_tag(out: bytearray, number: int, wire: int) -> None:
    write_varint(out, (number << 3) | wire)


def write_length_delimited(out: bytearray, number: int, payload: bytes | bytearray) -> None:
    write_tag(out, number, LENGTH)
    write_varint(out, len(payload))
    out += payload
