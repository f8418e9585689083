"""Leader election decisions and the run loop, on an in-memory lease store with MockClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing

from k3trio.client.errors import AlreadyExists, Conflict, ConnectionFailed
from k3trio.client.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
    format_micro_time,
    next_record,
    parse_micro_time,
    run_when_leader,
)

T0 = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


class MemoryLock:
    """One lease with a resourceVersion counter; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.record: LeaderElectionRecord | None = None
        self.rv = 0
        self.down = False
        self.writes: list[LeaderElectionRecord] = []

    def _check(self) -> None:
        if self.down:
            raise ConnectionFailed("store down")

    async def get(self) -> tuple[LeaderElectionRecord, str] | None:
        await trio.lowlevel.checkpoint()
        self._check()
        return None if self.record is None else (self.record, str(self.rv))

    async def create(self, record: LeaderElectionRecord) -> str:
        await trio.lowlevel.checkpoint()
        self._check()
        if self.record is not None:
            raise AlreadyExists(409, "AlreadyExists")
        return self._write(record)

    async def update(self, record: LeaderElectionRecord, resource_version: str) -> str:
        await trio.lowlevel.checkpoint()
        self._check()
        if resource_version != str(self.rv):
            raise Conflict(409, "Conflict")
        return self._write(record)

    def _write(self, record: LeaderElectionRecord) -> str:
        self.rv += 1
        self.record = record
        self.writes.append(record)
        return str(self.rv)

    def describe(self) -> str:
        return "kube-system/test"


def wall() -> datetime:
    return T0 + timedelta(seconds=trio.current_time())


def test_micro_time() -> None:
    assert format_micro_time(T0) == "2026-11-24T21:00:00.000000Z"
    assert parse_micro_time("2026-11-24T21:00:00.000000Z") == T0
    assert parse_micro_time("2026-11-24T22:00:00.5+01:00") == T0 + timedelta(microseconds=500000)
    assert parse_micro_time("2026-11-24T21:00:00Z") == T0
    rec = LeaderElectionRecord("a", 15, T0, T0, 3)
    assert LeaderElectionRecord.from_lease({"spec": rec.to_spec()}) == rec
    assert rec.to_spec()["renewTime"] == "2026-11-24T21:00:00.000000Z"


def test_decisions() -> None:
    kw = dict(identity="me", lease_duration=15, wall_now=T0)
    created = next_record(None, observed_at=0, now=0, **kw)  # type: ignore[arg-type]
    assert created == LeaderElectionRecord("me", 15, T0, T0, 0)
    other = LeaderElectionRecord("other", 15, T0, T0, 4)
    assert next_record(other, observed_at=100, now=114.9, **kw) is None  # type: ignore[arg-type]
    taken = next_record(other, observed_at=100, now=115, **kw)  # type: ignore[arg-type]
    assert taken is not None and (taken.holder_identity, taken.lease_transitions) == ("me", 5)
    later = T0 + timedelta(seconds=5)
    mine = LeaderElectionRecord("me", 15, T0, T0, 2)
    renewed = next_record(mine, identity="me", lease_duration=15, observed_at=0, now=0,
                          wall_now=later)
    assert renewed == LeaderElectionRecord("me", 15, T0, later, 2)
    released = LeaderElectionRecord("", 1, T0, T0, 2)
    got = next_record(released, observed_at=0, now=0, **kw)  # type: ignore[arg-type]
    assert got is not None and got.lease_transitions == 3


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig(lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElectionConfig(renew_deadline=2, retry_period=2)


async def test_expiry_uses_local_observation_time(autojump_clock: trio.testing.MockClock) -> None:
    lock = MemoryLock()
    # A foreign record whose renewTime is far in the past by our wall clock: still not
    # taken over until we have watched it stay unchanged for the lease duration.
    lock.record = LeaderElectionRecord("other", 15, T0 - timedelta(days=1),
                                       T0 - timedelta(days=1), 0)
    e = LeaderElector(lock, "me", wall_clock=wall)
    assert not await e.try_acquire_or_renew()
    assert e.leader == "other"
    await trio.sleep(14)
    assert not await e.try_acquire_or_renew()
    await trio.sleep(1)
    assert await e.try_acquire_or_renew()
    assert e.is_leader() and lock.record.lease_transitions == 1


async def test_two_candidates_one_leader(autojump_clock: trio.testing.MockClock) -> None:
    lock = MemoryLock()
    leading: list[str] = []
    log: list[tuple[float, str, str]] = []

    async def work_of(name: str) -> None:
        leading.append(name)
        assert len(leading) == 1, leading
        log.append((trio.current_time(), name, "start"))
        try:
            await trio.sleep_forever()
        finally:
            leading.remove(name)
            log.append((trio.current_time(), name, "stop"))

    async with trio.open_nursery() as nursery:
        scopes = {}
        for name in ("a", "b"):
            scope = trio.CancelScope()
            scopes[name] = scope

            async def candidate(name: str = name, scope: trio.CancelScope = scope) -> None:
                with scope:
                    await run_when_leader(lock, name, lambda: work_of(name), wall_clock=wall)

            nursery.start_soon(candidate)
        await trio.sleep(60)
        assert len(leading) == 1
        first = leading[0]
        second = "b" if first == "a" else "a"
        # Renewals happen every retry period.
        assert lock.record is not None and lock.record.holder_identity == first
        # The leader is stopped (cancelled): it releases, the other takes over quickly.
        stopped_at = trio.current_time()
        scopes[first].cancel()
        await trio.sleep(5)
        assert leading == [second]
        took_over = next(t for t, n, what in log if n == second and what == "start")
        assert took_over - stopped_at <= 2.4 + 0.01
        assert lock.record.holder_identity == second and lock.record.lease_transitions == 1
        nursery.cancel_scope.cancel()


async def test_lost_lease_cancels_work(autojump_clock: trio.testing.MockClock) -> None:
    lock = MemoryLock()
    events: list[tuple[str, float]] = []

    async def work() -> None:
        try:
            await trio.sleep_forever()
        finally:
            events.append(("work-cancelled", trio.current_time()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: run_when_leader(
            lock, "me", work, wall_clock=wall, reacquire=False,
            on_stopped_leading=lambda: events.append(("stopped", trio.current_time()))))
        await trio.sleep(7)
        lock.down = True  # renewals fail from now on
        down_at = trio.current_time()
        await trio.sleep(30)
    cancelled_at = events[0][1]
    assert events[0][0] == "work-cancelled" and events[1][0] == "stopped"
    # Lost no later than the renew deadline after the last successful renewal.
    assert cancelled_at - down_at <= 10 + 2


async def test_taken_over_lease_is_lost(autojump_clock: trio.testing.MockClock) -> None:
    lock = MemoryLock()
    stopped = trio.Event()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: run_when_leader(
            lock, "me", trio.sleep_forever, wall_clock=wall, reacquire=False,
            on_stopped_leading=stopped.set))
        await trio.sleep(3)
        assert lock.record is not None
        lock.record = LeaderElectionRecord("thief", 15, wall(), wall(), 9)
        lock.rv += 1
        with trio.fail_after(2.5):
            await stopped.wait()
        assert lock.record.holder_identity == "thief"  # we did not release someone else's


async def test_work_returning_releases(autojump_clock: trio.testing.MockClock) -> None:
    lock = MemoryLock()
    await run_when_leader(lock, "me", lambda: trio.sleep(5), wall_clock=wall)
    assert lock.record is not None
    assert (lock.record.holder_identity, lock.record.lease_duration_seconds) == ("", 1)
