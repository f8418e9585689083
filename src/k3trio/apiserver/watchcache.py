"""The watch cache: one in-memory mirror per resource, fed by a store watch, fanning out events.

Each :class:`WatchCache` lists its key prefix, then watches it from the list revision
(re-listing after ``CompactedError``/``WatchClosedError``). It keeps:

- ``objects``: the current objects by key (shared :class:`StoredObject` instances);
- ``history``: a ring buffer of the most recent events, so watchers can resume from a
  resourceVersion without touching the store;
- the set of live :class:`CacheWatcher` objects.

Invariants:
- Events are applied in store revision order; ``revision`` is the newest revision applied
  (or the list revision), and every event in ``history`` has a revision above
  ``oldest``, the earliest revision a watch can resume from.
- Registering a watcher and computing its replay happen in one synchronous step (no
  checkpoint), so a watcher sees every event after its start exactly once.
- Fan-out never blocks: each watcher has a bounded channel; when it is full the watcher is
  closed (the client re-watches from its last resourceVersion), so one slow client neither
  slows the others nor grows memory.
- A watcher with a selector sees an object entering the selector as ADDED and leaving it as
  DELETED (with the new state), as upstream's cacheWatcher does.
"""

from __future__ import annotations

import bisect
import collections
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import trio

from ..api.errors import Gone
from ..store import Backend, CompactedError, Event, EventType, WatchClosedError
from .storage.objects import StoredObject, decode

__all__ = ["WatchCache", "CacheWatcher", "WatchEvent", "Filter", "too_old"]

log = logging.getLogger("k3trio.apiserver.watchcache")

Filter = Callable[[StoredObject], bool]

#: Events kept for watch resumption.
DEFAULT_CAPACITY = 8192
#: Events a watcher may have queued before it is closed as too slow.
WATCHER_BUFFER = 2048
LIST_PAGE = 2000


class WatchEvent:
    """One change as watchers see it: ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK``."""

    __slots__ = ("type", "obj", "prev", "rv", "_lines")

    def __init__(self, type: str, obj: StoredObject, prev: StoredObject | None, rv: int) -> None:
        self.type = type
        self.obj = obj
        self.prev = prev
        self.rv = rv
        self._lines: dict[str, bytes] | None = None

    def json_line(self, api_version: str) -> bytes:
        """The watch stream line of this event at ``api_version`` (built once, shared by watchers)."""
        lines = self._lines
        if lines is None:
            lines = self._lines = {}
        line = lines.get(api_version)
        if line is None:
            line = b'{"type":"' + self.type.encode() + b'","object":' + self.obj.encoded(api_version) + b"}\n"
            lines[api_version] = line
        return line

    def __repr__(self) -> str:
        return f"WatchEvent({self.type}, {self.obj.key}, rv={self.rv})"


def too_old(requested: int, oldest: int) -> Gone:
    return Gone(f"too old resource version: {requested} ({oldest})")


def _project(event: WatchEvent, match: Filter | None) -> WatchEvent | None:
    """The event a watcher with ``match`` sees, or None."""
    if match is None:
        return event
    if event.type == "ADDED":
        return event if match(event.obj) else None
    if event.type == "DELETED":
        return event if match(event.obj) else None
    cur = match(event.obj)
    prev = event.prev is not None and match(event.prev)
    if cur and prev:
        return event
    if cur:
        return WatchEvent("ADDED", event.obj, None, event.rv)
    if prev:
        return WatchEvent("DELETED", event.obj, event.prev, event.rv)
    return None


class CacheWatcher:
    """One client watch on a cache; iterate ``receive`` for events (ends when closed)."""

    def __init__(self, cache: WatchCache, match: Filter | None, namespace_prefix: str, min_rv: int, buffer: int) -> None:
        self.cache = cache
        self.match = match
        self.prefix = namespace_prefix
        self.min_rv = min_rv
        self.send, self.receive = trio.open_memory_channel[WatchEvent](buffer)
        self.closed = False
        self.overflowed = False

    def _offer(self, event: WatchEvent) -> bool:
        """Queue an event; False when the watcher had to be closed."""
        if event.rv <= self.min_rv or not event.obj.key.startswith(self.prefix):
            return True
        projected = _project(event, self.match)
        if projected is None:
            return True
        try:
            self.send.send_nowait(projected)
        except trio.WouldBlock:
            self.overflowed = True
            self.close()
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self.close()
            return False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.send.close()
            self.cache._watchers.discard(self)

    def __enter__(self) -> CacheWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self.receive.close()


class WatchCache:
    """The cache of one key prefix (one resource)."""

    def __init__(
        self, store: Backend, prefix: str, *, capacity: int = DEFAULT_CAPACITY, watcher_buffer: int = WATCHER_BUFFER
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.capacity = capacity
        self.watcher_buffer = watcher_buffer
        self.objects: dict[str, StoredObject] = {}
        self.history: collections.deque[WatchEvent] = collections.deque(maxlen=capacity)
        self.revision = 0
        self.list_revision = 0
        #: Changes whenever any object changes (for ObjectSource users' own caches).
        self.generation = 0
        self.ready = trio.Event()
        self._watchers: set[CacheWatcher] = set()
        self._sorted_keys: list[str] | None = None
        self._changed = trio.Condition()
        #: Applied to every object decoded from the store (custom resources: schema
        #: defaults, as upstream's storage decoder applies them on read).
        self.on_decode: Callable[[dict[str, Any]], None] | None = None

    def decode(self, key: str, value: bytes, rv: int) -> StoredObject:
        """A stored value decoded as this cache serves it (``on_decode`` applied)."""
        obj = decode(key, value, rv)
        if self.on_decode is not None:
            self.on_decode(obj.obj)
        return obj

    def set_on_decode(self, hook: Callable[[dict[str, Any]], None] | None) -> None:
        """Serve objects through ``hook`` from now on; cached objects are redone at once
        (a new schema's defaults show on the next read). Watchers see no event for it."""
        self.on_decode = hook
        if hook is None:
            return
        for key, current in list(self.objects.items()):
            obj = current.mutable()
            hook(obj)
            if obj != current.obj:
                self.objects[key] = StoredObject(key, obj, current.rv)

    # -- reading -------------------------------------------------------------------------------
    def peek(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    @property
    def oldest(self) -> int:
        """The oldest resourceVersion a watch can resume from."""
        if len(self.history) == self.history.maxlen and self.history:
            return self.history[0].rv
        return self.list_revision

    def items(self, key_prefix: str = "") -> Iterator[StoredObject]:
        """Objects under ``key_prefix`` (default: all) in key order."""
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self.objects)
        keys = self._sorted_keys
        start = bisect.bisect_left(keys, key_prefix) if key_prefix else 0
        objects = self.objects
        for i in range(start, len(keys)):
            key = keys[i]
            if key_prefix and not key.startswith(key_prefix):
                break
            obj = objects.get(key)
            if obj is not None:
                yield obj

    def items_after(self, key_prefix: str, start_key: str) -> Iterator[StoredObject]:
        """Objects under ``key_prefix`` with keys >= ``start_key``, in key order."""
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self.objects)
        keys = self._sorted_keys
        i = bisect.bisect_left(keys, max(start_key, key_prefix))
        while i < len(keys) and keys[i].startswith(key_prefix):
            obj = self.objects.get(keys[i])
            if obj is not None:
                yield obj
            i += 1

    async def wait_ready(self) -> None:
        await self.ready.wait()

    # -- watching ------------------------------------------------------------------------------
    def watch(
        self,
        *,
        resource_version: int | None,
        match: Filter | None = None,
        key_prefix: str = "",
        initial_events: bool = False,
    ) -> tuple[CacheWatcher, list[WatchEvent]]:
        """Register a watcher; return it with the events to send first.

        ``resource_version`` None (or 0) starts from the current state with synthetic ADDED
        events; N resumes after revision N. ``initial_events`` forces the synthetic ADDED
        events (``sendInitialEvents``).

        Raises:
            Gone: N is older than the cache can replay.
        """
        prefix = key_prefix or self.prefix
        initial: list[WatchEvent] = []
        if not resource_version or initial_events:
            start_rv = self.revision
            for obj in self.items(prefix):
                if match is None or match(obj):
                    initial.append(WatchEvent("ADDED", obj, None, obj.rv))
            if resource_version and resource_version > start_rv:
                start_rv = resource_version
        else:
            start_rv = resource_version
            if resource_version < self.oldest:
                raise too_old(resource_version, self.oldest)
            if resource_version < self.revision:
                for event in self.history:
                    if event.rv > resource_version and event.obj.key.startswith(prefix):
                        projected = _project(event, match)
                        if projected is not None:
                            initial.append(projected)
        watcher = CacheWatcher(self, match, prefix, start_rv, self.watcher_buffer)
        self._watchers.add(watcher)
        return watcher, initial

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    # -- the feed ------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """List and watch until cancelled, re-listing when the store watch breaks."""
        started = False
        while True:
            try:
                await self._relist()
                if not started:
                    started = True
                    self.ready.set()
                    task_status.started()
                async with self.store.watch(self.prefix, revision=self.revision + 1) as stream:
                    async for batch in stream:
                        self._apply_batch(batch)
            except (CompactedError, WatchClosedError) as exc:
                log.info("watch cache %s re-listing: %s", self.prefix, exc)
                self._close_watchers()
                await trio.sleep(0)

    async def _relist(self) -> None:
        objects: dict[str, StoredObject] = {}
        start = ""
        revision = 0
        while True:
            result = await self.store.list(self.prefix, revision=revision, limit=LIST_PAGE, start=start)
            revision = result.revision
            for kv in result.kvs:
                objects[kv.key] = self.decode(kv.key, kv.value, kv.mod_revision)
            if not result.more or not result.kvs:
                break
            start = result.kvs[-1].key + "\x00"
        self.objects = objects
        self._sorted_keys = None
        self.history.clear()
        self.revision = revision
        self.list_revision = revision
        self.generation += 1

    def _apply_batch(self, batch: Sequence[Event]) -> None:
        for ev in batch:
            self._apply(ev)
        self.generation += 1

    def _apply(self, ev: Event) -> None:
        key = ev.kv.key
        rv = ev.kv.mod_revision
        prev = self.objects.get(key)
        if ev.type is EventType.DELETE:
            if prev is None:
                value = ev.prev_kv.value if ev.prev_kv is not None else ev.kv.value
                prev = self.decode(key, value, rv)
            obj = prev.with_rv(rv)
            del_prev = prev
            self.objects.pop(key, None)
            self._sorted_keys = None
            event = WatchEvent("DELETED", obj, del_prev, rv)
        else:
            obj = self.decode(key, ev.kv.value, rv)
            if prev is None:
                self._sorted_keys = None
            self.objects[key] = obj
            event = WatchEvent("MODIFIED" if prev is not None else "ADDED", obj, prev, rv)
        self.revision = rv
        self.history.append(event)
        for watcher in list(self._watchers):
            watcher._offer(event)

    def _close_watchers(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()


class CacheSet:
    """Every resource's cache by storage prefix, plus ``ObjectSource`` for plug-ins."""

    def __init__(self, resolve: Callable[[str], WatchCache | None]) -> None:
        self._resolve = resolve

    def _cache(self, resource: str) -> WatchCache | None:
        return self._resolve(resource)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        cache = self._cache(resource)
        if cache is None:
            return None
        key = f"{cache.prefix}{namespace}/{name}" if namespace else f"{cache.prefix}{name}"
        obj = cache.peek(key)
        return None if obj is None else obj.obj

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        cache = self._cache(resource)
        if cache is None:
            return []
        prefix = f"{cache.prefix}{namespace}/" if namespace else cache.prefix
        return [o.obj for o in cache.items(prefix)]

    def generation(self, resource: str) -> int:
        cache = self._cache(resource)
        return 0 if cache is None else cache.generation
