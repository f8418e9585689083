"""Informer loop against a fake list/watch source: sync, events, resume, relist on 410."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.client.cache import NODE_NAME_INDEX, DeletedFinalStateUnknown, index_by_node_name
from k3trio.client.informer import SharedInformer

from .fakesource import FakeSource


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", obj["metadata"]["name"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.events.append(("update", (old["metadata"]["resourceVersion"],
                                       new["metadata"]["resourceVersion"])))

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(("tombstone", obj.key))
        else:
            self.events.append(("delete", obj["metadata"]["name"]))


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_sync_then_events(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    src.put("a", spec={"nodeName": "n1"})
    inf = SharedInformer(src, name="pods", indexers={NODE_NAME_INDEX: index_by_node_name})
    rec = Recorder()
    inf.add_event_handler(rec.on_add, rec.on_update, rec.on_delete)
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        assert rec.events == [("add", "a")]
        src.put("b")
        src.put("a", spec={"nodeName": "n2"})
        src.remove("b")
        await settle()
        assert rec.events[1:] == [("add", "b"), ("update", ("2", "4")), ("delete", "b")]
        assert inf.lister.get("a", "ns")["spec"]["nodeName"] == "n2"  # type: ignore[index]
        assert inf.indexer.index_keys(NODE_NAME_INDEX, "n2") == ["ns/a"]
        assert inf.last_sync_resource_version == "5"
        nursery.cancel_scope.cancel()


async def test_late_handler_gets_replayed_adds(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    src.put("a")
    src.put("b")
    inf = SharedInformer(src)
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        rec = Recorder()
        inf.add_event_handler(on_add=rec.on_add)
        assert sorted(rec.events) == [("add", "a"), ("add", "b")]
        nursery.cancel_scope.cancel()


async def test_resume_after_timeout_and_bookmark(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    inf = SharedInformer(src)
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        src.bookmark()
        await settle()
        await trio.sleep(700)  # past any watch timeout: the watch is reopened
        src.put("x")
        await settle()
        assert src.lists == 1
        assert src.watches[:2] == ["1", "2"]  # resumed from the bookmark
        assert inf.lister.get("x", "ns") is not None
        nursery.cancel_scope.cancel()


async def test_relist_on_expired_delivers_tombstones(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    src.put("a")
    src.put("b")
    inf = SharedInformer(src)
    rec = Recorder()
    inf.add_event_handler(rec.on_add, rec.on_update, rec.on_delete)
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        await settle()
        # Miss changes: the watch ends, history is compacted past them.
        src.fail_watches = 1
        src.compact()
        src.remove("a")
        src.put("b", data={"v": "2"})
        src.put("c")
        src.compact()
        await trio.sleep(5)
        await settle()
        assert src.lists == 2
        assert inf.relists == 2
        assert set(rec.events[2:]) == {("tombstone", "ns/a"), ("update", ("3", "5")),
                                       ("add", "c")}
        assert sorted(inf.indexer.keys()) == ["ns/b", "ns/c"]
        nursery.cancel_scope.cancel()


async def test_list_errors_back_off(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    src.fail_lists = 3
    inf = SharedInformer(src)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        waited = trio.current_time() - start
        assert 0.8 + 1.6 + 3.2 <= waited <= 1.5 * (0.8 + 1.6 + 3.2)
        assert src.lists == 4
        nursery.cancel_scope.cancel()


async def test_handler_errors_do_not_stop_the_informer(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    inf = SharedInformer(src)
    seen: list[str] = []

    def bad(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    inf.add_event_handler(on_add=bad)
    inf.add_event_handler(on_add=lambda o: seen.append(o["metadata"]["name"]))
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await inf.wait_for_sync()
        src.put("a")
        src.put("b")
        await settle()
        assert seen == ["a", "b"]
        nursery.cancel_scope.cancel()


async def test_resync(autojump_clock: trio.testing.MockClock) -> None:
    src = FakeSource()
    src.put("a")
    inf = SharedInformer(src, resync_period=30)
    rec = Recorder()
    inf.add_event_handler(on_update=rec.on_update)
    async with trio.open_nursery() as nursery:
        await nursery.start(inf.run)
        await trio.sleep(65)
        assert rec.events == [("update", ("2", "2"))] * 2
        nursery.cancel_scope.cancel()
