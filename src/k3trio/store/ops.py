"""Write operations and the etcd rules that decide them (pure: no I/O, no clock).

Every backend turns ``create``/``update``/``delete`` into an :class:`Op`, looks up the
key's current record, and asks :func:`decide` what the op does at the next revision.
``decide`` either returns the :class:`~.types.Event` to append to the log or raises the
typed error the caller gets back; a failed op consumes no revision.

Invariants:

- CREATE succeeds only on an absent key; its ``create_revision == mod_revision``.
- UPDATE and DELETE need a present key, and when ``op.revision`` is not 0 the key's
  ``mod_revision`` must equal it (compare-and-swap).
- UPDATE keeps ``create_revision``; DELETE's ``kv`` is the last record with
  ``mod_revision`` moved to the deletion's revision; ``prev_kv`` is the record replaced.
"""

from __future__ import annotations

import enum

import attrs

from .errors import ConflictError, KeyExistsError, KeyNotFoundError
from .types import Event, EventType, KeyValue


class OpKind(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@attrs.frozen(slots=True)
class Op:
    """One requested change. ``revision`` is the expected mod_revision (0: any)."""

    kind: OpKind
    key: str
    value: bytes = b""
    revision: int = 0
    ttl: int = 0


def decide(op: Op, current: KeyValue | None, revision: int) -> Event:
    """Return the event ``op`` produces at ``revision`` given the key's ``current`` record.

    Raises:
        KeyExistsError: CREATE of a present key.
        KeyNotFoundError: UPDATE/DELETE of an absent key.
        ConflictError: UPDATE/DELETE whose expected revision does not match.
    """
    if op.kind is OpKind.CREATE:
        if current is not None:
            raise KeyExistsError(op.key)
        kv = KeyValue(op.key, op.value, revision, revision, op.ttl)
        return Event(EventType.CREATE, kv)
    if current is None:
        raise KeyNotFoundError(op.key)
    if op.revision and op.revision != current.mod_revision:
        raise ConflictError(op.key, op.revision, current)
    if op.kind is OpKind.UPDATE:
        kv = KeyValue(op.key, op.value, current.create_revision, revision, op.ttl)
        return Event(EventType.UPDATE, kv, current)
    kv = KeyValue(op.key, current.value, current.create_revision, revision, current.ttl)
    return Event(EventType.DELETE, kv, current)


def expiry(op: Op, now: float) -> float | None:
    """The wall-clock time at which the record ``op`` writes expires (None: never)."""
    if op.kind is OpKind.DELETE or op.ttl <= 0:
        return None
    return now + op.ttl
