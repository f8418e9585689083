"""The store's exception tree.

    StoreError
    ├── KeyExistsError        create() of a key that exists
    ├── KeyNotFoundError      update()/delete() of a key that does not exist
    ├── ConflictError         compare-and-swap failed: the key moved on (carries the current value)
    ├── CompactedError        a read or watch asked for a revision older than the compaction
    ├── FutureRevisionError   a read asked for a revision newer than the store has
    ├── WatchClosedError      a watcher fell behind (or the store closed) and must re-list
    └── StoreUnavailableError the backend cannot be reached or is closed

Backend-specific errors (apsw, grpc) are translated into these at the backend boundary
with ``raise ... from exc``; the API server maps these to Kubernetes ``Status`` responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import KeyValue


class StoreError(Exception):
    """Base class of every error the store raises."""


class KeyExistsError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFoundError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class ConflictError(StoreError):
    """The expected revision did not match; ``current`` is the value now stored (or None)."""

    def __init__(self, key: str, expected: int, current: KeyValue | None) -> None:
        actual = current.mod_revision if current is not None else 0
        super().__init__(f"conflict on {key}: expected revision {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.current = current


class CompactedError(StoreError):
    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(
            f"revision {requested} has been compacted (oldest available: {compact_revision})"
        )
        self.requested = requested
        self.compact_revision = compact_revision


class FutureRevisionError(StoreError):
    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is in the future (current: {current})")
        self.requested = requested
        self.current = current


class WatchClosedError(StoreError):
    """The watch ended before its consumer did: it fell behind, or the store shut down."""


class StoreUnavailableError(StoreError):
    pass
