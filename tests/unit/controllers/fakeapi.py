"""An in-memory stand-in for the part of ``k3trio.client.Client`` controllers use.

Objects live in a dict keyed by (resource, namespace, name); every write bumps one global
resourceVersion and is fanned out to open watches, so ``SharedInformerFactory`` runs over it
unchanged. Supported: get, list_all, watch, create (generateName, uid, creationTimestamp,
generation), update (compare-and-swap on resourceVersion; spec changes bump generation,
``status`` writes touch only status), patch (merge), delete (immediate). Every write is
appended to ``actions`` so tests can assert what a controller did.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import string
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import trio

from k3trio.api import labels
from k3trio.client.errors import AlreadyExists, Conflict, NotFound
from k3trio.client.resource import ResourceLike, as_resource
from k3trio.client.watchstream import WatchEvent

Obj = dict[str, Any]


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


class FakeClient:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.rv = itertools.count(100)
        self.watchers: list[tuple[str, str | None, trio.MemorySendChannel[WatchEvent]]] = []
        self.actions: list[tuple[str, str, str, str]] = []  # verb, resource, ns, name
        self.fail_creates = 0

    # -- helpers for tests -------------------------------------------------------------

    def all(self, resource: str, namespace: str | None = None) -> list[Obj]:
        return [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items())
                if r == resource and (namespace is None or ns == namespace)]

    def obj(self, resource: str, namespace: str, name: str) -> Obj:
        return copy.deepcopy(self.objects[(resource, namespace, name)])

    def count(self, verb: str, resource: str) -> int:
        return sum(1 for a in self.actions if a[0] == verb and a[1] == resource)

    # -- internals ---------------------------------------------------------------------

    def _notify(self, resource: str, ns: str, type_: str, obj: Obj) -> None:
        for r, wns, send in list(self.watchers):
            if r == resource and (wns is None or wns == ns):
                try:
                    send.send_nowait(WatchEvent(type_, copy.deepcopy(obj)))
                except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                    pass

    def _ns(self, res: ResourceLike, namespace: str | None, obj: Mapping[str, Any] | None) -> str:
        r = as_resource(res)
        if r.namespaced is False:
            return ""
        return namespace or str(((obj or {}).get("metadata") or {}).get("namespace") or "") \
            or ("" if r.resource in ("nodes", "namespaces") else "default")

    # -- verbs -------------------------------------------------------------------------

    async def get(self, res: ResourceLike, name: str, *, namespace: str | None = None,
                  subresource: str | None = None, **_: Any) -> Obj:
        await trio.lowlevel.checkpoint()
        r = as_resource(res).resource
        key = (r, self._ns(res, namespace, None), name)
        if key not in self.objects:
            raise NotFound(404, "NotFound", f'{r} "{name}" not found')
        return copy.deepcopy(self.objects[key])

    async def list_all(self, res: ResourceLike, *, namespace: str | None = None,
                       label_selector: str | None = None, field_selector: str | None = None,
                       limit: int = 500, metadata_only: bool = False) -> tuple[list[Obj], str]:
        await trio.lowlevel.checkpoint()
        r = as_resource(res).resource
        items = self.all(r, namespace)
        if label_selector:
            sel = labels.parse(label_selector)
            items = [o for o in items if sel.matches(o["metadata"].get("labels") or {})]
        if metadata_only:
            items = [{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                      "metadata": o["metadata"]} for o in items]
        return items, str(next(self.rv))

    @asynccontextmanager
    async def watch(self, res: ResourceLike, *, namespace: str | None = None,
                    resource_version: str | None = None, timeout_seconds: int | None = None,
                    **_: Any) -> AsyncIterator[Any]:
        send, recv = trio.open_memory_channel[WatchEvent](10000)
        entry = (as_resource(res).resource, namespace, send)
        self.watchers.append(entry)
        try:
            yield recv
        finally:
            self.watchers.remove(entry)

    async def create(self, res: ResourceLike, obj: Mapping[str, Any], *,
                     namespace: str | None = None, **_: Any) -> Obj:
        await trio.lowlevel.checkpoint()
        r = as_resource(res)
        o = copy.deepcopy(dict(obj))
        meta = o.setdefault("metadata", {})
        ns = self._ns(r, namespace, o)
        if self.fail_creates and r.resource == "pods":
            self.fail_creates -= 1
            raise Conflict(409, "Conflict", "injected failure")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        key = (r.resource, ns, meta["name"])
        if key in self.objects:
            raise AlreadyExists(409, "AlreadyExists",
                                f'{r.resource} "{meta["name"]}" already exists')
        if ns:
            meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = str(next(self.rv))
        meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.setdefault("generation", 1)
        if r.kind and "kind" not in o:
            o["kind"] = r.kind
        self.objects[key] = o
        self.actions.append(("create", r.resource, ns, meta["name"]))
        self._notify(r.resource, ns, "ADDED", o)
        return copy.deepcopy(o)

    async def update(self, res: ResourceLike, obj: Mapping[str, Any], *,
                     namespace: str | None = None, subresource: str | None = None,
                     **_: Any) -> Obj:
        await trio.lowlevel.checkpoint()
        r = as_resource(res)
        new = copy.deepcopy(dict(obj))
        meta = new["metadata"]
        ns = self._ns(r, namespace, new)
        key = (r.resource, ns, meta["name"])
        old = self.objects.get(key)
        if old is None:
            raise NotFound(404, "NotFound", f'{r.resource} "{meta["name"]}" not found')
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        if subresource == "status":
            stored = copy.deepcopy(old)
            stored["status"] = new.get("status")
        else:
            stored = new
            stored["status"] = old.get("status")
            for f in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
                if f in old["metadata"]:
                    meta[f] = old["metadata"][f]
            meta["generation"] = old["metadata"].get("generation", 1) + (
                1 if json.dumps(new.get("spec"), sort_keys=True)
                != json.dumps(old.get("spec"), sort_keys=True) else 0)
        stored["metadata"]["resourceVersion"] = str(next(self.rv))
        self.objects[key] = stored
        self.actions.append(("update" + ("/status" if subresource else ""), r.resource, ns,
                             meta["name"]))
        self._notify(r.resource, ns, "MODIFIED", stored)
        return copy.deepcopy(stored)

    async def update_status(self, res: ResourceLike, obj: Mapping[str, Any], **kw: Any) -> Obj:
        return await self.update(res, obj, subresource="status", **kw)

    async def patch(self, res: ResourceLike, name: str, patch: Any, *,
                    patch_type: str = "merge", namespace: str | None = None,
                    subresource: str | None = None, **_: Any) -> Obj:
        await trio.lowlevel.checkpoint()
        r = as_resource(res)
        ns = self._ns(r, namespace, None)
        key = (r.resource, ns, name)
        old = self.objects.get(key)
        if old is None:
            raise NotFound(404, "NotFound", f'{r.resource} "{name}" not found')
        if isinstance(patch, bytes):
            patch = json.loads(patch)
        new = _merge(old, patch)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        return await self.update(res, new, namespace=ns, subresource=subresource)

    async def delete(self, res: ResourceLike, name: str, *, namespace: str | None = None,
                     **_: Any) -> Obj:
        await trio.lowlevel.checkpoint()
        r = as_resource(res)
        ns = self._ns(r, namespace, None)
        old = self.objects.pop((r.resource, ns, name), None)
        if old is None:
            raise NotFound(404, "NotFound", f'{r.resource} "{name}" not found')
        old["metadata"]["resourceVersion"] = str(next(self.rv))
        self.actions.append(("delete", r.resource, ns, name))
        self._notify(r.resource, ns, "DELETED", old)
        return old

    # -- direct manipulation (the "kubelet" of unit tests) ------------------------------

    def put(self, resource: str, obj: Obj) -> Obj:
        """Store or replace ``obj`` as is (no checks) and notify watchers."""
        o = copy.deepcopy(obj)
        meta = o["metadata"]
        ns = meta.get("namespace", "")
        key = (resource, ns, meta["name"])
        existed = key in self.objects
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        meta["resourceVersion"] = str(next(self.rv))
        self.objects[key] = o
        self._notify(resource, ns, "MODIFIED" if existed else "ADDED", o)
        return copy.deepcopy(o)
