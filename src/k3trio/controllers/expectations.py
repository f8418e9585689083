"""Expectations: the creates and deletes a controller has issued but not yet observed. Pure.

A controller that creates 3 pods must not create 3 more on its next sync just because its
informer has not delivered them yet. Before issuing writes it records ``expect(key, adds,
deletes)``; the informer handlers lower the counts as the objects appear (``creation_observed``)
or vanish (``deletion_observed``); ``satisfied(key)`` tells the sync whether its cache is
trustworthy enough to compute a new diff.

Rules (as upstream ``controller_utils.go``):

- no record for a key: satisfied (nothing in flight, or the controller restarted);
- both counts ``<= 0``: satisfied (everything was observed);
- the record is older than ``EXPECTATIONS_TTL`` (5 minutes): satisfied (an event was lost;
  resync rather than stall forever);
- a failed create/delete must be ``lowered`` by the caller, since no event will come.

``UIDTrackingExpectations`` also remembers *which* pods are being deleted, so a delete seen
twice (update with deletionTimestamp, then the delete) lowers the count once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import trio

__all__ = ["EXPECTATIONS_TTL", "Expectations", "UIDTrackingExpectations"]

EXPECTATIONS_TTL = 300.0

Clock = Callable[[], float]


@attrs.define
class _Record:
    adds: int
    deletes: int
    timestamp: float

    def fulfilled(self) -> bool:
        return self.adds <= 0 and self.deletes <= 0


class Expectations:
    """Pending creates/deletes per controller key.

    Args:
        clock: seconds, monotonic (``trio.current_time`` by default, so MockClock drives it).
    """

    def __init__(self, *, clock: Clock = trio.current_time, ttl: float = EXPECTATIONS_TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._records: dict[str, _Record] = {}

    def expect(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """Replace the expectations of ``key`` (a new batch of writes is about to start)."""
        self._records[key] = _Record(adds, deletes, self._clock())

    def expect_creations(self, key: str, adds: int) -> None:
        self.expect(key, adds, 0)

    def expect_deletions(self, key: str, deletes: int) -> None:
        self.expect(key, 0, deletes)

    def lower(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """Count ``adds`` creations and ``deletes`` deletions as observed (or abandoned)."""
        rec = self._records.get(key)
        if rec is not None:
            rec.adds -= adds
            rec.deletes -= deletes

    def raise_(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """Add to the expectations of ``key`` (creating the record when missing)."""
        rec = self._records.get(key)
        if rec is None:
            self.expect(key, adds, deletes)
        else:
            rec.adds += adds
            rec.deletes += deletes

    def creation_observed(self, key: str) -> None:
        self.lower(key, adds=1)

    def deletion_observed(self, key: str) -> None:
        self.lower(key, deletes=1)

    def satisfied(self, key: str) -> bool:
        """Whether a sync of ``key`` may compute a fresh diff (see module docstring)."""
        rec = self._records.get(key)
        if rec is None or rec.fulfilled():
            return True
        return self._clock() - rec.timestamp > self._ttl

    def pending(self, key: str) -> tuple[int, int] | None:
        """``(adds, deletes)`` still expected for ``key``, or None without a record."""
        rec = self._records.get(key)
        return None if rec is None else (rec.adds, rec.deletes)

    def delete(self, key: str) -> None:
        """Forget ``key`` (its owner was deleted)."""
        self._records.pop(key, None)


class UIDTrackingExpectations(Expectations):
    """``Expectations`` that also track the keys of pods whose deletion is expected."""

    def __init__(self, *, clock: Clock = trio.current_time, ttl: float = EXPECTATIONS_TTL) -> None:
        super().__init__(clock=clock, ttl=ttl)
        self._uids: dict[str, set[str]] = {}

    def expect_deletions_of(self, key: str, deleted_keys: Iterable[str]) -> None:
        """Expect the deletion of exactly these pods (by pod key)."""
        keys = set(deleted_keys)
        self._uids[key] = keys
        self.expect_deletions(key, len(keys))

    def deletion_observed_of(self, key: str, deleted_key: str) -> None:
        """The pod ``deleted_key`` was seen going away; lower the count once per pod."""
        keys = self._uids.get(key)
        if keys is not None and deleted_key in keys:
            keys.discard(deleted_key)
            self.deletion_observed(key)

    def deleting(self, key: str) -> frozenset[str]:
        return frozenset(self._uids.get(key, ()))

    def delete(self, key: str) -> None:
        super().delete(key)
        self._uids.pop(key, None)
