"""Background upkeep every backend runs: periodic compaction and the TTL sweeper.

Both are plain Trio loops over a small surface of the backend (:class:`Maintained`), so
the memory and SQLite backends expire and compact in exactly the same way.

- The compactor wakes every ``interval`` seconds and compacts to ``current - keep`` when
  that is newer than the last compaction: history stays bounded, each key's latest state
  is kept.
- The sweeper deletes keys whose expiry (wall-clock seconds, persisted with the record)
  has passed, with a compare-and-swap on the revision that set the expiry, so a key
  rewritten meanwhile is left alone. Deletions are normal DELETE events. It sleeps until
  the next expiry (at most ``poll`` seconds, so a wall clock that jumps is noticed) or
  until a write with a TTL wakes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import trio

from .errors import CompactedError, StoreError
from .ops import Op, OpKind
from .types import KeyValue

log = logging.getLogger(__name__)

#: Keys deleted per sweeper batch.
SWEEP_BATCH = 1000


class Maintained(Protocol):
    @property
    def current_revision(self) -> int: ...

    @property
    def compact_revision(self) -> int: ...

    async def compact(self, revision: int) -> None: ...

    async def submit(self, ops: list[Op]) -> list[KeyValue | StoreError]: ...

    def expired(self, now: float, limit: int) -> list[tuple[str, int]]: ...

    def next_expiry(self) -> float | None: ...

    def ttl_wakeup(self) -> trio.Event: ...


async def run_compactor(backend: Maintained, interval: float, keep: int) -> None:
    """Compact to ``current_revision - keep`` every ``interval`` seconds (forever)."""
    while True:
        await trio.sleep(interval)
        target = backend.current_revision - keep
        if target <= backend.compact_revision:
            continue
        try:
            await backend.compact(target)
        except CompactedError:
            pass
        except StoreError:
            log.exception("compaction to revision %d failed", target)


async def run_sweeper(backend: Maintained, clock: Callable[[], float], poll: float) -> None:
    """Delete expired keys as their TTL runs out (forever)."""
    while True:
        wakeup = backend.ttl_wakeup()
        now = clock()
        due = backend.expired(now, SWEEP_BATCH)
        if due:
            ops = [Op(OpKind.DELETE, key, revision=rev) for key, rev in due]
            try:
                await backend.submit(ops)
            except StoreError:
                log.exception("deleting %d expired keys failed", len(ops))
                await trio.sleep(poll)
            continue
        nxt = backend.next_expiry()
        if nxt is None:
            await wakeup.wait()
            continue
        with trio.move_on_after(min(max(nxt - now, 0.0), poll)):
            await wakeup.wait()
