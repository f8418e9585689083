"""The one store test suite, run against every backend (see conftest.py)."""

from __future__ import annotations

import pathlib

import pytest
import trio

from k3trio.store import (
    CompactedError,
    ConflictError,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    StoreError,
    StoreUnavailableError,
    WatchClosedError,
    open_backend,
)
from k3trio.store import watch as watch_module
from k3trio.store.core import BackendBase

from .conftest import Opener


async def test_create_get_exists(store: BackendBase) -> None:
    kv = await store.create("/a/1", b"one")
    assert (kv.key, kv.value, kv.create_revision, kv.mod_revision) == ("/a/1", b"one", 1, 1)
    with pytest.raises(KeyExistsError):
        await store.create("/a/1", b"again")
    assert await store.get("/a/1") == (1, kv)
    assert await store.get("/a/missing") == (1, None)
    assert store.current_revision == 1


async def test_update_and_delete_compare_and_swap(store: BackendBase) -> None:
    first = await store.create("/k", b"v1")
    second = await store.update("/k", b"v2", revision=first.mod_revision)
    assert (second.create_revision, second.mod_revision, second.value) == (1, 2, b"v2")
    with pytest.raises(ConflictError) as conflict:
        await store.update("/k", b"stale", revision=first.mod_revision)
    assert conflict.value.current == second
    assert (await store.update("/k", b"v3")).mod_revision == 3  # unconditional
    with pytest.raises(ConflictError):
        await store.delete("/k", revision=2)
    with pytest.raises(KeyNotFoundError):
        await store.update("/nope", b"x")
    with pytest.raises(KeyNotFoundError):
        await store.delete("/nope")
    deleted = await store.delete("/k", revision=3)
    assert (deleted.value, deleted.create_revision, deleted.mod_revision) == (b"v3", 1, 4)
    assert (await store.get("/k"))[1] is None
    again = await store.create("/k", b"new")
    assert (again.create_revision, again.mod_revision) == (5, 5)
    assert store.current_revision == 5  # failed ops consumed no revision


async def test_concurrent_cas_counter(store: BackendBase) -> None:
    await store.create("/counter", b"0")
    tasks, increments = 16, 10

    async def bump() -> None:
        for _ in range(increments):
            while True:
                _, kv = await store.get("/counter")
                assert kv is not None
                try:
                    await store.update("/counter", b"%d" % (int(kv.value) + 1),
                                       revision=kv.mod_revision)
                    break
                except ConflictError:
                    continue

    async with trio.open_nursery() as nursery:
        for _ in range(tasks):
            nursery.start_soon(bump)
    _, kv = await store.get("/counter")
    assert kv is not None and int(kv.value) == tasks * increments


async def test_reads_at_revisions(store: BackendBase) -> None:
    await store.create("/r/a", b"a1")  # 1
    await store.create("/r/b", b"b1")  # 2
    await store.update("/r/a", b"a2")  # 3
    await store.delete("/r/b")  # 4
    await store.create("/r/c", b"c1")  # 5
    assert (await store.get("/r/a", revision=2))[1].value == b"a1"  # type: ignore[union-attr]
    assert (await store.get("/r/b", revision=3))[1].value == b"b1"  # type: ignore[union-attr]
    assert (await store.get("/r/b", revision=4))[1] is None
    snapshot = await store.list("/r/", revision=3)
    assert snapshot.revision == 3
    assert [(kv.key, kv.value) for kv in snapshot.kvs] == [("/r/a", b"a2"), ("/r/b", b"b1")]
    latest = await store.list("/r/")
    assert latest.revision == 5
    assert [kv.key for kv in latest.kvs] == ["/r/a", "/r/c"]
    with pytest.raises(FutureRevisionError):
        await store.get("/r/a", revision=6)
    with pytest.raises(FutureRevisionError):
        await store.list("/r/", revision=6)


async def test_list_paging_and_count(store: BackendBase) -> None:
    for i in range(25):
        await store.create(f"/p/{i:02d}", b"x")
    await store.create("/o/outside", b"x")
    await store.create("/q", b"x")
    page = await store.list("/p/", limit=10)
    assert [kv.key for kv in page.kvs] == [f"/p/{i:02d}" for i in range(10)]
    assert (page.more, page.remaining, page.revision) == (True, 15, 27)
    await store.create("/p/99", b"late")  # pages keep reading the first page's revision
    seen = [kv.key for kv in page.kvs]
    while page.more:
        page = await store.list("/p/", limit=10, start=page.kvs[-1].key + "\x00",
                                revision=page.revision)
        seen += [kv.key for kv in page.kvs]
    assert seen == [f"/p/{i:02d}" for i in range(25)]
    assert (page.more, page.remaining) == (False, 0)
    assert await store.count("/p/") == (28, 26)
    assert await store.count("") == (28, 28)
    assert len((await store.list("")).kvs) == 28
    exact = await store.list("/p/", limit=26)
    assert (len(exact.kvs), exact.more, exact.remaining) == (26, False, 0)


async def test_watch_order_types_and_prev_values(store: BackendBase) -> None:
    async with store.watch("/w/") as stream:
        await store.create("/w/a", b"1")
        await store.create("/other", b"x")
        await store.update("/w/a", b"2")
        await store.delete("/w/a")
        events = []
        async for batch in stream:
            events += batch
            if len(events) >= 3:
                break
    assert len(store.hub) == 0  # leaving the context unsubscribed the watcher
    assert [(e.type, e.revision) for e in events] == [
        (EventType.CREATE, 1), (EventType.UPDATE, 3), (EventType.DELETE, 4)]
    assert events[0].prev_kv is None
    assert events[1].prev_kv is not None and events[1].prev_kv.value == b"1"
    assert events[2].kv.value == b"2" and events[2].prev_kv is not None
    assert (events[2].prev_kv.value, events[2].prev_kv.mod_revision) == (b"2", 3)


async def test_watch_resume_from_revision(store: BackendBase) -> None:
    for i in range(5):
        await store.create(f"/res/{i}", b"%d" % i)
    async with store.watch("/res/", revision=3) as stream:
        await store.update("/res/0", b"live")
        revisions: list[int] = []
        async for batch in stream:
            revisions += [e.revision for e in batch]
            if revisions[-1] == 6:
                break
    assert revisions == [3, 4, 5, 6]


async def test_history_replay_then_live_has_no_gap(
    store: BackendBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "REPLAY_PAGE", 7)
    total = 200

    async def writer(prefix: str) -> None:
        for i in range(total // 4):
            await store.create(f"{prefix}{i}", b"v")

    got: list[int] = []
    async with trio.open_nursery() as nursery:
        for w in range(4):
            nursery.start_soon(writer, f"/g/{w}/")
        while store.current_revision < 40:
            await trio.sleep(0)
        async with store.watch("/g/", revision=1) as stream:
            async for batch in stream:
                got += [e.revision for e in batch]
                if got[-1] >= total:
                    break
    assert got == list(range(1, total + 1))


async def test_slow_watcher_is_closed_without_slowing_others(open_store: Opener) -> None:
    async with open_store(watch_buffer=4) as store:
        async with store.watch("/s/") as slow, store.watch("/s/") as fast:
            fast_seen: list[int] = []
            for i in range(10):
                await store.create(f"/s/{i}", b"v")
                async for batch in fast:
                    fast_seen += [e.revision for e in batch]
                    break
            assert fast_seen == list(range(1, 11))
            slow_seen: list[int] = []
            with pytest.raises(WatchClosedError):
                async for batch in slow:
                    slow_seen += [e.revision for e in batch]
            assert slow_seen == [1, 2, 3, 4]
            assert len(store.hub) == 1


async def test_compaction(store: BackendBase) -> None:
    await store.create("/c/a", b"a1")  # 1
    await store.create("/c/b", b"b1")  # 2
    await store.update("/c/a", b"a2")  # 3
    await store.delete("/c/b")  # 4
    await store.create("/c/c", b"c1")  # 5
    await store.update("/c/c", b"c2")  # 6
    await store.compact(5)
    assert store.compact_revision == 5
    with pytest.raises(CompactedError):
        await store.get("/c/a", revision=4)
    with pytest.raises(CompactedError):
        await store.list("/c/", revision=3)
    with pytest.raises(CompactedError):
        async with store.watch("/c/", revision=4):
            pass
    at5 = await store.list("/c/", revision=5)
    assert [(kv.key, kv.value) for kv in at5.kvs] == [("/c/a", b"a2"), ("/c/c", b"c1")]
    assert (await store.get("/c/b", revision=5))[1] is None
    latest = await store.list("/c/")
    assert [(kv.key, kv.value) for kv in latest.kvs] == [("/c/a", b"a2"), ("/c/c", b"c2")]
    async with store.watch("/c/", revision=5) as stream:
        async for batch in stream:
            assert [(e.revision, e.type) for e in batch] == [
                (5, EventType.CREATE), (6, EventType.UPDATE)]
            assert batch[1].prev_kv is not None and batch[1].prev_kv.value == b"c1"
            break
    with pytest.raises(CompactedError):
        await store.compact(5)
    with pytest.raises(FutureRevisionError):
        await store.compact(7)
    await store.compact(6)
    assert [kv.value for kv in (await store.list("/c/", revision=6)).kvs] == [b"a2", b"c2"]


async def test_periodic_compaction(open_store: Opener, jump_clock: trio.abc.Clock) -> None:
    async with open_store(compact_interval=10, compact_keep=5) as store:
        for i in range(20):
            await store.create(f"/pc/{i}", b"v")
        await trio.sleep(11)
        assert store.compact_revision == 15
        assert (await store.count("/pc/"))[1] == 20
        await trio.sleep(10)
        assert store.compact_revision == 15


async def test_ttl_expiry(open_store: Opener, jump_clock: trio.abc.Clock) -> None:
    async with open_store(ttl_poll=10) as store:
        await _ttl_expiry(store)


async def _ttl_expiry(store: BackendBase) -> None:
    async with store.watch("/t/") as stream:
        # (generous margins: the mock clock may jump by one sweeper poll while idle)
        await store.create("/t/short", b"s", ttl=50)
        kept = await store.create("/t/renewed", b"r", ttl=50)
        await store.create("/t/forever", b"f")
        await trio.sleep(30)
        await store.update("/t/renewed", b"r2", revision=kept.mod_revision, ttl=0)
        await trio.sleep(25)
        assert (await store.get("/t/short"))[1] is None
        assert (await store.get("/t/renewed"))[1] is not None
        events = []
        async for batch in stream:
            events += batch
            if len(events) >= 5:
                break
    delete = events[4]
    assert (delete.type, delete.kv.key, delete.kv.value) == (EventType.DELETE, "/t/short", b"s")
    assert (await store.count("/t/"))[1] == 2


async def test_ttl_sweeper_wakes_for_earlier_expiry(
    open_store: Opener, jump_clock: trio.abc.Clock
) -> None:
    async with open_store(ttl_poll=10_000) as store:
        await store.create("/t/late", b"", ttl=1000)
        await trio.sleep(1)
        await store.create("/t/early", b"", ttl=20)
        await trio.sleep(25)
        assert (await store.get("/t/early"))[1] is None
        assert (await store.get("/t/late"))[1] is not None
        await trio.sleep(1000)
        assert (await store.count("/t/"))[1] == 0


async def test_closing_closes_watchers_and_rejects_calls(open_store: Opener) -> None:
    async with open_store() as store:
        async with store.watch("/") as stream:
            pass
        watch_cm = store.watch("/x/")
        stream = await watch_cm.__aenter__()
    with pytest.raises(WatchClosedError):
        await stream.__anext__()
    await watch_cm.__aexit__(None, None, None)
    with pytest.raises(StoreUnavailableError):
        await store.create("/x", b"")
    with pytest.raises(StoreUnavailableError):
        await store.get("/x")


async def test_unsupported_endpoints(tmp_path: pathlib.Path) -> None:
    for endpoint in ("etcd://127.0.0.1:2379", "https://127.0.0.1:2379", "bogus://"):
        with pytest.raises(StoreError):
            async with open_backend(endpoint, tmp_path):
                pass


async def test_errors_from_the_body_propagate_unwrapped(open_store: Opener) -> None:
    with pytest.raises(KeyExistsError):
        async with open_store() as store:
            await store.create("/dup", b"")
            await store.create("/dup", b"")
