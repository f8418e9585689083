"""What every backend shares: options, the write verbs, watch, revision checks, lifecycle.

A concrete backend supplies storage: :meth:`BackendBase.submit` (apply ops atomically,
in order, publishing the committed events to ``self.hub``), the reads, ``compact``, the
history and expiry look-ups, and ``_open``/``_close``/``_start``. This class turns the
public ``create``/``update``/``delete`` into ops, owns the watch hub, and runs the
background tasks under :meth:`run`, which is how ``open_backend`` starts a backend.

Lifecycle invariant: a backend serves requests only between ``run``'s
``task_status.started()`` and its exit; afterwards every call raises
``StoreUnavailableError`` and every watcher has been closed with ``WatchClosedError``.
"""

from __future__ import annotations

import abc
import builtins
import time
from collections.abc import Callable

import attrs
import trio

from .errors import CompactedError, FutureRevisionError, StoreError, StoreUnavailableError
from .maintenance import run_compactor, run_sweeper
from .ops import Op, OpKind
from .types import Event, KeyValue, ListResult
from .watch import WatchContext, WatchHub, WatchStream


@attrs.frozen(kw_only=True)
class StoreOptions:
    """Tuning knobs accepted by ``open_backend(**options)``."""

    #: Seconds between automatic compactions (0 disables them).
    compact_interval: float = 300.0
    #: Revisions of history automatic compaction keeps.
    compact_keep: int = 1000
    #: Batches a watcher may have queued before it is closed as too slow.
    watch_buffer: int = 1000
    #: Wall clock (seconds) used for TTL expiry; tests inject trio's clock.
    wall_clock: Callable[[], float] = time.time
    #: Longest the TTL sweeper sleeps between checks.
    ttl_poll: float = 1.0
    #: Most operations one group commit takes (SQLite).
    max_batch: int = 1000


class BackendBase(abc.ABC):
    """Shared machinery of the memory and SQLite backends (see the module docstring)."""

    def __init__(self, options: StoreOptions | None = None) -> None:
        self.options = options or StoreOptions()
        self.hub = WatchHub(self.options.watch_buffer)
        self._opened = False
        self._serving = False
        self._ttl_event = trio.Event()

    # --- writes -------------------------------------------------------------------------

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        return await self._one(Op(OpKind.CREATE, key, value, 0, ttl))

    async def update(
        self, key: str, value: bytes, *, revision: int = 0, ttl: int = 0
    ) -> KeyValue:
        return await self._one(Op(OpKind.UPDATE, key, value, revision, ttl))

    async def delete(self, key: str, *, revision: int = 0) -> KeyValue:
        return await self._one(Op(OpKind.DELETE, key, b"", revision))

    async def _one(self, op: Op) -> KeyValue:
        (result,) = await self.submit([op])
        if isinstance(result, StoreError):
            raise result
        return result

    @abc.abstractmethod
    async def submit(self, ops: builtins.list[Op]) -> builtins.list[KeyValue | StoreError]:
        """Apply ``ops`` in order, atomically and durably; one result or error per op.

        Raises StoreError when the whole batch failed (nothing was applied).
        """

    # --- reads --------------------------------------------------------------------------

    @abc.abstractmethod
    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]: ...

    @abc.abstractmethod
    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = ""
    ) -> ListResult: ...

    @abc.abstractmethod
    async def count(self, prefix: str) -> tuple[int, int]: ...

    @abc.abstractmethod
    async def compact(self, revision: int) -> None: ...

    @property
    @abc.abstractmethod
    def current_revision(self) -> int: ...

    @property
    @abc.abstractmethod
    def compact_revision(self) -> int: ...

    def watch(self, prefix: str, *, revision: int = 0) -> WatchContext:
        def factory() -> WatchStream:
            self._check_serving()
            return WatchStream(self, self.hub, prefix, revision)

        return WatchContext(factory)

    def _check_serving(self) -> None:
        if not self._serving:
            raise StoreUnavailableError("store is not running")

    def _check_revision(self, revision: int, head: int) -> None:
        """Raise if a read at ``revision`` (not 0) is compacted or in the future."""
        if revision > head:
            raise FutureRevisionError(revision, head)
        if revision < self.compact_revision:
            raise CompactedError(revision, self.compact_revision)

    def _check_compact(self, revision: int, head: int) -> None:
        if revision > head:
            raise FutureRevisionError(revision, head)
        if revision <= self.compact_revision:
            raise CompactedError(revision, self.compact_revision)

    # --- history and expiry, synchronous on the Trio thread ----------------------------

    @abc.abstractmethod
    def read_head(self) -> int: ...

    @abc.abstractmethod
    def read_history(
        self, prefix: str, start: int, end: int, limit: int
    ) -> builtins.list[Event]: ...

    @abc.abstractmethod
    def expired(self, now: float, limit: int) -> builtins.list[tuple[str, int]]:
        """Up to ``limit`` (key, mod_revision) pairs whose expiry is at or before ``now``."""

    @abc.abstractmethod
    def next_expiry(self) -> float | None:
        """The earliest expiry of any live key, or None."""

    def ttl_wakeup(self) -> trio.Event:
        """A fresh event set by the next write that gives a key a TTL."""
        self._ttl_event = trio.Event()
        return self._ttl_event

    def _note_ttl(self, ops: builtins.list[Op]) -> None:
        if any(op.ttl > 0 for op in ops):
            self._ttl_event.set()

    # --- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open storage (idempotent; ``run`` calls it too). Raises StoreError."""
        if not self._opened:
            await self._open()
            self._opened = True

    async def _open(self) -> None:
        """Open storage before serving (default: nothing to do)."""

    def _close(self) -> None:
        """Release storage after serving (synchronous: runs during cancellation)."""

    async def _start(self, nursery: trio.Nursery) -> None:
        """Start backend-specific tasks (default: none)."""

    def _fail_pending(self) -> None:
        """Fail writes still queued when the backend stops (default: none)."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled: open storage, start the background tasks, then clean up."""
        await self.open()
        try:
            async with trio.open_nursery() as nursery:
                await self._start(nursery)
                opts = self.options
                if opts.compact_interval > 0:
                    nursery.start_soon(
                        run_compactor, self, opts.compact_interval, opts.compact_keep
                    )
                nursery.start_soon(run_sweeper, self, opts.wall_clock, opts.ttl_poll)
                self._serving = True
                task_status.started()
        finally:
            self._serving = self._opened = False
            self.hub.close()
            self._fail_pending()
            self._close()
