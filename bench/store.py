"""Store benchmark: durable writes/s, point reads/s, a 10,000-key list, watch latency.

Usage: ``python bench/store.py [--endpoint sqlite://|memory://] [--seconds 3]``

Prints one line per figure, then a single JSON line with all of them. Writes are
durable (SQLite ``synchronous=FULL``, one fsync per group commit). Watch latency is
measured from the moment a batch is committed (just before fan-out) to the moment each
of 100 watchers has the event, and also end to end from the write call.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time
from collections.abc import Sequence

import trio

from k3trio.store import Event, open_backend
from k3trio.store.core import BackendBase

VALUE = b"x" * 512


async def bench_writes(store: BackendBase, writers: int, seconds: float, tag: str) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            await store.create(f"/bench/{tag}/{w}/{i}", VALUE)
            i += 1
            done += 1

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for w in range(writers):
            nursery.start_soon(writer, w)
    return done / (time.perf_counter() - start)


async def bench_reads(store: BackendBase, seconds: float) -> float:
    keys = [f"/bench/list/{i:05d}" for i in range(0, 10_000, 7)]
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for key in keys:
            _, kv = await store.get(key)
            assert kv is not None
        n += len(keys)
    return n / (time.perf_counter() - start)


async def fill(store: BackendBase, prefix: str, count: int) -> None:
    async def part(lo: int) -> None:
        for i in range(lo, count, 64):
            await store.create(f"{prefix}{i:05d}", VALUE)

    async with trio.open_nursery() as nursery:
        for lo in range(64):
            nursery.start_soon(part, lo)


async def bench_list(store: BackendBase) -> float:
    await fill(store, "/bench/list/", 10_000)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = await store.list("/bench/list/")
        best = min(best, time.perf_counter() - start)
        assert len(result.kvs) == 10_000
    return best


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_watch(store: BackendBase, watchers: int, seconds: float) -> dict[str, float]:
    committed: dict[int, float] = {}
    submitted: dict[str, float] = {}
    commit_lat: list[float] = []
    e2e_lat: list[float] = []
    publish = store.hub.publish

    def timed_publish(events: Sequence[Event]) -> None:
        now = time.perf_counter()
        for event in events:
            committed[event.revision] = now
        publish(events)

    store.hub.publish = timed_publish  # type: ignore[method-assign]
    stop = trio.Event()

    async def watcher(ready: trio.Event) -> None:
        async with store.watch("/bench/lat/") as stream:
            ready.set()
            async for batch in stream:
                now = time.perf_counter()
                for event in batch:
                    commit_lat.append(now - committed[event.revision])
                    e2e_lat.append(now - submitted[event.kv.key])
                if stop.is_set() and not any(e.kv.key.endswith("/last") for e in batch):
                    continue
                if any(e.kv.key.endswith("/last") for e in batch):
                    return

    async def writer(w: int) -> None:
        i = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            key = f"/bench/lat/{w}/{i}"
            submitted[key] = time.perf_counter()
            await store.create(key, VALUE)
            i += 1
            await trio.sleep(0.002)

    async with trio.open_nursery() as nursery:
        for _ in range(watchers):
            ready = trio.Event()
            nursery.start_soon(watcher, ready)
            await ready.wait()
        async with trio.open_nursery() as writers:
            for w in range(4):
                writers.start_soon(writer, w)
        stop.set()
        submitted["/bench/lat/last"] = time.perf_counter()
        await store.create("/bench/lat/last", VALUE)
    store.hub.publish = publish  # type: ignore[method-assign]
    return {
        "watch_p50_ms": percentile(commit_lat, 0.50) * 1000,
        "watch_p99_ms": percentile(commit_lat, 0.99) * 1000,
        "watch_e2e_p50_ms": percentile(e2e_lat, 0.50) * 1000,
        "watch_e2e_p99_ms": percentile(e2e_lat, 0.99) * 1000,
        "watch_events_delivered": float(len(commit_lat)),
    }


async def main(endpoint: str, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="k3trio-bench-", dir="/var/tmp") as tmp:
        data_dir = pathlib.Path(tmp)
        async with open_backend(endpoint, data_dir, compact_interval=0) as store:
            figures: dict[str, float] = {}
            figures["writes_per_s_1"] = await bench_writes(store, 1, seconds, "w1")
            print(f"durable writes/s, 1 writer:   {figures['writes_per_s_1']:10.0f}")
            figures["writes_per_s_64"] = await bench_writes(store, 64, seconds, "w64")
            print(f"durable writes/s, 64 writers: {figures['writes_per_s_64']:10.0f}")
            figures["list_10000_s"] = await bench_list(store)
            print(f"list 10,000 keys:             {figures['list_10000_s'] * 1000:10.1f} ms")
            figures["point_reads_per_s"] = await bench_reads(store, seconds)
            print(f"point reads/s:                {figures['point_reads_per_s']:10.0f}")
            figures.update(await bench_watch(store, 100, seconds))
            print(f"watch latency (commit -> 100 watchers): p50 {figures['watch_p50_ms']:.2f} ms"
                  f", p99 {figures['watch_p99_ms']:.2f} ms")
            print(f"watch latency (write call -> watchers): p50 "
                  f"{figures['watch_e2e_p50_ms']:.2f} ms, p99 {figures['watch_e2e_p99_ms']:.2f} ms")
    print(json.dumps({"endpoint": endpoint, **{k: round(v, 3) for k, v in figures.items()}}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="sqlite://")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    trio.run(main, args.endpoint, args.seconds)
