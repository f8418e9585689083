"""The SQLite backend: group commit on a worker thread, reads on the Trio thread.

Writes: each caller queues its ops and waits. One committer task takes everything
queued (up to ``max_batch`` ops), runs it as one transaction in a worker thread
(:meth:`.sqlite_db.Writer.apply`: compare-and-swap per op, one fsync per batch), then,
back on the Trio thread and shielded from cancellation, advances ``current_revision``,
publishes the batch's events to the watch hub and wakes each caller with its own result
or typed error. While one batch commits the next one gathers, so throughput grows with
the number of concurrent writers.

Reads run directly on the Trio thread on a separate WAL read connection (microseconds);
each one sees the database at a single revision, which it returns. Readers may see a
batch a moment before its events are published; watches drop such duplicates (see
:mod:`.watch`).

Compaction and the committer share the write connection under ``_write_lock``;
compaction deletes history in revision windows so writers are never stalled for long.
"""

from __future__ import annotations

import builtins
import collections
import pathlib

import trio

from .base import prefix_end
from .core import BackendBase, StoreOptions
from .errors import StoreError, StoreUnavailableError
from .ops import Op
from .sqlite_db import Reader, Writer, open_db
from .types import Event, KeyValue, ListResult

#: Log revisions examined per compaction transaction.
COMPACT_WINDOW = 5000


class _Pending:
    __slots__ = ("ops", "done", "taken", "results", "error")

    def __init__(self, ops: list[Op]) -> None:
        self.ops = ops
        self.done = trio.Event()
        self.taken = False
        self.results: list[KeyValue | StoreError] = []
        self.error: StoreError | None = None


class SQLiteBackend(BackendBase):
    def __init__(self, path: pathlib.Path, options: StoreOptions | None = None) -> None:
        super().__init__(options)
        self.path = pathlib.Path(path)
        self._writer: Writer | None = None
        self._reader: Reader | None = None
        self._rev = 0
        self._compacted = 0
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wake = trio.Event()
        self._write_lock = trio.Lock()
        self._compact_lock = trio.Lock()

    @property
    def current_revision(self) -> int:
        return self._rev

    @property
    def compact_revision(self) -> int:
        return self._compacted

    @property
    def reader(self) -> Reader:
        if self._reader is None or not self._serving:
            raise StoreUnavailableError("store is not running")
        return self._reader

    # --- lifecycle ----------------------------------------------------------------------

    async def _open(self) -> None:
        writer, self._reader = await trio.to_thread.run_sync(open_db, self.path)
        self._writer = writer
        self._rev = writer.revision
        self._compacted = writer.compact_revision

    async def _start(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._commit_loop)

    def _fail_pending(self) -> None:
        while self._queue:
            pending = self._queue.popleft()
            pending.error = StoreUnavailableError("store closed")
            pending.done.set()

    def _close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._reader = self._writer = None

    # --- writes -------------------------------------------------------------------------

    async def submit(self, ops: list[Op]) -> list[KeyValue | StoreError]:
        self._check_serving()
        pending = _Pending(ops)
        self._queue.append(pending)
        self._wake.set()
        try:
            await pending.done.wait()
        except BaseException:
            if not pending.taken:
                self._queue.remove(pending)
            raise
        if pending.error is not None:
            raise pending.error
        return pending.results

    async def _commit_loop(self) -> None:
        max_batch = self.options.max_batch
        while True:
            while not self._queue:
                self._wake = trio.Event()
                await self._wake.wait()
            batch: list[_Pending] = []
            ops: list[Op] = []
            while self._queue and (not ops or len(ops) + len(self._queue[0].ops) <= max_batch):
                pending = self._queue.popleft()
                pending.taken = True
                batch.append(pending)
                ops.extend(pending.ops)
            with trio.CancelScope(shield=True):
                await self._commit(batch, ops)

    async def _commit(self, batch: list[_Pending], ops: list[Op]) -> None:
        writer = self._writer
        assert writer is not None
        now = self.options.wall_clock()
        events: list[Event] = []
        try:
            async with self._write_lock:
                results, events = await trio.to_thread.run_sync(writer.apply, ops, now)
        except StoreError as exc:
            for pending in batch:
                pending.error = exc
                pending.done.set()
            return
        except BaseException as exc:
            # A bug, not a database error: fail the callers, then crash the committer.
            for pending in batch:
                pending.error = StoreUnavailableError(f"commit failed: {exc!r}")
                pending.done.set()
            raise
        self._rev = writer.revision
        self.hub.publish(events)
        i = 0
        for pending in batch:
            n = len(pending.ops)
            pending.results = results[i : i + n]
            i += n
            pending.done.set()
        self._note_ttl(ops)

    # --- reads --------------------------------------------------------------------------

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        await trio.lowlevel.checkpoint_if_cancelled()
        return self.reader.get(key, revision, self._check_revision, self._rev)

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = ""
    ) -> ListResult:
        await trio.lowlevel.checkpoint_if_cancelled()
        at, kvs, remaining = self.reader.page(
            max(prefix, start), prefix_end(prefix), revision, limit, self._check_revision
        )
        return ListResult(kvs, at, more=remaining > 0, remaining=remaining)

    async def count(self, prefix: str) -> tuple[int, int]:
        await trio.lowlevel.checkpoint_if_cancelled()
        return self.reader.count(prefix, prefix_end(prefix))

    def read_head(self) -> int:
        return self.reader.head()

    def read_history(
        self, prefix: str, start: int, end: int, limit: int
    ) -> builtins.list[Event]:
        return self.reader.history(prefix, prefix_end(prefix), start, end, limit)

    def expired(self, now: float, limit: int) -> builtins.list[tuple[str, int]]:
        return self.reader.expired(now, limit)

    def next_expiry(self) -> float | None:
        return self.reader.next_expiry()

    # --- compaction ---------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        self._check_serving()
        async with self._compact_lock:
            self._check_compact(revision, self._rev)
            writer = self._writer
            assert writer is not None
            async with self._write_lock:
                await trio.to_thread.run_sync(writer.set_compact_revision, revision)
                self._compacted = revision
                lo = await trio.to_thread.run_sync(writer.oldest_revision)
            while lo < revision:
                hi = min(lo + COMPACT_WINDOW, revision)
                async with self._write_lock:
                    await trio.to_thread.run_sync(writer.compact_window, lo, hi, revision)
                lo = hi
