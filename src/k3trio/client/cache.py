"""The informer cache: objects by key with secondary indexes, and listers over it. Pure.

Keys are ``namespace/name`` for namespaced objects and ``name`` for cluster-scoped ones
(client-go's ``MetaNamespaceKeyFunc``). An index function maps an object to the index values
it is filed under (``index_by_namespace``, ``index_by_owner_uid``, ``index_by_node_name``,
or any custom function).

Invariants:
- For every index, a key is filed under exactly the values its current object's index
  function returns; ``upsert``/``delete``/``replace`` keep ``_indices`` and ``_items`` in
  step, and empty value buckets are removed.
- ``replace`` (a relist) returns the difference as ``Delta`` values: objects that appeared,
  objects whose resourceVersion changed, and objects that vanished, the latter wrapped in
  ``DeletedFinalStateUnknown`` (the real delete was missed while not watching).
- Objects are shared with event handlers and listers: treat them as read-only and copy
  (``copy.deepcopy``) before changing one.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ..api import labels

__all__ = [
    "NAMESPACE_INDEX",
    "NODE_NAME_INDEX",
    "OWNER_UID_INDEX",
    "Delta",
    "DeletedFinalStateUnknown",
    "IndexFunc",
    "Indexer",
    "Lister",
    "index_by_namespace",
    "index_by_node_name",
    "index_by_owner_uid",
    "object_key",
    "split_key",
]

Obj = dict[str, Any]
ObjList = builtins.list[Obj]
StrList = builtins.list[str]
IndexFunc = Callable[[Obj], Iterable[str]]

NAMESPACE_INDEX = "namespace"
OWNER_UID_INDEX = "ownerUID"
NODE_NAME_INDEX = "spec.nodeName"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    meta = _meta(obj)
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a key (namespace "" for cluster-scoped)."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def resource_version(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("resourceVersion") or "")


def index_by_namespace(obj: Obj) -> list[str]:
    ns = _meta(obj).get("namespace")
    return [str(ns)] if ns else []


def index_by_owner_uid(obj: Obj) -> list[str]:
    refs = _meta(obj).get("ownerReferences") or []
    return [str(r["uid"]) for r in refs if isinstance(r, Mapping) and r.get("uid")]


def index_by_node_name(obj: Obj) -> list[str]:
    spec = obj.get("spec")
    node = spec.get("nodeName") if isinstance(spec, Mapping) else None
    return [str(node)] if node else []


@attrs.frozen(slots=True)
class DeletedFinalStateUnknown:
    """A deletion noticed on relist: ``obj`` is the last state the cache had."""

    key: str
    obj: Obj


@attrs.frozen(slots=True)
class Delta:
    """One change: ``type`` is ``added``, ``updated`` or ``deleted``.

    ``old`` is set for updates and deletes, ``new`` for adds and updates; a delete found by
    a relist has a ``DeletedFinalStateUnknown`` as ``old``.
    """

    type: str
    key: str
    old: Obj | DeletedFinalStateUnknown | None
    new: Obj | None


class Indexer:
    """Objects by key with named secondary indexes."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: index_by_namespace}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        if indexers:
            self.add_indexers(indexers)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add index functions (an existing name must map to the same function)."""
        for name, fn in indexers.items():
            if name in self._indexers:
                if self._indexers[name] is not fn:
                    raise ValueError(f"indexer {name!r} already exists with another function")
                continue
            self._indexers[name] = fn
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._file(name, key, fn(obj))

    def _file(self, index: str, key: str, values: Iterable[str]) -> None:
        buckets = self._indices[index]
        for value in values:
            buckets.setdefault(value, set()).add(key)

    def _unfile(self, index: str, key: str, values: Iterable[str]) -> None:
        buckets = self._indices[index]
        for value in values:
            bucket = buckets.get(value)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del buckets[value]

    def upsert(self, obj: Obj) -> Obj | None:
        """Store ``obj`` under its key; return the object it replaced, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        for name, fn in self._indexers.items():
            if old is not None:
                self._unfile(name, key, fn(old))
            self._file(name, key, fn(obj))
        self._items[key] = obj
        return old

    def delete(self, key: str) -> Obj | None:
        """Remove the object with ``key``; return it (None if absent)."""
        old = self._items.pop(key, None)
        if old is not None:
            for name, fn in self._indexers.items():
                self._unfile(name, key, fn(old))
        return old

    def replace(self, objs: Iterable[Obj]) -> builtins.list[Delta]:
        """Make the cache hold exactly ``objs``; return what changed."""
        incoming = {object_key(o): o for o in objs}
        deltas: builtins.list[Delta] = []
        for key in [k for k in self._items if k not in incoming]:
            old = self.delete(key)
            assert old is not None
            deltas.append(Delta("deleted", key, DeletedFinalStateUnknown(key, old), None))
        for key, obj in incoming.items():
            old = self.upsert(obj)
            if old is None:
                deltas.append(Delta("added", key, None, obj))
            elif resource_version(old) != resource_version(obj) or not resource_version(obj):
                deltas.append(Delta("updated", key, old, obj))
        return deltas

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def keys(self) -> StrList:
        return list(self._items)

    def list(self) -> ObjList:
        return list(self._items.values())

    def index_keys(self, index: str, value: str) -> StrList:
        """Keys filed under ``value`` in ``index``.

        Raises:
            KeyError: no such index.
        """
        if index not in self._indices:
            raise KeyError(f"index {index!r} does not exist")
        return sorted(self._indices[index].get(value, ()))

    def by_index(self, index: str, value: str) -> ObjList:
        return [self._items[k] for k in self.index_keys(index, value)]

    def index_values(self, index: str) -> StrList:
        return sorted(self._indices[index])


class Lister:
    """Read access to an informer's cache, by namespace and label selector."""

    def __init__(self, indexer: Indexer) -> None:
        self._indexer = indexer

    def get(self, name: str, namespace: str | None = None) -> Obj | None:
        """The cached object, or None."""
        return self._indexer.get(f"{namespace}/{name}" if namespace else name)

    def list(
        self,
        namespace: str | None = None,
        selector: str | Mapping[str, str] | labels.Selector | None = None,
    ) -> ObjList:
        """Cached objects, optionally of one namespace and matching a label selector.

        Raises:
            k3trio.api.labels.SelectorError: an unparsable selector string.
        """
        objs = (
            self._indexer.by_index(NAMESPACE_INDEX, namespace)
            if namespace
            else self._indexer.list()
        )
        if selector is None:
            return objs
        if isinstance(selector, str):
            sel = labels.parse(selector)
        elif isinstance(selector, labels.Selector):
            sel = selector
        else:
            sel = labels.selector_from_set(selector)
        return [o for o in objs if sel.matches(_meta(o).get("labels") or {})]

    def by_index(self, index: str, value: str) -> ObjList:
        return self._indexer.by_index(index, value)
