"""A Kubelet over the in-memory CRI runtime and the in-memory API of the controller tests."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from k3trio.agent.cri import fake
from k3trio.agent.cri.fake import FakeRuntime
from k3trio.agent.kubelet import Kubelet
from k3trio.agent.kubelet.env import NodeResources
from k3trio.client import EventRecorder
from k3trio.client.resource import as_resource
from tests.unit.controllers.fakeapi import FakeClient

Obj = dict[str, Any]


class KubeletAPI(FakeClient):
    """The fake API plus TokenRequest and the kubelet's UID-preconditioned delete."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[Obj] = []

    async def create(self, res: Any, obj: Any, *, namespace: str | None = None,
                     name: str | None = None, subresource: str | None = None,
                     **kw: Any) -> Obj:
        if subresource == "token":
            await trio.lowlevel.checkpoint()
            self.tokens.append({"namespace": namespace, "name": name, **copy.deepcopy(obj)})
            out = copy.deepcopy(dict(obj))
            out["status"] = {"token": f"token-{len(self.tokens)}",
                             "expirationTimestamp": "2099-01-01T00:00:00Z"}
            return out
        return await super().create(res, obj, namespace=namespace, **kw)

    async def delete(self, res: Any, name: str, *, namespace: str | None = None,
                     **kw: Any) -> Obj:
        return await super().delete(res, name, namespace=namespace)

    def events(self) -> list[tuple[str, str]]:
        return [(e.get("reason", ""), e.get("message", "")) for e in self.all("events")]


class Harness:
    def __init__(self, api: KubeletAPI, runtime: FakeRuntime, kubelet: Kubelet,
                 recorded: list[tuple[str, str, str]]) -> None:
        self.api = api
        self.runtime = runtime
        self.kubelet = kubelet
        self.recorded = recorded

    def pod(self, name: str, ns: str = "default") -> Obj:
        return self.api.obj("pods", ns, name)

    def create(self, pod: Obj) -> Obj:
        pod = copy.deepcopy(pod)
        pod["metadata"].setdefault("namespace", "default")
        pod.setdefault("spec", {}).setdefault("nodeName", "node-1")
        return self.api.put("pods", pod)

    def container(self, name: str) -> str:
        """The ID of the newest container called ``name``."""
        best = None
        for cid, (_, cfg, st) in self.runtime.containers.items():
            if cfg.name == name and (best is None or st.created_at >= best[1]):
                best = (cid, st.created_at)
        assert best is not None, f"no container {name}"
        return best[0]

    def reasons(self) -> list[str]:
        return [r for _, r, _ in self.recorded]

    def messages(self, reason: str) -> list[str]:
        return [m for _, r, m in self.recorded if r == reason]

    async def until(self, check: Callable[[], bool], timeout: float = 60.0) -> None:
        with trio.fail_after(timeout):
            while not check():
                await trio.sleep(0.05)


class _Recorder(EventRecorder):
    def __init__(self, sink: list[tuple[str, str, str]]) -> None:
        self.sink = sink

    def event(self, obj: Any, type_: str, reason: str, message: str, *a: Any, **k: Any
              ) -> None:
        self.sink.append((type_, reason, message))


BASE = 1_780_000_000.0  # the wall clock of the tests: this epoch second plus trio time


def _wall() -> datetime:
    return datetime.fromtimestamp(BASE + trio.current_time(), UTC)


@asynccontextmanager
async def kubelet_harness(tmp_path: Path, **kw: Any) -> AsyncIterator[Harness]:
    """The runtime's timestamps and the kubelet's wall clock both follow trio's clock."""
    saved = fake._now_ns
    fake._now_ns = lambda: int((BASE + trio.current_time()) * 1e9)
    try:
        async with _harness(tmp_path, **kw) as h:
            yield h
    finally:
        fake._now_ns = saved


@asynccontextmanager
async def _harness(tmp_path: Path, **kw: Any) -> AsyncIterator[Harness]:
    api = KubeletAPI()
    runtime = FakeRuntime(images=("busybox:1.36",))
    recorded: list[tuple[str, str, str]] = []
    kubelet = Kubelet(api, runtime, runtime, node_name="node-1",  # type: ignore[arg-type]
                      host_ip="192.0.2.10", recorder=_Recorder(recorded),
                      pods_root=tmp_path / "pods", memory_backed_volumes=False,
                      node_resources=NodeResources(cpu_millis=4000, memory=8 << 30),
                      relist_period=0.5, log_root=str(tmp_path / "logs"), wall_clock=_wall,
                      **kw)
    async with trio.open_nursery() as nursery:
        await nursery.start(kubelet.run)
        yield Harness(api, runtime, kubelet, recorded)
        nursery.cancel_scope.cancel()


def as_res(name: str) -> Any:
    return as_resource(name)
