"""Table-driven conversion between protobuf messages and the JSON dicts the API server handles.

Decoding follows what kube-apiserver would produce from the Go struct the message unmarshals
into, then marshalled as JSON:

- A field absent on the wire is absent from the dict.
- A non-pointer scalar tagged ``omitempty`` that holds its zero value ("", 0, false) is left
  out (gogo always writes non-pointer fields, so zeros are the usual filler); pointer scalars
  and fields without ``omitempty`` keep the value they carry, so ``replicas: 0`` survives.
- An inlined Go struct (``Volume.VolumeSource``) is a nested message on the wire and flattens
  into its parent's object; a named-slice wrapper (``Verbs``, ``ExtraValue``) is a JSON array.
- A message field seen twice merges, as proto2 does; repeated scalars are read packed or not.

Encoding writes the keys a dict holds, in field-number order, map entries sorted by key (as the
Go marshaller does); JSON keys the message does not know are dropped. Every error is a
:class:`ProtobufError` naming the message and field.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any

from . import schema
from .schema import (
    DURATION,
    FIELDS_V1,
    INT_OR_STRING,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    SPECIAL,
    TIME,
    Field,
)
from .special import format_duration, format_time, parse_duration, parse_time, quantity_text
from .wire import (
    FIXED32,
    FIXED64,
    LENGTH,
    VARINT,
    ProtobufError,
    iter_fields,
    read_varint,
    signed64,
    write_length_delimited,
    write_tag,
    write_varint,
)

__all__ = ["decode_message", "encode_message", "MAGIC"]

MAGIC = b"k8s\x00"
_SCALARS = frozenset("sbiudfy")
_WIRE = {"s": LENGTH, "y": LENGTH, "b": VARINT, "i": VARINT, "u": VARINT, "d": FIXED64, "f": FIXED32}
_PACKABLE = frozenset("biudf")


def decode_message(buf: bytes | memoryview, message: str) -> dict[str, Any]:
    """The JSON object of a serialized ``message``. Raises ProtobufError."""
    out: dict[str, Any] = {}
    _decode_into(out, memoryview(buf), message)
    return out


def _decode_into(out: dict[str, Any], buf: memoryview, message: str) -> None:
    table = schema.fields(message)
    for number, wire, raw in iter_fields(buf):
        field = table.get(number)
        if field is None:
            continue  # a field newer than our table: ignored, as an old client would
        if field.is_map:
            key, value = _map_entry(field, wire, raw, message)
            target = out.get(field.json)
            if not isinstance(target, dict):
                target = out[field.json] = {}
            target[key] = value
        elif field.inline:
            _expect(wire, LENGTH, field, message)
            assert isinstance(raw, memoryview)
            _decode_into(out, raw, field.type)
        elif field.repeated:
            target = out.get(field.json)
            if not isinstance(target, list):
                target = out[field.json] = []
            if wire == LENGTH and field.type in _PACKABLE:
                assert isinstance(raw, memoryview)
                target.extend(_unpack(field.type, raw, field, message))
            else:
                target.append(_value(field.type, wire, raw, field, message))
        elif field.type not in _SCALARS and field.type[0] != "[" and field.type not in SPECIAL:
            _expect(wire, LENGTH, field, message)
            assert isinstance(raw, memoryview)
            nested = out.get(field.json)
            if not isinstance(nested, dict):
                nested = out[field.json] = {}
            _decode_into(nested, raw, field.type)
        else:
            value = _value(field.type, wire, raw, field, message)
            if value is None or (
                field.type in _SCALARS and not value and field.flags & schema.F_OMITEMPTY and not field.pointer
            ):
                out.pop(field.json, None)
            else:
                out[field.json] = value


def _expect(wire: int, expected: int, field: Field, message: str) -> None:
    if wire != expected:
        raise ProtobufError(
            f"field {field.json or field.type} ({field.number}) of {message}: wire type {wire}, expected {expected}"
        )


def _unpack(type_: str, buf: memoryview, field: Field, message: str) -> list[Any]:
    values: list[Any] = []
    pos = 0
    while pos < len(buf):
        if type_ in "biu":
            raw, pos = read_varint(buf, pos)
            values.append(_value(type_, VARINT, raw, field, message))
        else:
            size = 8 if type_ == "d" else 4
            if pos + size > len(buf):
                raise ProtobufError(f"field {field.json} of {message}: truncated packed value")
            values.append(_value(type_, _WIRE[type_], bytes(buf[pos : pos + size]), field, message))
            pos += size
    return values


def _value(type_: str, wire: int, raw: int | bytes | memoryview, field: Field, message: str) -> Any:
    expected = _WIRE.get(type_, LENGTH)
    _expect(wire, expected, field, message)
    if type_ == "s":
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtobufError(f"field {field.json} of {message}: string is not valid UTF-8") from None
    if type_ == "y":
        return base64.b64encode(bytes(raw)).decode("ascii")
    if type_ == "b":
        return bool(raw)
    if type_ == "i":
        return signed64(raw)  # type: ignore[arg-type]
    if type_ == "u":
        return raw
    if type_ == "d":
        return struct.unpack("<d", raw)[0]  # type: ignore[arg-type]
    if type_ == "f":
        return struct.unpack("<f", raw)[0]  # type: ignore[arg-type]
    assert isinstance(raw, memoryview)
    if type_[0] == "[":
        item = type_[1:]
        items: list[Any] = []
        for number, item_wire, item_raw in iter_fields(raw):
            if number != 1:
                continue
            if item_wire == LENGTH and item in _PACKABLE:
                assert isinstance(item_raw, memoryview)
                items.extend(_unpack(item, item_raw, field, message))
            else:
                items.append(_value(item, item_wire, item_raw, field, message))
        return items
    if type_ in SPECIAL:
        return _decode_special(type_, raw, field, message)
    return decode_message(raw, type_)


def _map_entry(field: Field, wire: int, raw: int | bytes | memoryview, message: str) -> tuple[str, Any]:
    _expect(wire, LENGTH, field, message)
    assert isinstance(raw, memoryview)
    key: Any = None
    value: Any = None
    for number, entry_wire, entry_raw in iter_fields(raw):
        if number == 1:
            key = _value(field.key, entry_wire, entry_raw, field, message)
        elif number == 2:
            value = _value(field.value, entry_wire, entry_raw, field, message)
    if key is None:
        key = "" if field.key == "s" else 0
    if value is None:
        value = _empty_value(field.value, field, message)
    return str(key), value


def _empty_value(type_: str, field: Field, message: str) -> Any:
    if type_ in ("s", "y"):
        return ""
    if type_ == "b":
        return False
    if type_ in _PACKABLE:
        return 0
    if type_[0] == "[":
        return []
    return _value(type_, LENGTH, memoryview(b""), field, message)


def _decode_special(type_: str, raw: memoryview, field: Field, message: str) -> Any:
    parts: dict[int, Any] = {}
    for number, wire, value in iter_fields(raw):
        parts[number] = value if wire != LENGTH else bytes(value)
    try:
        if type_ == QUANTITY:
            text = parts.get(1, b"").decode("utf-8")
            return text or "0"
        if type_ in (TIME, MICRO_TIME):
            if not parts:
                return None
            seconds = signed64(parts.get(1, 0))
            nanos = signed64(parts.get(2, 0)) if type_ == MICRO_TIME else 0
            return format_time(seconds, nanos, micro=type_ == MICRO_TIME)
        if type_ == DURATION:
            return format_duration(signed64(parts.get(1, 0)))
        if type_ == INT_OR_STRING:
            if parts.get(1, 0) == 1:
                return parts.get(3, b"").decode("utf-8")
            return _int32(signed64(parts.get(2, 0)))
        # RawExtension, FieldsV1: embedded JSON, or a nested protobuf object
        data = parts.get(1, b"")
        if not data:
            return None
        if data.startswith(MAGIC):
            from .envelope import decode_protobuf

            return decode_protobuf(data)
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, AttributeError, TypeError) as exc:
        if isinstance(exc, ProtobufError):
            raise
        raise ProtobufError(f"field {field.json} of {message}: invalid {type_.rsplit('.', 1)[-1]}: {exc}") from None


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# -- encoding ----------------------------------------------------------------------------------


def encode_message(obj: dict[str, Any], message: str) -> bytes:
    """Serialize the JSON object ``obj`` as ``message``. Raises ProtobufError."""
    out = bytearray()
    _encode_into(out, obj, message)
    return bytes(out)


def _encode_into(out: bytearray, obj: Any, message: str) -> None:
    if not isinstance(obj, dict):
        raise ProtobufError(f"cannot encode {type(obj).__name__} as {message}: expected an object")
    for field in schema.ordered(message):
        if field.inline:
            write_length_delimited(out, field.number, encode_message(obj, field.type))
            continue
        value = obj.get(field.json)
        if value is None:
            continue
        if field.is_map:
            if not isinstance(value, dict):
                raise _wrong(value, field, message, "an object")
            for key in sorted(value):
                entry = bytearray()
                _write(entry, 1, field.key, key, field, message)
                if value[key] is not None:
                    _write(entry, 2, field.value, value[key], field, message)
                write_length_delimited(out, field.number, entry)
        elif field.repeated:
            if not isinstance(value, list):
                raise _wrong(value, field, message, "an array")
            for item in value:
                if item is not None:
                    _write(out, field.number, field.type, item, field, message)
        else:
            _write(out, field.number, field.type, value, field, message)


def _wrong(value: Any, field: Field, message: str, expected: str) -> ProtobufError:
    return ProtobufError(
        f"cannot encode field {field.json} of {message}: {json.dumps(value)[:80]} is not {expected}"
    )


def _write(out: bytearray, number: int, type_: str, value: Any, field: Field, message: str) -> None:
    if type_ == "s":
        if not isinstance(value, str):
            raise _wrong(value, field, message, "a string")
        write_length_delimited(out, number, value.encode("utf-8"))
    elif type_ == "y":
        if not isinstance(value, str):
            raise _wrong(value, field, message, "a base64 string")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _wrong(value, field, message, "valid base64") from None
        write_length_delimited(out, number, data)
    elif type_ == "b":
        if not isinstance(value, bool):
            raise _wrong(value, field, message, "a boolean")
        write_tag(out, number, VARINT)
        out.append(1 if value else 0)
    elif type_ in ("i", "u"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong(value, field, message, "an integer")
        write_tag(out, number, VARINT)
        write_varint(out, value)
    elif type_ in ("d", "f"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _wrong(value, field, message, "a number")
        write_tag(out, number, FIXED64 if type_ == "d" else FIXED32)
        out += struct.pack("<d" if type_ == "d" else "<f", value)
    elif type_[0] == "[":
        if not isinstance(value, list):
            raise _wrong(value, field, message, "an array")
        wrapper = bytearray()
        for item in value:
            _write(wrapper, 1, type_[1:], item, field, message)
        write_length_delimited(out, number, wrapper)
    elif type_ in SPECIAL:
        write_length_delimited(out, number, _encode_special(type_, value, field, message))
    else:
        write_length_delimited(out, number, encode_message(value, type_) if isinstance(value, dict) else _not_object(value, field, message))


def _not_object(value: Any, field: Field, message: str) -> bytes:
    raise _wrong(value, field, message, "an object")


def _encode_special(type_: str, value: Any, field: Field, message: str) -> bytes:
    out = bytearray()
    if type_ == QUANTITY:
        write_length_delimited(out, 1, quantity_text(value).encode("utf-8"))
    elif type_ in (TIME, MICRO_TIME):
        seconds, nanos = parse_time(value)
        if type_ == TIME:
            nanos = 0
        write_tag(out, 1, VARINT)
        write_varint(out, seconds)
        write_tag(out, 2, VARINT)
        write_varint(out, nanos - nanos % 1000)
    elif type_ == DURATION:
        write_tag(out, 1, VARINT)
        write_varint(out, parse_duration(value))
    elif type_ == INT_OR_STRING:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _wrong(value, field, message, "an integer or a string")
        write_tag(out, 1, VARINT)
        write_varint(out, 1 if isinstance(value, str) else 0)
        write_tag(out, 2, VARINT)
        write_varint(out, value if isinstance(value, int) else 0)
        write_length_delimited(out, 3, value.encode("utf-8") if isinstance(value, str) else b"")
    else:  # RawExtension, FieldsV1
        raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        write_length_delimited(out, 1, raw)
    return bytes(out)
