"""Fixtures: a fake API and a harness running controllers over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trio

from k3trio.client import SharedInformerFactory
from k3trio.controllers.base import Controller, ControllerContext

from .fakeapi import FakeClient


class WallClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=trio.current_time())


class Harness:
    def __init__(self, nursery: trio.Nursery) -> None:
        self.api = FakeClient()
        self.wall = WallClock()
        self.ctx = ControllerContext(self.api, SharedInformerFactory(self.api),  # type: ignore[arg-type]
                                     wall_clock=self.wall)
        self.nursery = nursery
        self.controllers: list[Controller] = []

    async def start(self, *factories: Callable[[ControllerContext], Controller]) -> list[Controller]:
        ctls = [f(self.ctx) for f in factories]
        await self.nursery.start(self.ctx.informers.run)
        for c in ctls:
            await self.nursery.start(c.run)
        self.controllers.extend(ctls)
        return ctls

    async def settle(self, seconds: float = 0.5) -> None:
        await trio.sleep(seconds)

    def make_ready(self, node: str = "node-1", *, ns: str | None = None) -> int:
        """Mark every unready pod Running/Ready (the kubelet of unit tests)."""
        n = 0
        for pod in self.api.all("pods", ns):
            st = pod.get("status") or {}
            if st.get("phase") == "Running" or pod["metadata"].get("deletionTimestamp"):
                continue
            pod.setdefault("spec", {}).setdefault("nodeName", node)
            stamp = self.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
            pod["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": stamp}]}
            self.api.put("pods", pod)
            n += 1
        return n


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with trio.open_nursery() as nursery:
        yield Harness(nursery)
        nursery.cancel_scope.cancel()


def rs_obj(name: str, replicas: int, labels: dict[str, str] | None = None,
           **spec: Any) -> dict[str, Any]:
    lab = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}
