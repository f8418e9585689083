"""The revisioned key/value store (etcd semantics over an append-only log)."""

from .base import Backend, prefix_end
from .core import StoreOptions
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
from .open import open_backend
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
    "StoreOptions",
    "StoreUnavailableError",
    "WatchClosedError",
    "open_backend",
    "prefix_end",
]
