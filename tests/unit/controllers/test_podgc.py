"""Pod GC and TTL-after-finished (fake API, mock clock)."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio
import trio.testing

from k3trio.controllers.podgc import PodGCController, gc_decisions
from k3trio.controllers.ttlafterfinished import TTLAfterFinishedController, expire_at

from .conftest import Harness


def pod(name: str, phase: str = "Running", node: str | None = "n1", created: int = 0,
        **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z", **meta},
            "spec": spec, "status": {"phase": phase}}


NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}


def test_decisions() -> None:
    pods = [pod("old", "Succeeded", created=1), pod("new", "Failed", created=5),
            pod("mid", "Succeeded", created=3), pod("run"), pod("lost", node="gone"),
            pod("pending", node=None, deletionTimestamp="2026-01-01T00:00:00Z")]
    d = gc_decisions(pods, [NODE], terminated_threshold=1)
    assert [p["metadata"]["name"] for p in d.terminated] == ["old", "mid"]
    assert [p["metadata"]["name"] for p in d.orphaned] == ["lost"]
    assert [p["metadata"]["name"] for p in d.unscheduled] == ["pending"]


async def test_podgc(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("nodes", NODE)
    for p in (pod("old", "Succeeded", created=1), pod("new", "Succeeded", created=2),
              pod("lost", node="gone"), pod("run")):
        h.api.put("pods", p)
    await h.start(partial(PodGCController, terminated_threshold=1))
    await h.settle(1)
    assert [p["metadata"]["name"] for p in h.api.all("pods")] == ["lost", "new", "run"]
    await h.settle(60)  # after the 40 s quarantine the orphan goes
    assert [p["metadata"]["name"] for p in h.api.all("pods")] == ["new", "run"]


def job(ttl: int | None, finished: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if finished:
        status = {"completionTime": finished, "conditions": [
            {"type": "Complete", "status": "True", "lastTransitionTime": finished}]}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "default"},
            "spec": {} if ttl is None else {"ttlSecondsAfterFinished": ttl}, "status": status}


async def test_ttl_after_finished(harness: Harness,
                                  autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    assert expire_at(job(None, "2026-01-01T00:00:00Z")) is None
    assert expire_at(job(5, None)) is None
    await h.start(TTLAfterFinishedController)
    h.api.put("jobs", job(100, "2026-01-01T00:00:30Z"))
    await h.settle(120)
    assert h.api.all("jobs") != []
    await h.settle(15)
    assert h.api.all("jobs") == []
