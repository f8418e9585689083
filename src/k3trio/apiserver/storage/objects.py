"""Stored objects: the bytes in the store and the decoded, shared form served from memory.

Invariants:
- The store holds compact JSON without ``metadata.resourceVersion``; the version is the
  key's ``mod_revision``, added on read as a decimal string.
- A :class:`StoredObject` is immutable by convention: ``obj`` is shared by the watch cache,
  every reader and every watcher, so callers copy (``mutable()``) before changing anything.
- Encoded JSON is computed at most once per served ``apiVersion`` and kept with the object,
  so a GET or a LIST of unchanged objects never re-serializes them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["StoredObject", "decode", "encode_for_store", "dumps"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes (the wire and storage form)."""
    return _ENCODER.encode(obj).encode()


class StoredObject:
    """One object as of one revision."""

    __slots__ = ("key", "obj", "rv", "_encoded", "_labels", "_fields")

    def __init__(self, key: str, obj: dict[str, Any], rv: int) -> None:
        self.key = key
        self.obj = obj
        self.rv = rv
        self._encoded: dict[str, bytes] = {}
        self._fields: dict[str, str] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.obj.get("metadata") or {}
        return meta

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    def fields(self, extract: Any) -> dict[str, str]:
        """The selectable field set, computed once (``extract(obj) -> dict``)."""
        if self._fields is None:
            self._fields = extract(self.obj)
        return self._fields

    def mutable(self) -> dict[str, Any]:
        """A deep copy safe to change."""
        return copy.deepcopy(self.obj)

    def view(self, api_version: str) -> dict[str, Any]:
        """The object as served at ``api_version`` (shared when no change is needed)."""
        if self.obj.get("apiVersion") == api_version:
            return self.obj
        from ..conversion import convert

        return convert(self.obj, api_version)

    def encoded(self, api_version: str) -> bytes:
        """JSON bytes of the object served at ``api_version`` (cached)."""
        data = self._encoded.get(api_version)
        if data is None:
            data = dumps(self.view(api_version))
            self._encoded[api_version] = data
        return data

    def with_rv(self, rv: int) -> StoredObject:
        """The same object stamped with another resourceVersion (deletion events)."""
        obj = dict(self.obj)
        meta = dict(obj.get("metadata") or {})
        meta["resourceVersion"] = str(rv)
        obj["metadata"] = meta
        return StoredObject(self.key, obj, rv)


def decode(key: str, value: bytes, rv: int) -> StoredObject:
    """A stored value as a :class:`StoredObject` with ``metadata.resourceVersion`` set."""
    obj = json.loads(value)
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    meta["resourceVersion"] = str(rv)
    return StoredObject(key, obj, rv)


def encode_for_store(obj: dict[str, Any]) -> bytes:
    """Storage bytes: the object without ``metadata.resourceVersion``."""
    meta = obj.get("metadata")
    if meta and "resourceVersion" in meta:
        obj = dict(obj)
        meta = dict(meta)
        del meta["resourceVersion"]
        obj["metadata"] = meta
    return dumps(obj)
