"""The in-memory backend: the same etcd semantics as SQLite, nothing on disk.

Used by tests and by anything that wants a throw-away store. State:

- ``_log``: every event since the last compaction, in revision order (watch replay);
- ``_versions[key]``: the key's (revision, record or None for a deletion) history, oldest
  first; ``_keys`` is the sorted list of keys that have a history (range reads);
- ``_live``: each present key's latest record (latest reads);
- ``_expiry`` and ``_heap``: TTL deadlines; heap entries that no longer match ``_expiry``
  are stale and skipped.

Each write batch is applied synchronously on the Trio thread, so it is atomic and its
events are published before any other task runs.
"""

from __future__ import annotations

import builtins
import heapq
from bisect import bisect_left, bisect_right, insort

import trio

from .base import prefix_end
from .core import BackendBase, StoreOptions
from .errors import StoreError
from .ops import Op, decide, expiry
from .types import Event, EventType, KeyValue, ListResult


def _rev_of(event: Event) -> int:
    return event.kv.mod_revision


class MemoryBackend(BackendBase):
    def __init__(self, options: StoreOptions | None = None) -> None:
        super().__init__(options)
        self._rev = 0
        self._compacted = 0
        self._log: list[Event] = []
        self._versions: dict[str, list[tuple[int, KeyValue | None]]] = {}
        self._keys: list[str] = []
        self._live: dict[str, KeyValue] = {}
        self._expiry: dict[str, tuple[float, int]] = {}
        self._heap: list[tuple[float, str, int]] = []

    @property
    def current_revision(self) -> int:
        return self._rev

    @property
    def compact_revision(self) -> int:
        return self._compacted

    # --- writes -------------------------------------------------------------------------

    async def submit(self, ops: list[Op]) -> list[KeyValue | StoreError]:
        await trio.lowlevel.checkpoint()
        self._check_serving()
        now = self.options.wall_clock()
        results: list[KeyValue | StoreError] = []
        events: list[Event] = []
        for op in ops:
            try:
                event = decide(op, self._live.get(op.key), self._rev + 1)
            except StoreError as exc:
                results.append(exc)
                continue
            self._rev += 1
            self._record(event, expiry(op, now))
            results.append(event.kv)
            events.append(event)
        self.hub.publish(events)
        self._note_ttl(ops)
        return results

    def _record(self, event: Event, expires: float | None) -> None:
        kv = event.kv
        versions = self._versions.get(kv.key)
        if versions is None:
            versions = self._versions[kv.key] = []
            insort(self._keys, kv.key)
        self._log.append(event)
        self._expiry.pop(kv.key, None)
        if event.type is EventType.DELETE:
            versions.append((kv.mod_revision, None))
            del self._live[kv.key]
            return
        versions.append((kv.mod_revision, kv))
        self._live[kv.key] = kv
        if expires is not None:
            self._expiry[kv.key] = (expires, kv.mod_revision)
            heapq.heappush(self._heap, (expires, kv.key, kv.mod_revision))

    # --- reads --------------------------------------------------------------------------

    def _at(self, key: str, revision: int) -> KeyValue | None:
        if not revision:
            return self._live.get(key)
        versions = self._versions.get(key, [])
        i = bisect_right(versions, revision, key=lambda v: v[0])
        return versions[i - 1][1] if i else None

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_serving()
        if revision:
            self._check_revision(revision, self._rev)
        return self._rev, self._at(key, revision)

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = ""
    ) -> ListResult:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_serving()
        if revision:
            self._check_revision(revision, self._rev)
        lo = bisect_left(self._keys, max(prefix, start))
        hi = bisect_left(self._keys, prefix_end(prefix))
        kvs: list[KeyValue] = []
        extra = 0
        for key in self._keys[lo:hi]:
            kv = self._at(key, revision)
            if kv is None:
                continue
            if limit and len(kvs) >= limit:
                extra += 1
            else:
                kvs.append(kv)
        return ListResult(kvs, revision or self._rev, more=extra > 0, remaining=extra)

    async def count(self, prefix: str) -> tuple[int, int]:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_serving()
        lo = bisect_left(self._keys, prefix)
        hi = bisect_left(self._keys, prefix_end(prefix))
        return self._rev, sum(1 for key in self._keys[lo:hi] if key in self._live)

    def read_head(self) -> int:
        return self._rev

    def read_history(
        self, prefix: str, start: int, end: int, limit: int
    ) -> builtins.list[Event]:
        out: builtins.list[Event] = []
        for i in range(bisect_left(self._log, start, key=_rev_of), len(self._log)):
            event = self._log[i]
            if event.kv.mod_revision > end:
                break
            if event.kv.key.startswith(prefix):
                out.append(event)
                if len(out) >= limit:
                    break
        return out

    # --- compaction and expiry ----------------------------------------------------------

    async def compact(self, revision: int) -> None:
        await trio.lowlevel.checkpoint()
        self._check_serving()
        self._check_compact(revision, self._rev)
        self._compacted = revision
        del self._log[: bisect_left(self._log, revision, key=_rev_of)]
        for key in list(self._versions):
            versions = self._versions[key]
            keep = bisect_right(versions, revision, key=lambda v: v[0]) - 1
            if keep < 0:
                continue
            rev, kv = versions[keep]
            if kv is None and rev < revision:
                keep += 1
            del versions[:keep]
            if not versions:
                del self._versions[key]
        self._keys = [key for key in self._keys if key in self._versions]

    def expired(self, now: float, limit: int) -> builtins.list[tuple[str, int]]:
        due: builtins.list[tuple[float, str, int]] = []
        while self._heap and self._heap[0][0] <= now and len(due) < limit:
            at, key, rev = heapq.heappop(self._heap)
            if self._expiry.get(key) == (at, rev):
                due.append((at, key, rev))
        for entry in due:
            heapq.heappush(self._heap, entry)
        return [(key, rev) for _, key, rev in due]

    def next_expiry(self) -> float | None:
        while self._heap:
            at, key, rev = self._heap[0]
            if self._expiry.get(key) == (at, rev):
                return at
            heapq.heappop(self._heap)
        return None
