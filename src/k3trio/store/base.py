"""The one store interface every backend implements (SQLite now, etcd later).

etcd semantics over an append-only revision log, as kine gives K3s:

- ``create`` fails with ``KeyExistsError`` when the key exists;
- ``update`` and ``delete`` are compare-and-swap on the key's ``mod_revision`` (0 means
  unconditional), failing with ``ConflictError`` (carrying the current value) or
  ``KeyNotFoundError``;
- ``get``/``list``/``count`` read at the latest revision or at an older one that has not
  been compacted (``CompactedError``) and not ahead of the store (``FutureRevisionError``);
- ``watch`` streams every change under a prefix from a start revision (inclusive), in
  revision order, with no gaps, pushed as soon as the transaction commits; a watcher that
  falls behind is closed with ``WatchClosedError`` and must re-list;
- ``compact`` forgets history older than a revision, keeping each key's latest state;
- keys written with ``ttl`` are deleted (a normal DELETE event) once it runs out.

Keys are ``str`` paths such as ``/registry/pods/default/web-0``; values are opaque bytes.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from .types import Event, KeyValue, ListResult


def prefix_end(prefix: str) -> str:
    """The smallest key greater than every key starting with ``prefix``."""
    if not prefix:
        return "\U0010ffff"
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@runtime_checkable
class Backend(Protocol):
    """A revisioned key/value store with etcd semantics."""

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        """Create ``key``; return the stored record. Raises KeyExistsError."""
        ...

    async def update(
        self, key: str, value: bytes, *, revision: int = 0, ttl: int = 0
    ) -> KeyValue:
        """Replace ``key`` if its mod_revision equals ``revision`` (0: any).

        Raises KeyNotFoundError, ConflictError.
        """
        ...

    async def delete(self, key: str, *, revision: int = 0) -> KeyValue:
        """Delete ``key`` if its mod_revision equals ``revision`` (0: any).

        Returns the deleted record with ``mod_revision`` = the deletion's revision.
        Raises KeyNotFoundError, ConflictError.
        """
        ...

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        """Return (store revision, record or None) at ``revision`` (0: latest)."""
        ...

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = ""
    ) -> ListResult:
        """Keys under ``prefix`` in key order, at ``revision`` (0: latest).

        ``start`` (inclusive) resumes a paged read; ``limit`` 0 means no limit.
        """
        ...

    async def count(self, prefix: str) -> tuple[int, int]:
        """Return (current revision, number of live keys under ``prefix``)."""
        ...

    def watch(
        self, prefix: str, *, revision: int = 0
    ) -> AbstractAsyncContextManager[AsyncIterator[builtins.list[Event]]]:
        """Watch changes under ``prefix`` starting at ``revision`` (inclusive; 0: from now).

        Yields lists of events, one list per committed transaction batch, in revision
        order. Raises CompactedError on entry when ``revision`` is compacted, and
        WatchClosedError from iteration when the watcher fell behind.
        """
        ...

    async def compact(self, revision: int) -> None:
        """Forget history before ``revision`` (reads at ``revision`` itself still work).

        Raises CompactedError (not newer than the last compaction), FutureRevisionError.
        """
        ...

    @property
    def current_revision(self) -> int:
        """The newest committed revision."""
        ...

    @property
    def compact_revision(self) -> int:
        """The compaction point: reads and watches may ask for it or a later revision."""
        ...
