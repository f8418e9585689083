"""Work queue semantics: de-duplication, no concurrent processing of a key, delays, backoff."""

from __future__ import annotations

import functools

import pytest
import trio
import trio.testing

from k3trio.client.ratelimit import (
    BucketLimiter,
    ItemExponentialLimiter,
    MaxOfLimiter,
    TokenBucket,
    default_controller_rate_limiter,
)
from k3trio.client.workqueue import RateLimitingQueue, ShutDown, run_workers


async def test_dedup_and_fifo() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue("t")
    for key in ["a", "b", "a", "c", "b"]:
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_readd_while_processing_is_processed_after_done() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    q.add("a")
    item = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0  # not handed out again while processing
    with trio.move_on_after(1) as scope:
        await q.get()
    assert scope.cancelled_caught
    q.done(item)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_never_processed_concurrently(autojump_clock: trio.testing.MockClock) -> None:
    q: RateLimitingQueue[int] = RateLimitingQueue()
    active: set[int] = set()
    seen: list[int] = []

    async def sync(key: int) -> None:
        assert key not in active
        active.add(key)
        seen.append(key)
        await trio.sleep(1)
        q.add(key % 3)  # re-add keys while they may be processing
        active.discard(key)

    async with trio.open_nursery() as nursery:
        await nursery.start(run_workers, q, 4, sync)
        for i in range(30):
            q.add(i % 3)
            await trio.sleep(0.3)
        q.shutdown()
    assert set(seen) == {0, 1, 2}


async def test_add_after_keeps_earliest(autojump_clock: trio.testing.MockClock) -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    start = trio.current_time()
    q.add_after("x", 10)
    q.add_after("x", 3)
    q.add_after("x", 20)
    q.add_after("y", 5)
    assert await q.get() == "x"
    assert trio.current_time() - start == pytest.approx(3)
    assert await q.get() == "y"
    assert trio.current_time() - start == pytest.approx(5)
    q.done("x")
    q.done("y")
    with trio.move_on_after(100) as scope:
        await q.get()
    assert scope.cancelled_caught  # the superseded 10 s / 20 s entries did not come back


async def test_shutdown_drains_then_raises() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    q.add("a")
    q.shutdown()
    q.add("b")  # ignored
    assert await q.get() == "a"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_wakes_waiters() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    async with trio.open_nursery() as nursery:
        async def getter() -> None:
            with pytest.raises(ShutDown):
                await q.get()
        nursery.start_soon(getter)
        await trio.testing.wait_all_tasks_blocked()
        q.shutdown()


async def test_run_workers_retries_with_backoff(autojump_clock: trio.testing.MockClock) -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    times: list[float] = []

    async def sync(key: str) -> None:
        times.append(trio.current_time())
        if len(times) < 5:
            raise RuntimeError("not yet")
        q.shutdown()

    start = trio.current_time()
    q.add("k")
    await run_workers(q, 2, sync)
    gaps = [b - a for a, b in zip([start, *times], times)]
    assert gaps[1:] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert q.num_requeues("k") == 0  # forgotten after success


async def test_run_workers_max_retries(autojump_clock: trio.testing.MockClock) -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    calls = 0

    async def sync(key: str) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("always")

    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(run_workers, max_retries=3), q, 1, sync)
        q.add("k")
        await trio.sleep(100)
        q.shutdown()
    assert calls == 4


def test_item_exponential() -> None:
    lim = ItemExponentialLimiter(0.005, 1000)
    delays = [lim.when("a") for _ in range(20)]
    assert delays[:3] == [0.005, 0.01, 0.02]
    assert delays[-1] == 1000
    assert lim.num_requeues("a") == 20
    assert lim.when("b") == 0.005
    lim.forget("a")
    assert lim.when("a") == 0.005


def test_token_bucket_reservations() -> None:
    now = [0.0]
    bucket = TokenBucket(10, 100, clock=lambda: now[0])
    assert all(bucket.reserve() == 0 for _ in range(100))
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    now[0] = 1.0
    assert bucket.tokens() == pytest.approx(8)
    one = TokenBucket(1, 1, clock=lambda: now[0])
    assert one.try_take() and not one.try_take()


def test_max_of_default_limiter() -> None:
    now = [0.0]
    lim = default_controller_rate_limiter(clock=lambda: now[0])
    assert [lim.when(i) for i in range(100)] == [0.005] * 100
    assert lim.when("extra") == pytest.approx(0.1)  # the bucket dominates
    assert lim.num_requeues(0) == 1
    lim.forget(0)
    assert lim.num_requeues(0) == 0
    with pytest.raises(ValueError):
        MaxOfLimiter()
    assert BucketLimiter(clock=lambda: 0.0).num_requeues("x") == 0


async def test_cancelled_get_does_not_lose_items() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue()
    q.add("a")
    with trio.CancelScope() as scope:
        scope.cancel()
        await q.get()
    assert len(q) == 1  # still queued, not stuck in "processing"
    assert await q.get() == "a"
