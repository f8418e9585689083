"""A de-duplicating, delaying, rate-limited work queue for controllers (client-go semantics).

State: ``_queue`` (FIFO of items ready to hand out), ``_dirty`` (items that need
processing), ``_processing`` (items handed out by ``get`` and not yet ``done``), and
``_waiting`` (item -> earliest ready time, for ``add_after``).

Invariants:
- An item is in ``_queue`` at most once, and only if it is in ``_dirty`` and not in
  ``_processing``: the same key is never processed by two workers at once.
- ``add`` of an item already dirty is a no-op (de-duplication); ``add`` of an item being
  processed marks it dirty, and ``done`` puts it back in the queue, so a change that arrives
  during processing is processed again afterwards.
- ``add_after`` keeps only the earliest ready time of an item; waiting items become ready in
  ``get`` (no background task), so the queue needs no nursery.
- After ``shutdown`` new adds are ignored; ``get`` still hands out what is queued, then
  raises ``ShutDown``.

``run_workers`` runs ``n`` workers calling ``sync(item)``: success ``forget``s the item's
backoff, an exception requeues it with ``add_rate_limited`` (and is logged); ``done`` always.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import trio

from .ratelimit import RateLimiter, default_controller_rate_limiter

__all__ = ["RateLimitingQueue", "ShutDown", "run_workers"]

log = logging.getLogger("k3trio.client.workqueue")

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down and is empty."""


class RateLimitingQueue(Generic[T]):
    """The work queue. ``name`` is used in logs only."""

    def __init__(self, name: str = "", *, rate_limiter: RateLimiter | None = None) -> None:
        self.name = name
        self.rate_limiter = rate_limiter or default_controller_rate_limiter()
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, float] = {}
        self._heap: list[tuple[float, int, T]] = []
        self._seq = 0
        self._shutting_down = False
        self._changed = trio.Event()

    def __len__(self) -> int:
        """Items ready to be handed out now (not counting waiting or processing ones)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._notify()

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed (now if ``delay <= 0``)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready = trio.current_time() + delay
        current = self._waiting.get(item)
        if current is not None and current <= ready:
            return
        self._waiting[item] = ready
        self._seq += 1
        heapq.heappush(self._heap, (ready, self._seq, item))
        self._notify()

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the rate limiter's delay for it (backoff grows per failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset the item's backoff (call after it was processed successfully)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    def _promote(self, now: float) -> float:
        """Move due waiting items to the queue; return the next ready time (inf if none)."""
        while self._heap:
            ready, _, item = self._heap[0]
            if self._waiting.get(item) != ready:
                heapq.heappop(self._heap)  # superseded by an earlier add_after
                continue
            if ready > now:
                return ready
            heapq.heappop(self._heap)
            del self._waiting[item]
            self.add(item)
        return math.inf

    async def get(self) -> T:
        """Wait for an item and mark it as processing. Call ``done(item)`` afterwards.

        Raises:
            ShutDown: the queue is shut down and nothing is left to hand out.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            next_ready = self._promote(trio.current_time())
            if self._queue:
                item = self._queue.popleft()
                self._processing.add(item)
                self._dirty.discard(item)
                # Once taken, the item must reach the caller (or it would stay "processing"
                # forever): yield without a cancellation point.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return item
            if self._shutting_down:
                raise ShutDown(self.name)
            changed = self._changed
            with trio.move_on_at(next_ready):
                await changed.wait()

    def done(self, item: T) -> None:
        """Processing of ``item`` finished; requeue it if it was added meanwhile."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._notify()

    def shutdown(self) -> None:
        """Stop accepting items and wake every waiting ``get``."""
        self._shutting_down = True
        self._waiting.clear()
        self._heap.clear()
        self._notify()

    async def wait_idle(self) -> None:
        """Wait until nothing is queued, waiting or processing (tests, drains)."""
        while self._queue or self._processing or self._waiting:
            changed = self._changed
            with trio.move_on_after(0.05):
                await changed.wait()


async def run_workers(
    queue: RateLimitingQueue[T],
    workers: int,
    sync: Callable[[T], Awaitable[None]],
    *,
    max_retries: int | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``workers`` tasks processing ``queue`` with ``sync`` until it is shut down.

    A failing ``sync`` is logged and the item requeued with rate limiting; after
    ``max_retries`` failures (when set) the item is dropped and its backoff forgotten.
    Cancellation propagates; the queue is shut down on the way out.
    """

    async def worker() -> None:
        while True:
            try:
                item = await queue.get()
            except ShutDown:
                return
            try:
                await sync(item)
            except Exception:
                retries = queue.num_requeues(item)
                if max_retries is not None and retries >= max_retries:
                    log.exception("%s: dropping %r after %d retries", queue.name, item, retries)
                    queue.forget(item)
                else:
                    log.exception("%s: error syncing %r; requeuing", queue.name, item)
                    queue.add_rate_limited(item)
            else:
                queue.forget(item)
            finally:
                queue.done(item)

    try:
        async with trio.open_nursery() as nursery:
            for _ in range(workers):
                nursery.start_soon(worker)
            task_status.started()
    finally:
        queue.shutdown()
