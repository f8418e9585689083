"""ReplicaSet/ReplicationController controller over the fake API (MockClock)."""

from __future__ import annotations

from datetime import UTC, datetime

import trio
import trio.testing

from k3trio.client.resource import PODS
from k3trio.controllers.replicaset import (
    REPLICASETS,
    ReplicaSetController,
    ReplicationControllerController,
    rank_pods_for_deletion,
    slow_start_batch,
)

from .conftest import Harness, rs_obj


def pods_of(h: Harness, app: str) -> list[dict]:
    return [p for p in h.api.all("pods", "default") if p["metadata"]["labels"].get("app") == app]


async def test_scale_up_status_and_scale_down(autojump_clock: trio.testing.MockClock,
                                              harness: Harness) -> None:
    h = harness
    h.api.put("replicasets", rs_obj("web", 3))
    (ctl,) = await h.start(ReplicaSetController)
    await h.settle()
    pods = pods_of(h, "web")
    assert len(pods) == 3
    for p in pods:
        assert p["metadata"]["generateName"] == "web-"
        ref = p["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "ReplicaSet" and ref["name"] == "web" and ref["controller"]
    rs = h.api.obj("replicasets", "default", "web")
    assert rs["status"]["replicas"] == 3 and rs["status"]["readyReplicas"] == 0
    assert rs["status"]["observedGeneration"] == 1
    h.make_ready()
    await h.settle()
    rs = h.api.obj("replicasets", "default", "web")
    assert rs["status"]["readyReplicas"] == 3 and rs["status"]["availableReplicas"] == 3
    # scale down to 1: two pods deleted, events recorded
    await h.api.patch(REPLICASETS, "web", {"spec": {"replicas": 1}}, namespace="default")
    await h.settle()
    assert len(pods_of(h, "web")) == 1
    assert h.api.obj("replicasets", "default", "web")["status"]["replicas"] == 1
    reasons = sorted(e["reason"] for e in h.api.all("events"))
    assert reasons.count("SuccessfulCreate") == 3 and reasons.count("SuccessfulDelete") == 2
    # a deleted pod is replaced
    victim = pods_of(h, "web")[0]["metadata"]["name"]
    await h.api.delete(PODS, victim, namespace="default")
    await h.settle()
    assert [p["metadata"]["name"] for p in pods_of(h, "web")] != [victim]
    assert len(pods_of(h, "web")) == 1


async def test_expectations_prevent_double_creates(autojump_clock: trio.testing.MockClock,
                                                   harness: Harness) -> None:
    h = harness
    h.api.put("replicasets", rs_obj("db", 5))
    (ctl,) = await h.start(ReplicaSetController)
    for _ in range(5):
        ctl.enqueue("default/db")
        await trio.sleep(0.01)
    await h.settle()
    assert h.api.count("create", "pods") == 5


async def test_create_failure_sets_condition_and_retries(
        autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.fail_creates = 1000
    h.api.put("replicasets", rs_obj("f", 2))
    await h.start(ReplicaSetController)
    await h.settle(0.05)
    h.api.fail_creates = 0
    rs = h.api.obj("replicasets", "default", "f")
    cond = rs["status"]["conditions"][0]
    assert cond["type"] == "ReplicaFailure" and cond["reason"] == "FailedCreate"
    await h.settle(2)
    rs = h.api.obj("replicasets", "default", "f")
    assert len(pods_of(h, "f")) == 2 and "conditions" not in rs["status"]
    assert any(e["reason"] == "FailedCreate" and e["type"] == "Warning"
               for e in h.api.all("events"))


async def test_adopts_orphans_and_releases_mismatches(
        autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("pods", {"metadata": {"name": "orphan", "namespace": "default",
                                    "labels": {"app": "a"}}, "spec": {}})
    h.api.put("replicasets", rs_obj("a", 1))
    await h.start(ReplicaSetController)
    await h.settle()
    pods = pods_of(h, "a")
    assert [p["metadata"]["name"] for p in pods] == ["orphan"]
    assert pods[0]["metadata"]["ownerReferences"][0]["name"] == "a"
    await h.api.patch(PODS, "orphan", {"metadata": {"labels": {"app": "other"}}},
                      namespace="default")
    await h.settle()
    released = h.api.obj("pods", "default", "orphan")
    assert not released["metadata"].get("ownerReferences")
    assert len(pods_of(h, "a")) == 1


async def test_min_ready_seconds(autojump_clock: trio.testing.MockClock,
                                 harness: Harness) -> None:
    h = harness
    h.api.put("replicasets", rs_obj("m", 2, minReadySeconds=10))
    await h.start(ReplicaSetController)
    await h.settle()
    h.make_ready()
    await h.settle(1)
    st = h.api.obj("replicasets", "default", "m")["status"]
    assert st["readyReplicas"] == 2 and st["availableReplicas"] == 0
    await trio.sleep(12)
    assert h.api.obj("replicasets", "default", "m")["status"]["availableReplicas"] == 2


async def test_replication_controller(autojump_clock: trio.testing.MockClock,
                                      harness: Harness) -> None:
    h = harness
    rc = {"apiVersion": "v1", "kind": "ReplicationController",
          "metadata": {"name": "rc", "namespace": "default", "generation": 1},
          "spec": {"replicas": 2, "selector": {"app": "rc"},
                   "template": {"metadata": {"labels": {"app": "rc"}}, "spec": {}}}}
    h.api.put("replicationcontrollers", rc)
    await h.start(ReplicationControllerController)
    await h.settle()
    pods = pods_of(h, "rc")
    assert len(pods) == 2
    assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"
    st = h.api.obj("replicationcontrollers", "default", "rc")["status"]
    assert st["replicas"] == 2 and "terminatingReplicas" not in st


def _pod(name: str, node: str = "", phase: str = "Running", ready: bool = True,
         created: str = "2026-01-01T00:00:00Z", restarts: int = 0) -> dict:
    conds = [{"type": "Ready", "status": "True" if ready else "False",
              "lastTransitionTime": "2026-01-01T00:01:00Z"}]
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_deletion_ranking() -> None:
    pods = [
        _pod("running-old", "n1"),
        _pod("unscheduled", "", phase="Pending", ready=False),
        _pod("pending", "n1", phase="Pending", ready=False),
        _pod("notready", "n2", ready=False),
        _pod("running-new", "n2", created="2026-01-02T00:00:00Z"),
        _pod("restarty", "n3", restarts=5),
    ]
    order = [p["metadata"]["name"] for p in rank_pods_for_deletion(pods, pods, 6)]
    assert rank_pods_for_deletion(pods, pods, 6) == pods  # count >= len: all, unranked
    order = [p["metadata"]["name"] for p in rank_pods_for_deletion(pods, pods, 5)]
    assert order[:3] == ["unscheduled", "pending", "notready"]
    # n1/n2 have 2 pods each (doubled up) and go before the lone n3 pod
    assert set(order[3:5]) == {"running-old", "running-new"}
    assert order[3] == "running-new"  # equal rank: newer first


async def test_slow_start_batches(autojump_clock: trio.testing.MockClock) -> None:
    calls = 0

    async def ok() -> None:
        nonlocal calls
        calls += 1

    assert await slow_start_batch(10, 1, ok) == 10 and calls == 10
    _ = datetime.now(UTC)
