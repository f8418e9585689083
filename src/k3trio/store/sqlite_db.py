"""Synchronous SQLite access through APSW: the one module that talks to the database.

Two connections per database:

- :class:`Writer` is used only by the committer and compaction, one call at a time, from
  worker threads. :meth:`Writer.apply` runs a whole batch of ops in one ``BEGIN
  IMMEDIATE`` transaction, deciding each op's compare-and-swap against the state the
  earlier ops of the batch left, and commits once (one fsync with ``synchronous=FULL``).
- :class:`Reader` is used from the Trio thread. Every read is a single statement or runs
  inside one read transaction, so it sees the database at exactly one revision.

Every ``apsw.Error`` is translated into a store error at this boundary.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable, Iterator

import apsw

from . import sqlite_sql as sql
from .errors import StoreError, StoreUnavailableError
from .ops import Op, OpKind, decide, expiry
from .types import Event, EventType, KeyValue

_UNAVAILABLE = (
    apsw.BusyError,
    apsw.LockedError,
    apsw.IOError,
    apsw.FullError,
    apsw.CantOpenError,
    apsw.ReadOnlyError,
    apsw.ConnectionClosedError,
)

Row = tuple[object, ...]


def translate(exc: apsw.Error) -> StoreError:
    """The store error an APSW error stands for."""
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailableError(f"sqlite: {exc}")
    return StoreError(f"sqlite: {exc}")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except apsw.Error as exc:
        raise translate(exc) from exc


def _connect(path: pathlib.Path, pragmas: tuple[str, ...]) -> apsw.Connection:
    conn = apsw.Connection(str(path))
    conn.setbusytimeout(10_000)
    for pragma in pragmas:
        for _ in conn.execute(pragma):
            pass
    return conn


def open_db(path: pathlib.Path) -> tuple[Writer, Reader]:
    """Open (creating if needed) the database at ``path``.

    Raises:
        StoreError: the file cannot be opened or has a newer schema.
    """
    for parent in reversed([path.parent, *path.parent.parents]):
        if not parent.exists():
            parent.mkdir(mode=0o700)
    with translated():
        fresh = not path.exists()
        conn = _connect(path, sql.CREATE_PRAGMAS if fresh else ())
        if fresh:
            os.chmod(path, 0o600)
        for pragma in sql.PRAGMAS:
            for _ in conn.execute(pragma):
                pass
        (version,) = next(conn.execute("PRAGMA user_version"))
        if version > sql.SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{path}: schema version {version} is newer than supported")
        with conn:
            conn.execute(sql.SCHEMA)
            conn.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION}")
        reader = Reader(_connect(path, sql.READ_PRAGMAS))
        return Writer(conn), reader


def _kv(row: Row) -> KeyValue:
    key, value, create_rev, mod_rev, ttl = row[:5]
    return KeyValue(key, value, create_rev, mod_rev, ttl)  # type: ignore[arg-type]


def _event(row: Row) -> Event:
    rev, key, create_rev, prev_rev, deleted, ttl, value, old_value, old_ttl = row
    kv = KeyValue(key, value, create_rev, rev, ttl)  # type: ignore[arg-type]
    if deleted:
        prev = KeyValue(key, value, create_rev, prev_rev, old_ttl)  # type: ignore[arg-type]
        return Event(EventType.DELETE, kv, prev)
    if prev_rev == 0:
        return Event(EventType.CREATE, kv)
    prev = KeyValue(key, old_value, create_rev, prev_rev, old_ttl)  # type: ignore[arg-type]
    return Event(EventType.UPDATE, kv, prev)


class Writer:
    """The write connection (see the module docstring)."""

    def __init__(self, conn: apsw.Connection) -> None:
        self._conn = conn
        self._cursor = conn.cursor()
        with translated():
            self.revision: int = next(conn.execute(sql.HEAD))[0]
            row = list(conn.execute(sql.GET_META, ("compact_revision",)))
            self.compact_revision: int = row[0][0] if row else 0

    def apply(
        self, ops: list[Op], now: float
    ) -> tuple[list[KeyValue | StoreError], list[Event]]:
        """Run ``ops`` in one transaction; return per-op results and the committed events.

        Raises:
            StoreError: the transaction failed; nothing was applied.
        """
        ex = self._cursor.execute
        rev = self.revision
        results: list[KeyValue | StoreError] = []
        events: list[Event] = []
        with translated():
            ex("BEGIN IMMEDIATE")
            try:
                for op in ops:
                    key = op.key
                    current = None
                    for value, create_rev, mod_rev, ttl in ex(sql.CURRENT_FOR_WRITE, (key,)):
                        current = KeyValue(key, value, create_rev, mod_rev, ttl)
                    try:
                        event = decide(op, current, rev + 1)
                    except StoreError as exc:
                        results.append(exc)
                        continue
                    rev += 1
                    kv = event.kv
                    if op.kind is OpKind.DELETE:
                        assert current is not None
                        ex(sql.INSERT_LOG, (rev, key, kv.create_revision, current.mod_revision,
                                            1, kv.ttl, None, kv.value, None, current.ttl))
                        ex(sql.DELETE_CURRENT, (key,))
                    else:
                        expires = expiry(op, now)
                        if current is None:
                            ex(sql.INSERT_LOG, (rev, key, rev, 0, 0, kv.ttl, expires,
                                                kv.value, None, 0))
                        else:
                            ex(sql.INSERT_LOG, (rev, key, kv.create_revision,
                                                current.mod_revision, 0, kv.ttl, expires,
                                                kv.value, current.value, current.ttl))
                        ex(sql.UPSERT_CURRENT, (key, rev, expires))
                    results.append(kv)
                    events.append(event)
                ex("COMMIT")
            except BaseException:
                with contextlib.suppress(apsw.Error):
                    ex("ROLLBACK")
                raise
        self.revision = rev
        return results, events

    def set_compact_revision(self, revision: int) -> None:
        with translated(), self._conn:
            self._conn.execute(sql.SET_META, ("compact_revision", revision))
        self.compact_revision = revision

    def oldest_revision(self) -> int:
        with translated():
            return int(next(self._conn.execute(sql.OLDEST))[0])

    def compact_window(self, lo: int, hi: int, target: int) -> None:
        """Delete the superseded rows with ``lo <= revision < hi`` (``hi <= target``)."""
        with translated(), self._conn:
            self._conn.execute(sql.COMPACT_WINDOW, (lo, hi, target))

    def close(self) -> None:
        with contextlib.suppress(apsw.Error):
            self._conn.close()


class Reader:
    """The read connection, used synchronously from the Trio thread."""

    def __init__(self, conn: apsw.Connection) -> None:
        self._conn = conn
        self._cursor = conn.cursor()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Callable[..., apsw.Cursor]]:
        ex = self._cursor.execute
        with translated():
            ex("BEGIN")
            try:
                yield ex
            finally:
                ex("COMMIT")

    def head(self) -> int:
        with translated():
            return int(next(self._cursor.execute(sql.HEAD))[0])

    def get(
        self, key: str, revision: int, check: Callable[[int, int], None], floor: int = 0
    ) -> tuple[int, KeyValue | None]:
        """Return (a revision the answer holds at, record or None).

        ``floor`` is a revision known to be committed before the call. A present key's
        record is its state at every revision from its ``mod_revision`` to the read's
        snapshot, so ``max(floor, mod_revision)`` is exact without reading the head; an
        absent key needs the head read in the same statement.
        """
        if not revision:
            try:
                for key_, value, create_rev, mod_rev, ttl in self._cursor.execute(
                    sql.GET_CURRENT, (key,)
                ):
                    kv = KeyValue(key_, value, create_rev, mod_rev, ttl)
                    return max(floor, mod_rev), kv
                row = next(self._cursor.execute(sql.GET_LATEST, (key,)))
            except apsw.Error as exc:
                raise translate(exc) from exc
            return row[0], (_kv(row[1:]) if row[1] is not None else None)
        with self._snapshot() as ex:
            head = next(ex(sql.HEAD))[0]
            check(revision, head)
            rows = list(ex(sql.GET_AT, (key, revision)))
        return head, (_kv(rows[0]) if rows and not rows[0][5] else None)

    def page(
        self, lo: str, hi: str, revision: int, limit: int, check: Callable[[int, int], None]
    ) -> tuple[int, list[KeyValue], int]:
        """Return (read revision, page, keys remaining after the page)."""
        fetch = limit + 1 if limit else -1
        with self._snapshot() as ex:
            head = next(ex(sql.HEAD))[0]
            if revision:
                check(revision, head)
                at = revision
                kvs = [_kv(row) for row in ex(sql.LIST_AT, (lo, hi, at, fetch))]
            else:
                at = head
                kvs = [_kv(row) for row in ex(sql.LIST_LATEST, (lo, hi, fetch))]
            remaining = 0
            if limit and len(kvs) > limit:
                del kvs[limit:]
                if revision:
                    total = next(ex(sql.COUNT_AT, (lo, hi, at)))[0]
                else:
                    total = next(ex(sql.COUNT_LATEST, (lo, hi)))[0]
                remaining = total - limit
        return at, kvs, remaining

    def count(self, lo: str, hi: str) -> tuple[int, int]:
        with self._snapshot() as ex:
            head = next(ex(sql.HEAD))[0]
            total = next(ex(sql.COUNT_LATEST, (lo, hi)))[0]
        return head, total

    def history(self, lo: str, hi: str, start: int, end: int, limit: int) -> list[Event]:
        with translated():
            return [_event(row) for row in self._cursor.execute(
                sql.HISTORY, (start, end, lo, hi, limit))]

    def expired(self, now: float, limit: int) -> list[tuple[str, int]]:
        with translated():
            return [(k, r) for k, r in self._cursor.execute(sql.EXPIRED, (now, limit))]

    def next_expiry(self) -> float | None:
        with translated():
            value = next(self._cursor.execute(sql.NEXT_EXPIRY))[0]
        return None if value is None else float(value)

    def close(self) -> None:
        with contextlib.suppress(apsw.Error):
            self._conn.close()
