"""Shared informers: list + watch into a cache, with event handlers, for every component.

One ``SharedInformer`` per (resource, namespace, selectors) runs a reflector loop:

    list (all pages) -> replace cache -> dispatch deltas -> synced
      └─ watch from the list's resourceVersion, resuming from the last event/bookmark
         ├─ stream ends (server timeout)      -> watch again from the last resourceVersion
         ├─ 410 Expired/Gone (compaction)     -> relist; vanished objects are delivered to
         │                                       on_delete as DeletedFinalStateUnknown
         └─ other errors (connection, 5xx...) -> back off (0.8 s doubling to 30 s, jittered),
                                                  then watch again (or relist if never listed)

Handlers are plain (non-async) callables run inline by the loop, so they must be quick and
never block: the intended body is ``queue.add(key)``. An exception in a handler is logged and
does not stop the informer. Handlers added after the cache synced first receive an
``on_add`` for every cached object.

The source of lists and watches is the small ``ListWatch`` protocol, so tests drive the
informer from a fake source and production uses ``ResourceListWatch`` over the ``Client``.
``SharedInformerFactory`` hands out one informer per key (asking twice returns the same
informer and cache) and runs them all under one nursery.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import attrs
import trio

from .api import Client
from .cache import (
    Delta,
    DeletedFinalStateUnknown,
    IndexFunc,
    Indexer,
    Lister,
    object_key,
    resource_version,
)
from .errors import ClientError, Gone
from .resource import ResourceLike, as_resource
from .watchstream import ADDED, BOOKMARK, DELETED, MODIFIED, WatchEvent

__all__ = [
    "EventHandler",
    "drop_managed_fields",
    "ListWatch",
    "ResourceListWatch",
    "SharedInformer",
    "SharedInformerFactory",
]

log = logging.getLogger("k3trio.client.informer")

Obj = dict[str, Any]
AddFn = Callable[[Obj], None]
UpdateFn = Callable[[Obj, Obj], None]
DeleteFn = Callable[[Obj | DeletedFinalStateUnknown], None]

BACKOFF_INITIAL = 0.8
BACKOFF_CAP = 30.0
MIN_WATCH_TIMEOUT = 300


class ListWatch(Protocol):
    """Where an informer gets its data."""

    async def list(self) -> tuple[list[Obj], str]:
        """Every object and the list's resourceVersion."""
        ...

    def watch(
        self, resource_version: str, timeout_seconds: int
    ) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]:
        """A watch from ``resource_version``; ERROR events raise typed errors."""
        ...


@attrs.frozen(slots=True)
class ResourceListWatch:
    """``ListWatch`` over the API with a ``Client``."""

    client: Client
    resource: ResourceLike
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    page_size: int = 500
    #: List and watch ``PartialObjectMetadata`` only (as upstream's metadata informers).
    metadata_only: bool = False

    async def list(self) -> tuple[list[Obj], str]:
        return await self.client.list_all(
            self.resource, namespace=self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, limit=self.page_size,
            metadata_only=self.metadata_only,
        )

    def watch(
        self, resource_version: str, timeout_seconds: int
    ) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]:
        return self.client.watch(
            self.resource, namespace=self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, resource_version=resource_version,
            timeout_seconds=timeout_seconds, allow_bookmarks=True,
            metadata_only=self.metadata_only,
        )


@attrs.frozen(slots=True, eq=False)
class EventHandler:
    """Callbacks of one subscriber; any may be None."""

    on_add: AddFn | None = None
    on_update: UpdateFn | None = None
    on_delete: DeleteFn | None = None


class SharedInformer:
    """A cache of one resource kept current by list + watch, with event handlers."""

    def __init__(
        self,
        source: ListWatch,
        *,
        name: str = "",
        indexers: Mapping[str, IndexFunc] | None = None,
        resync_period: float = 0.0,
        transform: Callable[[Obj], Obj] | None = None,
    ) -> None:
        self.name = name
        self._source = source
        #: Applied to every object before it is stored (e.g. ``drop_managed_fields``).
        self._transform = transform
        self.indexer = Indexer(indexers)
        self.lister = Lister(self.indexer)
        self._handlers: list[EventHandler] = []
        self._synced = trio.Event()
        self._resync_period = resync_period
        self.last_sync_resource_version = ""
        self.relists = 0

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        """Wait until the first list has been loaded into the cache."""
        await self._synced.wait()

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.indexer.add_indexers(indexers)

    def add_event_handler(
        self,
        on_add: AddFn | None = None,
        on_update: UpdateFn | None = None,
        on_delete: DeleteFn | None = None,
    ) -> EventHandler:
        """Subscribe; returns the handle for ``remove_event_handler``."""
        handler = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self.has_synced and on_add is not None:
            for obj in self.indexer.list():
                self._call(on_add, obj)
        return handler

    def remove_event_handler(self, handler: EventHandler) -> None:
        self._handlers.remove(handler)

    # -- dispatch -----------------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("%s: event handler %r failed", self.name, fn)

    def _dispatch(self, delta: Delta) -> None:
        for h in list(self._handlers):
            if delta.type == "added" and h.on_add and delta.new is not None:
                self._call(h.on_add, delta.new)
            elif delta.type == "updated" and h.on_update and delta.new is not None:
                assert isinstance(delta.old, dict)
                self._call(h.on_update, delta.old, delta.new)
            elif delta.type == "deleted" and h.on_delete and delta.old is not None:
                self._call(h.on_delete, delta.old)

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object if self._transform is None else self._transform(event.object)
        key = object_key(obj)
        if event.type in (ADDED, MODIFIED):
            old = self.indexer.upsert(obj)
            self._dispatch(Delta("added", key, None, obj) if old is None
                           else Delta("updated", key, old, obj))
        elif event.type == DELETED:
            self.indexer.delete(key)
            self._dispatch(Delta("deleted", key, obj, None))  # the final state

    # -- the loop -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the cache current until cancelled (returns never)."""
        task_status.started()
        async with trio.open_nursery() as nursery:
            if self._resync_period > 0:
                nursery.start_soon(self._resync_loop)
            await self._reflect()

    async def _reflect(self) -> None:
        failures = 0
        rv: str | None = None
        while True:
            if rv is None:
                try:
                    items, rv = await self._source.list()
                except ClientError as exc:
                    failures += 1
                    delay = _backoff(failures)
                    log.warning("%s: list failed (%s); retrying in %.1fs", self.name, exc, delay)
                    await trio.sleep(delay)
                    continue
                self.relists += 1
                if self._transform is not None:
                    items = [self._transform(o) for o in items]
                for delta in self.indexer.replace(items):
                    self._dispatch(delta)
                self.last_sync_resource_version = rv
                self._synced.set()
                failures = 0
            timeout = random.randint(MIN_WATCH_TIMEOUT, 2 * MIN_WATCH_TIMEOUT)
            try:
                async with self._source.watch(rv, timeout) as events:
                    async for event in events:
                        if event.type != BOOKMARK:
                            self._apply(event)
                        rv = event.resource_version or rv
                        self.last_sync_resource_version = rv
                        failures = 0
            except Gone as exc:
                log.info("%s: watch from %s expired (%s); relisting", self.name, rv, exc.message)
                rv = None
            except ClientError as exc:
                failures += 1
                delay = _backoff(failures)
                log.warning("%s: watch failed (%s); retrying in %.1fs", self.name, exc, delay)
                await trio.sleep(delay)

    async def _resync_loop(self) -> None:
        await self.wait_for_sync()
        while True:
            await trio.sleep(self._resync_period)
            for obj in self.indexer.list():
                for h in list(self._handlers):
                    if h.on_update:
                        self._call(h.on_update, obj, obj)


def drop_managed_fields(obj: Obj) -> Obj:
    """Remove ``metadata.managedFields`` (in place; the informer owns its decoded objects).

    Controllers never read them, and they are often the largest part of an object's
    metadata; an update sent without them keeps the stored ones, as upstream's
    kube-controller-manager relies on when it trims them from its informers."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def _backoff(failures: int) -> float:
    base = min(BACKOFF_CAP, BACKOFF_INITIAL * (2.0 ** min(failures - 1, 16)))
    return base * (1.0 + 0.5 * random.random()) if base < BACKOFF_CAP else base


_Key = tuple[str, str, str, str | None, str | None, str | None, bool]


class SharedInformerFactory:
    """One informer per (resource, namespace, label selector, field selector).

    Args:
        client: the client every informer lists and watches with.
        namespace: restrict every informer to one namespace (None: all namespaces).
        resync_period: seconds between resync ``on_update(obj, obj)`` calls (0: off).
    """

    def __init__(
        self, client: Client, *, namespace: str | None = None, resync_period: float = 0.0,
        transform: Callable[[Obj], Obj] | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.resync_period = resync_period
        self.transform = transform
        self._informers: dict[_Key, SharedInformer] = {}
        self._nursery: trio.Nursery | None = None

    def informer(
        self,
        resource: ResourceLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        metadata_only: bool = False,
    ) -> SharedInformer:
        """The shared informer (created on first request; started if the factory runs).

        ``metadata_only`` informers hold ``PartialObjectMetadata`` objects (kind, apiVersion
        ``meta.k8s.io/v1`` and ``metadata``) for controllers that read metadata only (the
        garbage collector). When a full informer of the same resource and selectors already
        exists it is shared instead (full objects carry the metadata too), so no object is
        held twice; create full informers first (controllers do, in their constructors)."""
        res = as_resource(resource)
        ns = namespace if namespace is not None else self.namespace
        key: _Key = (res.group, res.version, res.resource, ns, label_selector, field_selector,
                     metadata_only)
        informer = self._informers.get(key)
        if informer is None and metadata_only:
            informer = self._informers.get((*key[:-1], False))
        if informer is None:
            source = ResourceListWatch(self.client, res, ns, label_selector, field_selector,
                                       metadata_only=metadata_only)
            informer = SharedInformer(source, name=f"{res}{'@' + ns if ns else ''}"
                                                   f"{' (metadata)' if metadata_only else ''}",
                                      resync_period=self.resync_period, transform=self.transform)
            self._informers[key] = informer
            if self._nursery is not None:
                self._nursery.start_soon(informer.run)
        if indexers:
            informer.add_indexers(indexers)
        return informer

    def lister(self, resource: ResourceLike, **kwargs: Any) -> Lister:
        return self.informer(resource, **kwargs).lister

    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every informer, including ones requested later, until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                for informer in self._informers.values():
                    nursery.start_soon(informer.run)
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._nursery = None

    async def wait_for_cache_sync(self) -> None:
        """Wait until every informer requested so far has synced."""
        for informer in list(self._informers.values()):
            await informer.wait_for_sync()
