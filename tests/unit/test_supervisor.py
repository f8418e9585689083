"""The supervisor: start order, readiness, restarts with backoff, dependents, shutdown."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from k3trio.supervisor import Component, ComponentState, Supervisor, backoff_delays


def forever(name: str, log: list[str], value: Any = None):
    async def run(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        log.append(f"start {name}")
        task_status.started(value)
        try:
            await trio.sleep_forever()
        finally:
            log.append(f"stop {name}")

    return run


async def test_starts_in_dependency_order_and_passes_values(autojump_clock):
    log: list[str] = []
    seen = {}

    async def api(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        seen["store"] = ctx.get("store")
        log.append("start api")
        task_status.started("api-value")
        await trio.sleep_forever()

    sup = Supervisor(
        [
            Component("api", api, requires=("store",)),
            Component("store", forever("store", log, value="the-store")),
        ]
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.wait_ready()
        assert log == ["start store", "start api"]
        assert seen["store"] == "the-store"
        assert sup.is_ready()
        assert [h.name for h in sup.health()] == ["store", "api"]
        nursery.cancel_scope.cancel()


async def test_crash_restarts_with_exponential_backoff(autojump_clock):
    starts: list[float] = []

    async def flaky(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        starts.append(trio.current_time())
        task_status.started()
        raise RuntimeError("boom")

    sup = Supervisor([Component("flaky", flaky)], backoff_initial=1.0, backoff_max=8.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(40)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 3) for a, b in zip(starts, starts[1:])]
    assert gaps[:5] == backoff_delays(1.0, 8.0, 5) == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert all(g == 8.0 for g in gaps[4:])


async def test_crash_is_visible_and_does_not_disturb_others(autojump_clock):
    log: list[str] = []
    attempts = 0

    async def flaky(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        nonlocal attempts
        attempts += 1
        if attempts <= 3:
            raise ValueError(f"bad config {attempts}")
        task_status.started()
        await trio.sleep_forever()

    sup = Supervisor(
        [Component("steady", forever("steady", log)), Component("flaky", flaky)],
        backoff_initial=1.0,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(2.5)  # two failures so far
        health = {h.name: h for h in sup.health()}
        assert health["steady"].ready and health["steady"].restarts == 0
        assert not health["flaky"].ready
        assert health["flaky"].state is ComponentState.BACKOFF
        assert health["flaky"].last_error == "ValueError: bad config 2"
        await trio.sleep(10)
        health = {h.name: h for h in sup.health()}
        assert health["flaky"].ready
        assert health["flaky"].restarts == 3
        assert health["flaky"].crash_looping  # until it has been stable for a while
        await trio.sleep(sup.stable_after + 1)
        assert not {h.name: h for h in sup.health()}["flaky"].crash_looping
        assert log == ["start steady"]  # never restarted
        nursery.cancel_scope.cancel()


async def test_unexpected_return_is_restarted(autojump_clock):
    count = 0

    async def quits(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        nonlocal count
        count += 1
        task_status.started()
        await trio.sleep(1)

    sup = Supervisor([Component("quits", quits)], backoff_initial=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(5.5)
        nursery.cancel_scope.cancel()
    assert count >= 3


async def test_oneshot_runs_once_and_counts_as_ready(autojump_clock):
    runs = 0

    async def once(ctx):
        nonlocal runs
        runs += 1
        await trio.sleep(1)
        return "written"

    log: list[str] = []
    sup = Supervisor(
        [
            Component("base", forever("base", log)),
            Component("once", once, requires=("base",), oneshot=True),
            Component("after", forever("after", log), requires=("once",)),
        ]
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.wait_ready()
        await trio.sleep(100)
        assert runs == 1
        health = {h.name: h for h in sup.health()}
        assert health["once"].state is ComponentState.DONE
        assert health["after"].ready
        nursery.cancel_scope.cancel()


async def test_dependents_restart_when_requirement_restarts(autojump_clock):
    log: list[str] = []
    generation = 0

    async def store(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        nonlocal generation
        generation += 1
        task_status.started(generation)
        await trio.sleep(10)
        raise OSError("disk went away")

    seen: list[int] = []

    async def api(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        seen.append(ctx.get("store"))
        task_status.started()
        await trio.sleep_forever()

    sup = Supervisor(
        [Component("store", store), Component("api", api, requires=("store",))],
        backoff_initial=1.0,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep(15)
        health = {h.name: h for h in sup.health()}
        assert health["api"].restarts == 0  # a dependency restart is not a crash
        assert seen == [1, 2]
        nursery.cancel_scope.cancel()


async def test_shutdown_in_reverse_order_within_grace(autojump_clock):
    log: list[str] = []

    async def slow_stopper(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(2)  # drains connections
            log.append("stop api")

    sup = Supervisor(
        [
            Component("store", forever("store", log)),
            Component("api", slow_stopper, requires=("store",)),
            Component("controllers", forever("controllers", log), requires=("api",)),
        ]
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.wait_ready()
        started = trio.current_time()
        await sup.shutdown(grace=10)
        assert trio.current_time() - started == pytest.approx(2)
    assert log[-3:] == ["stop controllers", "stop api", "stop store"]
    assert all(h.state is ComponentState.STOPPED for h in sup.health())


async def test_shutdown_abandons_components_past_the_deadline(autojump_clock):
    async def stubborn(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(1000)

    sup = Supervisor([Component("stubborn", stubborn)])
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await sup.wait_ready()
        start = trio.current_time()
        await sup.shutdown(grace=5)
        assert trio.current_time() - start == pytest.approx(5)
        nursery.cancel_scope.cancel()


def test_rejects_cycles_and_unknown_requirements():
    async def run(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        pass

    with pytest.raises(ValueError, match="cycle"):
        Supervisor([Component("a", run, requires=("b",)), Component("b", run, requires=("a",))])
    with pytest.raises(ValueError, match="unknown"):
        Supervisor([Component("a", run, requires=("zzz",))])
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor([Component("a", run), Component("a", run)])
