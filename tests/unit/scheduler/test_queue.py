"""Scheduling queue: ordering, backoff, unschedulable pods, cluster events, flushes."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as hs
from scheduler_objects import make_pod

from k3trio.scheduler.queue import SchedulingQueue


async def test_pops_by_priority_then_age(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    q.add(make_pod("old-low", priority=1))
    await trio.sleep(1)
    q.add(make_pod("high", priority=100))
    q.add(make_pod("new-low", priority=1))
    q.add(make_pod("none"))
    got = [(await q.pop()).key for _ in range(4)]
    assert got == ["default/high", "default/old-low", "default/new-low", "default/none"]


async def test_pop_waits_for_a_pod(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    popped = []

    async def popper() -> None:
        popped.append((await q.pop()).key)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(popper)
        await trio.testing.wait_all_tasks_blocked()
        assert popped == []
        q.add(make_pod("p"))
    assert popped == ["default/p"]
    with pytest.raises(trio.WouldBlock):
        q.pop_nowait()
    q.close()
    with pytest.raises(trio.EndOfChannel):
        await q.pop()


async def test_backoff_doubles_to_ten_seconds(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    q.add(make_pod("p"))
    waits = []
    async with trio.open_nursery() as nursery:
        await nursery.start(q.run)
        qpi = await q.pop()
        for _ in range(6):
            failed_at = trio.current_time()
            q.add_unschedulable(qpi, error=True)
            assert q.where(qpi.key) == "backoff"
            qpi = await q.pop()
            waits.append(round(trio.current_time() - failed_at))
        nursery.cancel_scope.cancel()
    assert waits == [1, 2, 4, 8, 10, 10]
    assert qpi.attempts == 7


async def test_unschedulable_pod_moves_on_interesting_event_only(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    q.add(make_pod("p"))
    qpi = await q.pop()
    q.add_unschedulable(qpi, ["NodeAffinity"])
    assert q.where(qpi.key) == "unschedulable"
    assert q.move_all_to_active_or_backoff("PodDelete") == 0
    assert q.where(qpi.key) == "unschedulable"
    assert q.move_all_to_active_or_backoff("NodeUpdate") == 1
    assert q.where(qpi.key) == "backoff"  # still within its 1 s backoff
    await trio.sleep(1.5)
    q.flush_backoff_completed()
    assert q.where(qpi.key) == "active"


async def test_event_while_in_flight_sends_pod_to_backoff(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    q.add(make_pod("p"))
    qpi = await q.pop()
    q.move_all_to_active_or_backoff("NodeAdd")
    q.add_unschedulable(qpi, ["NodeResourcesFit"])
    assert q.where(qpi.key) == "backoff"
    q.add(make_pod("q"))
    qpi2 = await q.pop()
    q.add_unschedulable(qpi2, ["NodeResourcesFit"])
    assert q.where(qpi2.key) == "unschedulable"


async def test_unschedulable_pods_flushed_after_five_minutes(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    q.add(make_pod("p"))
    async with trio.open_nursery() as nursery:
        await nursery.start(q.run)
        qpi = await q.pop()
        q.add_unschedulable(qpi, ["TaintToleration"])
        await trio.sleep(299)
        assert q.where(qpi.key) == "unschedulable"
        again = await q.pop()  # returns after the 5-minute flush (+ at most one 30 s tick)
        assert again.key == qpi.key and again.attempts == 2
        assert 300 <= trio.current_time() <= 335
        nursery.cancel_scope.cancel()


async def test_update_and_delete(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    pod = make_pod("p")
    q.add(pod)
    qpi = await q.pop()
    q.add_unschedulable(qpi, ["NodeAffinity"])
    status_only = make_pod("p")
    status_only["status"]["conditions"] = [{"type": "PodScheduled", "status": "False"}]
    q.update(status_only)
    assert q.where(qpi.key) == "unschedulable"
    changed = make_pod("p", tolerations=[{"operator": "Exists"}])
    q.update(changed)
    assert q.where(qpi.key) == "backoff"
    q.delete(changed)
    assert q.where(qpi.key) is None and q.statistics().backoff == 0


async def test_nominator(autojump_clock: trio.testing.MockClock) -> None:
    q = SchedulingQueue()
    pod = make_pod("p", priority=5)
    pod["status"]["nominatedNodeName"] = "n1"
    q.add(pod)
    assert [p["metadata"]["name"] for p in q.nominated_pods()["n1"]] == ["p"]
    q.update(make_pod("p", priority=5))
    assert q.nominated_pods() == {}
    q.add_nominated(pod, "n2")
    q.delete(pod)
    assert q.nominated_pods() == {}


OPS = ("add", "pop", "fail", "error", "event", "tick", "delete", "update")


@settings(max_examples=150, deadline=None)
@given(hs.lists(hs.tuples(hs.sampled_from(OPS), hs.integers(0, 4)), max_size=60))
def test_every_pod_is_in_exactly_one_place(ops: list[tuple[str, int]]) -> None:
    async def scenario() -> None:
        q = SchedulingQueue()
        in_flight: dict[str, Any] = {}
        known: set[str] = set()
        for op, i in ops:
            key = f"default/p{i}"
            if op == "add":
                q.add(make_pod(f"p{i}", priority=i))
                known.add(key)
                in_flight.pop(key, None)
            elif op == "pop" and q.statistics().active:
                qpi = q.pop_nowait()
                in_flight[qpi.key] = qpi
            elif op in ("fail", "error") and in_flight:
                qpi = in_flight.pop(sorted(in_flight)[0])
                q.add_unschedulable(qpi, ["NodeResourcesFit"], error=op == "error")
            elif op == "event":
                q.move_all_to_active_or_backoff("PodDelete")
            elif op == "tick":
                await trio.sleep(i * 3)
                q.flush_backoff_completed()
                q.flush_unschedulable_leftover()
            elif op == "delete":
                q.delete(key)
                known.discard(key)
                in_flight.pop(key, None)
            elif op == "update" and key in known:
                q.update(make_pod(f"p{i}", priority=i, tolerations=[{"operator": "Exists"}]))
            stats = q.statistics()
            places = [q.where(k) for k in known]
            assert sum(p is not None for p in places) == stats.active + stats.backoff + stats.unschedulable + stats.in_flight
            for k in known:
                if k not in in_flight:
                    assert q.where(k) in ("active", "backoff", "unschedulable", "in-flight")

    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
