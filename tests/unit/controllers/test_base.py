"""The controller base and manager over the in-memory fake API."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio
import trio.testing

from k3trio.client import SharedInformerFactory
from k3trio.client.resource import CONFIGMAPS
from k3trio.controllers.base import Controller, ControllerContext
from k3trio.controllers.manager import ControllerSpec, build_controllers, run_controllers, selected

from .fakeapi import FakeClient


class Echo(Controller):
    name = "echo"
    workers = 2

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.synced: list[str] = []
        self.fail_once: set[str] = set()
        self.cms = self.informer(CONFIGMAPS, on_add=self.enqueue,
                                 on_update=lambda o, n: self.enqueue(n),
                                 on_delete=self.enqueue)

    async def sync(self, key: str) -> None:
        if key in self.fail_once:
            self.fail_once.discard(key)
            raise RuntimeError("boom")
        self.synced.append(key)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {}}


async def test_handlers_enqueue_and_workers_sync(autojump_clock: trio.testing.MockClock) -> None:
    api = FakeClient()
    api.put("configmaps", cm("a"))
    ctx = ControllerContext(api, SharedInformerFactory(api))  # type: ignore[arg-type]
    ctl = Echo(ctx)
    ctl.fail_once.add("default/b")
    async with trio.open_nursery() as nursery:
        await nursery.start(ctx.informers.run)
        await nursery.start(ctl.run)
        assert ctl.has_synced
        await trio.sleep(0.1)
        assert ctl.synced == ["default/a"]
        api.put("configmaps", cm("b"))
        await trio.sleep(1)  # failure, then retried after backoff
        assert ctl.synced.count("default/b") == 1
        await api.delete(CONFIGMAPS, "a", namespace="default")
        await trio.sleep(0.1)
        assert ctl.synced[-1] == "default/a"
        ctl.enqueue_after("default/z", 30)
        await trio.sleep(29)
        assert "default/z" not in ctl.synced
        await trio.sleep(2)
        assert "default/z" in ctl.synced
        nursery.cancel_scope.cancel()


async def test_manager_selection_and_run(autojump_clock: trio.testing.MockClock) -> None:
    specs = [ControllerSpec("echo", Echo), ControllerSpec("off", Echo, enabled_by_default=False),
             ControllerSpec("broken", "k3trio.controllers.nonexistent:Nope")]
    assert [s.name for s in selected(specs)] == ["echo", "broken"]
    assert [s.name for s in selected(specs, enabled=["off"], disabled=["echo"])] == \
        ["off", "broken"]
    api = FakeClient()
    ctx = ControllerContext(api, SharedInformerFactory(api))  # type: ignore[arg-type]
    assert [c.name for c in build_controllers(ctx, specs=specs)] == ["echo"]
    async with trio.open_nursery() as nursery:
        ctls = await nursery.start(partial(run_controllers, api, specs=specs[:1]))
        api.put("configmaps", cm("x"))
        await trio.sleep(0.1)
        assert ctls[0].synced == ["default/x"]
        nursery.cancel_scope.cancel()
