"""Plain data the store hands out: immutable key/value records and watch events.

Revisions follow etcd: one global, strictly increasing counter; every committed change
(create, update, delete) gets the next revision. ``create_revision`` is the revision at
which the key was last created, ``mod_revision`` the revision of its last change.
"""

from __future__ import annotations

import enum

import attrs


@attrs.frozen(slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    #: Seconds to live given at the last write (0: forever). The key is deleted once it expires.
    ttl: int = 0


class EventType(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@attrs.frozen(slots=True)
class Event:
    """One committed change.

    For DELETE, ``kv`` carries the deleted key with ``mod_revision`` set to the deletion's
    revision and the last value it had; ``prev_kv`` is the value before the change for
    UPDATE and DELETE, None for CREATE.
    """

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@attrs.frozen(slots=True)
class ListResult:
    """A page of a range read, consistent at ``revision``."""

    kvs: list[KeyValue]
    revision: int
    #: True when ``limit`` cut the page short; continue from the key after the last one.
    more: bool = False
    #: Number of keys remaining after this page (etcd's ``count - len(kvs)``), when known.
    remaining: int = 0
