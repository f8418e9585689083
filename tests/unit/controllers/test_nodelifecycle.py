"""Node health, condition taints and NoExecute eviction (fake API, mock clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import trio
import trio.testing

from k3trio.controllers.nodelifecycle import (
    UNREACHABLE,
    NodeLifecycleController,
    desired_taints,
    eviction_time,
)

from .conftest import Harness

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def node(name: str = "n1", ready: str = "True", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec,
            "status": {"conditions": [
                {"type": "Ready", "status": ready, "reason": "KubeletReady",
                 "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "MemoryPressure", "status": "False"}]}}


def pod(name: str, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n1", "tolerations": tolerations or [],
                     "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def test_desired_taints() -> None:
    assert desired_taints(node(), NOW) == []
    t = desired_taints(node(ready="Unknown"), NOW)
    assert [(x["key"], x["effect"]) for x in t] == [(UNREACHABLE, "NoExecute"),
                                                    (UNREACHABLE, "NoSchedule")]
    assert t[0]["timeAdded"] == "2026-01-01T00:00:00Z"
    n = node(ready="False", unschedulable=True, taints=[{"key": "user", "effect": "NoSchedule"},
                                                        {"key": UNREACHABLE, "effect": "NoExecute"}])
    keys = [(x["key"], x["effect"]) for x in desired_taints(n, NOW)]
    assert keys == [("user", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute"),
                    ("node.kubernetes.io/not-ready", "NoSchedule"),
                    ("node.kubernetes.io/unschedulable", "NoSchedule")]


def test_eviction_time() -> None:
    taints = [{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}]
    assert eviction_time(pod("a"), taints, NOW) == NOW
    tol = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300}]
    assert eviction_time(pod("b", tol), taints, NOW) == NOW + timedelta(seconds=300)
    assert eviction_time(pod("c", [{"operator": "Exists"}]), taints, NOW) is None


async def test_unreachable_node(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("nodes", node())
    tol = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300}]
    h.api.put("pods", pod("tolerant", tol))
    h.api.put("pods", pod("forever", [{"operator": "Exists"}]))
    await h.start(NodeLifecycleController)
    await h.settle(30)
    assert h.api.obj("nodes", "", "n1")["status"]["conditions"][0]["status"] == "True"
    await h.settle(20)
    n = h.api.obj("nodes", "", "n1")
    ready = n["status"]["conditions"][0]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert {(t["key"], t["effect"]) for t in n["spec"]["taints"]} == {
        (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")}
    p = h.api.obj("pods", "default", "tolerant")
    assert p["status"]["conditions"][0]["status"] == "False"
    h.api.put("pods", pod("intolerant"))
    await h.settle(1)
    names = [p["metadata"]["name"] for p in h.api.all("pods")]
    assert names == ["forever", "tolerant"]
    await h.settle(300)
    assert [p["metadata"]["name"] for p in h.api.all("pods")] == ["forever"]
    reasons = [e["reason"] for e in h.api.all("events")]
    assert "TaintManagerEviction" in reasons and "NodeNotReady" in reasons


async def test_lease_keeps_node_healthy(harness: Harness,
                                        autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("nodes", node())
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "n1", "renewTime": "2026-01-01T00:00:00.000000Z"}}
    h.api.put("leases", lease)
    await h.start(NodeLifecycleController)
    for i in range(1, 10):
        await h.settle(10)
        lease["spec"]["renewTime"] = f"2026-01-01T00:{i:02d}:00.000000Z"
        h.api.put("leases", lease)
    assert h.api.obj("nodes", "", "n1")["status"]["conditions"][0]["status"] == "True"
    assert not h.api.obj("nodes", "", "n1")["spec"].get("taints")
