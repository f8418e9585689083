"""The Kubernetes protobuf field table: message -> field number -> JSON field, and kind -> message.

The table (``k3trio/api/data/proto_fields.json.gz``, written by ``build/gen-proto-fields.py``
from the protobuf struct tags of the v1.37 API types) is loaded lazily on first use and shared.

Field types are short codes: ``s`` string, ``b`` bool, ``i`` signed varint, ``u`` unsigned
varint, ``d`` double, ``f`` float, ``y`` bytes (base64 in JSON), ``[X`` a wrapper message
``{repeated X items = 1}`` that is a plain JSON array, or a full message name. A handful of
message names have their own encodings (``SPECIAL``): they carry no table entry.

Invariants:
- ``fields(name)`` maps numbers to :class:`Field` and ``ordered(name)`` lists them by number;
  both raise ProtobufError for a message the table does not hold.
- ``message_for_kind`` resolves an ``apiVersion``/``kind`` pair through the swagger-derived
  index, then the meta.k8s.io option/status kinds that every group version carries.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any, NamedTuple

from .wire import ProtobufError

__all__ = [
    "Field",
    "F_REPEATED",
    "F_POINTER",
    "F_OMITEMPTY",
    "F_INLINE",
    "F_OMITZERO",
    "F_MAP",
    "QUANTITY",
    "TIME",
    "MICRO_TIME",
    "DURATION",
    "INT_OR_STRING",
    "RAW_EXTENSION",
    "FIELDS_V1",
    "SPECIAL",
    "fields",
    "ordered",
    "message_for_kind",
    "known_messages",
]

F_REPEATED, F_POINTER, F_OMITEMPTY, F_INLINE, F_OMITZERO, F_MAP = 1, 2, 4, 8, 16, 32

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
TIME = _META + "Time"
MICRO_TIME = _META + "MicroTime"
DURATION = _META + "Duration"
FIELDS_V1 = _META + "FieldsV1"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"
SPECIAL = frozenset({QUANTITY, TIME, MICRO_TIME, DURATION, FIELDS_V1, INT_OR_STRING, RAW_EXTENSION})

# kinds of meta.k8s.io/v1 that are registered in every group version
_META_KINDS = frozenset({
    "Status", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "ListOptions",
    "GetOptions", "WatchEvent", "APIGroup", "APIGroupList", "APIResourceList", "APIVersions",
    "PartialObjectMetadata", "PartialObjectMetadataList", "List",
})  # fmt: skip
# API group -> directory of its Go package under k8s.io/api, where it is not the first label
_GROUP_DIRS = {"": "core", "internal.apiserver.k8s.io": "apiserverinternal"}


class Field(NamedTuple):
    number: int
    json: str
    type: str
    flags: int
    key: str = ""
    value: str = ""

    @property
    def repeated(self) -> bool:
        return bool(self.flags & F_REPEATED)

    @property
    def pointer(self) -> bool:
        return bool(self.flags & F_POINTER)

    @property
    def inline(self) -> bool:
        return bool(self.flags & F_INLINE)

    @property
    def is_map(self) -> bool:
        return bool(self.flags & F_MAP)


@functools.cache
def _table() -> dict[str, Any]:
    data = resources.files("k3trio.api").joinpath("data", "proto_fields.json.gz").read_bytes()
    table: dict[str, Any] = json.loads(gzip.decompress(data))
    return table


@functools.cache
def ordered(message: str) -> tuple[Field, ...]:
    """The fields of ``message`` in field-number order. Raises ProtobufError."""
    records = _table()["messages"].get(message)
    if records is None:
        raise ProtobufError(f"no protobuf schema for message {message}")
    return tuple(Field(*record) for record in records)


@functools.cache
def fields(message: str) -> dict[int, Field]:
    """Field number -> Field for ``message``. Raises ProtobufError."""
    return {field.number: field for field in ordered(message)}


def known_messages() -> frozenset[str]:
    return frozenset(_table()["messages"]) | SPECIAL


@functools.cache
def message_for_kind(api_version: str, kind: str) -> str:
    """The message name of ``kind`` in ``api_version``. Raises ProtobufError for an unknown kind."""
    table = _table()
    found = table["kinds"].get(f"{api_version}/{kind}")
    if found is not None:
        return str(found)
    messages = table["messages"]
    if kind in _META_KINDS and _META + kind in messages:
        return _META + kind
    group, _, version = api_version.rpartition("/")
    directory = _GROUP_DIRS.get(group, group.split(".", 1)[0])
    guess = f"k8s.io.api.{directory}.{version}.{kind}"
    if version and kind and guess in messages:
        return guess
    raise ProtobufError(
        f'no kind "{kind}" is registered for the protobuf encoding of version "{api_version}"'
    )
