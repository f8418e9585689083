"""The revisioned key/value store (etcd semantics over an append-only log)."""

from .base import Backend, prefix_end
from .errors import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    StoreError,
    StoreUnavailableError,
    WatchClosedError,
)
from .types import Event, EventType, KeyValue, ListResult

__all__ = [
    "Backend",
    "CompactedError",
    "ConflictError",
    "Event",
    "EventType",
    "FutureRevisionError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "ListResult",
    "StoreError",
    "StoreUnavailableError",
    "WatchClosedError",
    "prefix_end",
]
