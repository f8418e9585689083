"""Deployment controller with the ReplicaSet controller over the fake API (MockClock)."""

from __future__ import annotations

import copy
from typing import Any

import trio
import trio.testing

from k3trio.controllers.deployment import DEPLOYMENTS, DeploymentController
from k3trio.controllers.deployment import util as u
from k3trio.controllers.replicaset import ReplicaSetController

from .conftest import Harness


def deployment(name: str, replicas: int, image: str = "nginx:1", **spec: Any) -> dict[str, Any]:
    lab = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": lab},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     **spec}}


async def converge(h: Harness, rounds: int = 20) -> None:
    for _ in range(rounds):
        await h.settle(0.5)
        h.make_ready()
    await h.settle(0.5)


def rss(h: Harness) -> list[dict[str, Any]]:
    return h.api.all("replicasets", "default")


async def set_image(h: Harness, name: str, image: str) -> None:
    d = h.api.obj("deployments", "default", name)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    await h.api.update(DEPLOYMENTS, d)


async def test_create_rollout_and_undo(autojump_clock: trio.testing.MockClock,
                                       harness: Harness) -> None:
    h = harness
    h.api.put("deployments", deployment("web", 4))
    await h.start(DeploymentController, ReplicaSetController)
    await converge(h)
    (rs1,) = rss(h)
    hash1 = rs1["metadata"]["labels"]["pod-template-hash"]
    assert rs1["metadata"]["name"] == f"web-{hash1}"
    assert rs1["metadata"]["annotations"][u.REVISION] == "1"
    assert rs1["metadata"]["annotations"][u.DESIRED_REPLICAS] == "4"
    assert rs1["metadata"]["annotations"][u.MAX_REPLICAS] == "5"
    d = h.api.obj("deployments", "default", "web")
    st = d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"]) == (4, 4, 4)
    assert st["observedGeneration"] == 1
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert d["metadata"]["annotations"][u.REVISION] == "1"
    msgs = [e["message"] for e in h.api.all("events") if e["reason"] == "ScalingReplicaSet"]
    assert msgs == [f"Scaled up replica set web-{hash1} from 0 to 4"]

    # roll to a new image: never more than 5 pods, never fewer than 3 available
    await set_image(h, "web", "nginx:2")
    max_pods = 0
    for _ in range(30):
        await h.settle(0.3)
        max_pods = max(max_pods, len([p for p in h.api.all("pods", "default")]))
        h.make_ready()
    assert max_pods <= 5
    by_rev = {r["metadata"]["annotations"][u.REVISION]: r for r in rss(h)}
    assert set(by_rev) == {"1", "2"}
    assert by_rev["1"]["spec"]["replicas"] == 0 and by_rev["2"]["spec"]["replicas"] == 4
    d = h.api.obj("deployments", "default", "web")
    assert d["metadata"]["annotations"][u.REVISION] == "2"
    assert d["status"]["updatedReplicas"] == 4 and d["status"]["replicas"] == 4

    # undo: the old template comes back; the old RS is reused as revision 3
    d["spec"]["template"] = copy.deepcopy(by_rev["1"]["spec"]["template"])
    del d["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]
    await h.api.update(DEPLOYMENTS, d)
    await converge(h)
    by_name = {r["metadata"]["name"]: r for r in rss(h)}
    old = by_name[f"web-{hash1}"]
    assert old["metadata"]["annotations"][u.REVISION] == "3"
    assert old["metadata"]["annotations"][u.REVISION_HISTORY] == "1"
    assert old["spec"]["replicas"] == 4 and len(by_name) == 2


async def test_recreate(autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("deployments", deployment("r", 2, strategy={"type": "Recreate"}))
    await h.start(DeploymentController, ReplicaSetController)
    await converge(h)
    await set_image(h, "r", "nginx:2")
    await h.settle(0.5)
    # old pods are removed before any new one is created
    revs = {r["metadata"]["annotations"][u.REVISION]: r for r in rss(h)}
    assert revs["1"]["spec"]["replicas"] == 0
    await converge(h)
    revs = {r["metadata"]["annotations"][u.REVISION]: r for r in rss(h)}
    assert revs["2"]["spec"]["replicas"] == 2
    assert h.api.obj("deployments", "default", "r")["status"]["updatedReplicas"] == 2


async def test_scale_and_pause(autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("deployments", deployment("s", 2))
    await h.start(DeploymentController, ReplicaSetController)
    await converge(h)
    await h.api.patch(DEPLOYMENTS, "s", {"spec": {"paused": True}}, namespace="default")
    await h.settle()
    cond = u.get_condition(h.api.obj("deployments", "default", "s")["status"], "Progressing")
    assert cond is not None and cond["reason"] == "DeploymentPaused"
    assert cond["status"] == "Unknown"
    await set_image(h, "s", "nginx:9")
    await h.api.patch(DEPLOYMENTS, "s", {"spec": {"replicas": 5}}, namespace="default")
    await converge(h)
    (rs,) = rss(h)  # paused: no new RS, but scaling happened
    assert rs["spec"]["replicas"] == 5
    await h.api.patch(DEPLOYMENTS, "s", {"spec": {"paused": False}}, namespace="default")
    await converge(h)
    assert len(rss(h)) == 2
    d = h.api.obj("deployments", "default", "s")
    assert d["status"]["updatedReplicas"] == 5
    assert u.get_condition(d["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_progress_deadline(autojump_clock: trio.testing.MockClock,
                                 harness: Harness) -> None:
    h = harness
    h.api.put("deployments", deployment("p", 1, progressDeadlineSeconds=30))
    await h.start(DeploymentController, ReplicaSetController)
    await h.settle(5)  # pods never become ready
    cond = u.get_condition(h.api.obj("deployments", "default", "p")["status"], "Progressing")
    assert cond["status"] == "True"
    await trio.sleep(40)
    cond = u.get_condition(h.api.obj("deployments", "default", "p")["status"], "Progressing")
    assert cond["status"] == "False" and cond["reason"] == "ProgressDeadlineExceeded"


async def test_history_cleanup(autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("deployments", deployment("c", 1, revisionHistoryLimit=1))
    await h.start(DeploymentController, ReplicaSetController)
    await converge(h, 6)
    for image in ("a", "b", "c"):
        await set_image(h, "c", image)
        await converge(h, 8)
    assert sorted(r["metadata"]["annotations"][u.REVISION] for r in rss(h)) == ["3", "4"]


def test_fenceposts_and_hash() -> None:
    assert u.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert u.resolve_fenceposts(0, 0, 10) == (0, 1)
    assert u.resolve_fenceposts(None, None, 1) == (1, 0)
    h = u.compute_hash({"metadata": {"labels": {"a": "b"}}})
    assert h and set(h) <= set(u.SAFE_ALPHABET)
    assert u.compute_hash({"x": 1}, 1) != u.compute_hash({"x": 1}, None)
    assert u.fnv32a(b"") == 0x811C9DC5 and u.fnv32a(b"a") == 0xE40C292C
