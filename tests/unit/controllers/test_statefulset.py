"""StatefulSet controller over the fake API (MockClock): ordered creation, claims, scaling,
rolling updates with partition and maxUnavailable, OnDelete, Parallel, retention, history."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.controllers.history import CONTROLLERREVISIONS, apply_revision
from k3trio.controllers.statefulset import STATEFULSETS, StatefulSetController

from .conftest import Harness


def sts(name: str = "db", replicas: int = 3, image: str = "db:1", **spec: Any) -> dict[str, Any]:
    lab = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "default", "generation": 1,
                         "uid": f"uid-{name}"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": lab},
                     "serviceName": name, "podManagementPolicy": "OrderedReady",
                     "revisionHistoryLimit": 10,
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"partition": 0}},
                     "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                              "whenScaled": "Retain"},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     **spec}}


def claim_template(name: str = "data") -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def pods(h: Harness) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in h.api.all("pods", "default")}


def ready(h: Harness, *names: str) -> None:
    for name in names:
        pod = h.api.obj("pods", "default", name)
        stamp = h.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": stamp}]}
        h.api.put("pods", pod)


async def converge(h: Harness, rounds: int = 12) -> None:
    for _ in range(rounds):
        await h.settle(0.5)
        h.make_ready()
    await h.settle(0.5)


def status(h: Harness, name: str = "db") -> dict[str, Any]:
    return h.api.obj("statefulsets", "default", name).get("status") or {}


async def edit(h: Harness, name: str, fn: Any) -> None:
    obj = h.api.obj("statefulsets", "default", name)
    fn(obj["spec"])
    await h.api.update(STATEFULSETS, obj)


async def test_ordered_creation_identity_and_claims(autojump_clock: trio.testing.MockClock,
                                                    harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(volumeClaimTemplates=[claim_template()]))
    await h.start(StatefulSetController)
    await h.settle(1)
    assert list(pods(h)) == ["db-0"]
    pvcs = [c["metadata"]["name"] for c in h.api.all("persistentvolumeclaims", "default")]
    assert pvcs == ["data-db-0"]
    assert h.api.actions.index(("create", "persistentvolumeclaims", "default", "data-db-0")) \
        < h.api.actions.index(("create", "pods", "default", "db-0"))
    p0 = pods(h)["db-0"]
    st = status(h)
    assert p0["metadata"]["labels"] == {
        "app": "db", "statefulset.kubernetes.io/pod-name": "db-0",
        "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": st["updateRevision"]}
    assert p0["spec"]["hostname"] == "db-0" and p0["spec"]["subdomain"] == "db"
    assert p0["spec"]["volumes"] == [{"name": "data",
                                      "persistentVolumeClaim": {"claimName": "data-db-0"}}]
    assert p0["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert h.api.all("persistentvolumeclaims")[0]["metadata"]["labels"] == {"app": "db"}
    assert "ownerReferences" not in h.api.all("persistentvolumeclaims")[0]["metadata"]
    # not ready: nothing more happens
    await h.settle(5)
    assert list(pods(h)) == ["db-0"]
    ready(h, "db-0")
    await h.settle(1)
    assert sorted(pods(h)) == ["db-0", "db-1"]
    ready(h, "db-1")
    await h.settle(1)
    assert sorted(pods(h)) == ["db-0", "db-1", "db-2"]
    ready(h, "db-2")
    await h.settle(1)
    st = status(h)
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"],
            st["currentReplicas"], st["updatedReplicas"]) == (3, 3, 3, 3, 3)
    assert st["currentRevision"] == st["updateRevision"]
    assert st["observedGeneration"] == 1 and st["collisionCount"] == 0
    (rev,) = h.api.all("controllerrevisions", "default")
    assert rev["metadata"]["name"] == st["updateRevision"]
    assert rev["metadata"]["name"].startswith("db-") and rev["revision"] == 1
    assert rev["metadata"]["labels"]["app"] == "db"
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    msgs = [e["message"] for e in h.api.all("events") if e["reason"] == "SuccessfulCreate"]
    assert "create Pod db-0 in StatefulSet db successful" in msgs
    assert "create Claim data-db-0 Pod db-0 in StatefulSet db success" in msgs


async def test_scale_down_highest_first_one_at_a_time(autojump_clock: trio.testing.MockClock,
                                                      harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=4))
    await h.start(StatefulSetController)
    await converge(h)
    assert sorted(pods(h)) == ["db-0", "db-1", "db-2", "db-3"]
    # db-1 unhealthy blocks an ordered scale down (it is not the first unhealthy... it is)
    await edit(h, "db", lambda s: s.update(replicas=1))
    await converge(h)
    assert sorted(pods(h)) == ["db-0"]
    deletes = [a[3] for a in h.api.actions if a[0] == "delete" and a[1] == "pods"]
    assert deletes == ["db-3", "db-2", "db-1"]
    assert status(h)["replicas"] == 1


async def test_parallel_creates_all_at_once(autojump_clock: trio.testing.MockClock,
                                            harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=3, podManagementPolicy="Parallel"))
    await h.start(StatefulSetController)
    await h.settle(1)
    assert sorted(pods(h)) == ["db-0", "db-1", "db-2"]
    await edit(h, "db", lambda s: s.update(replicas=0))
    await h.settle(1)
    assert pods(h) == {}


async def test_rolling_update_highest_first_and_undo(autojump_clock: trio.testing.MockClock,
                                                     harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts())
    await h.start(StatefulSetController)
    await converge(h)
    rev1 = status(h)["updateRevision"]
    await edit(h, "db", lambda s: s["template"]["spec"]["containers"][0].update(image="db:2"))
    await h.settle(1)
    st = status(h)
    rev2 = st["updateRevision"]
    assert rev2 != rev1 and st["currentRevision"] == rev1
    # db-2 was deleted and recreated at the new revision; db-1 waits for it to be ready
    p = pods(h)
    assert p["db-2"]["metadata"]["labels"]["controller-revision-hash"] == rev2
    assert p["db-1"]["metadata"]["labels"]["controller-revision-hash"] == rev1
    await h.settle(3)
    assert pods(h)["db-1"]["metadata"]["labels"]["controller-revision-hash"] == rev1
    await converge(h)
    deletes = [a[3] for a in h.api.actions if a[0] == "delete" and a[1] == "pods"]
    assert deletes == ["db-2", "db-1", "db-0"]
    st = status(h)
    assert st["currentRevision"] == st["updateRevision"] == rev2
    assert st["updatedReplicas"] == st["currentReplicas"] == 3
    assert all(x["spec"]["containers"][0]["image"] == "db:2" for x in pods(h).values())
    revs = {r["metadata"]["name"]: r["revision"] for r in h.api.all("controllerrevisions")}
    assert revs == {rev1: 1, rev2: 2}
    # undo as kubectl does: apply the old revision's template; the old revision is renumbered
    old = h.api.obj("controllerrevisions", "default", rev1)
    cur = h.api.obj("statefulsets", "default", "db")
    await h.api.update(STATEFULSETS, apply_revision(cur, old))
    await converge(h)
    st = status(h)
    assert st["updateRevision"] == st["currentRevision"] == rev1
    revs = {r["metadata"]["name"]: r["revision"] for r in h.api.all("controllerrevisions")}
    assert revs == {rev1: 3, rev2: 2}
    assert all(x["spec"]["containers"][0]["image"] == "db:1" for x in pods(h).values())


async def test_partition_and_max_unavailable(autojump_clock: trio.testing.MockClock,
                                             harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=5, updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": 2, "maxUnavailable": 2}}))
    await h.start(StatefulSetController)
    await converge(h, 15)
    assert len(pods(h)) == 5
    await edit(h, "db", lambda s: s["template"]["spec"]["containers"][0].update(image="db:2"))
    await h.settle(1)
    deletes = [a[3] for a in h.api.actions if a[0] == "delete" and a[1] == "pods"]
    assert deletes == ["db-4", "db-3"]
    await converge(h)
    images = {n: p["spec"]["containers"][0]["image"] for n, p in pods(h).items()}
    assert images == {"db-0": "db:1", "db-1": "db:1", "db-2": "db:2", "db-3": "db:2",
                      "db-4": "db:2"}
    st = status(h)
    assert st["updatedReplicas"] == 3 and st["currentReplicas"] == 2
    assert st["currentRevision"] != st["updateRevision"]


async def test_on_delete(autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=2, updateStrategy={"type": "OnDelete"}))
    await h.start(StatefulSetController)
    await converge(h)
    await edit(h, "db", lambda s: s["template"]["spec"]["containers"][0].update(image="db:2"))
    await converge(h)
    assert all(p["spec"]["containers"][0]["image"] == "db:1" for p in pods(h).values())
    await h.api.delete(("", "v1", "pods"), "db-1", namespace="default")
    await converge(h)
    images = {n: p["spec"]["containers"][0]["image"] for n, p in pods(h).items()}
    assert images == {"db-0": "db:1", "db-1": "db:2"}
    st = status(h)
    assert st["updatedReplicas"] == 1 and st["currentReplicas"] == 1


async def test_failed_pod_is_replaced(autojump_clock: trio.testing.MockClock,
                                      harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=1))
    await h.start(StatefulSetController)
    await converge(h)
    uid = pods(h)["db-0"]["metadata"]["uid"]
    pod = h.api.obj("pods", "default", "db-0")
    pod["status"] = {"phase": "Failed"}
    h.api.put("pods", pod)
    await converge(h)
    assert pods(h)["db-0"]["metadata"]["uid"] != uid
    assert pods(h)["db-0"]["status"]["phase"] == "Running"


async def test_retention_policy_owner_refs(autojump_clock: trio.testing.MockClock,
                                           harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(
        replicas=2, volumeClaimTemplates=[claim_template()],
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"}))
    await h.start(StatefulSetController)
    await converge(h)
    set_uid = h.api.obj("statefulsets", "default", "db")["metadata"]["uid"]
    for c in h.api.all("persistentvolumeclaims"):
        refs = c["metadata"]["ownerReferences"]
        assert [(r["kind"], r["uid"]) for r in refs] == [("StatefulSet", set_uid)]
        assert not refs[0].get("controller")
    pod1_uid = pods(h)["db-1"]["metadata"]["uid"]
    await edit(h, "db", lambda s: s.update(replicas=1))
    await converge(h)
    assert sorted(pods(h)) == ["db-0"]
    c1 = h.api.obj("persistentvolumeclaims", "default", "data-db-1")
    assert [(r["kind"], r["uid"]) for r in c1["metadata"]["ownerReferences"]] == \
        [("Pod", pod1_uid)]
    # scaling back up waits for the stale claim (owned by the old pod) to go away
    await edit(h, "db", lambda s: s.update(replicas=2))
    await converge(h, 4)
    assert sorted(pods(h)) == ["db-0"]
    await h.api.delete(("", "v1", "persistentvolumeclaims"), "data-db-1", namespace="default")
    await converge(h)
    assert sorted(pods(h)) == ["db-0", "db-1"]


async def test_history_limit_keeps_live_revisions(autojump_clock: trio.testing.MockClock,
                                                  harness: Harness) -> None:
    h = harness
    h.api.put("statefulsets", sts(replicas=1, revisionHistoryLimit=1))
    await h.start(StatefulSetController)
    await converge(h)
    for i in range(2, 6):
        await edit(h, "db", lambda s, i=i: s["template"]["spec"]["containers"][0].update(
            image=f"db:{i}"))
        await converge(h, 6)
    revs = sorted(r["revision"] for r in h.api.all("controllerrevisions"))
    assert revs == [4, 5]
    assert h.api.count("create", CONTROLLERREVISIONS.resource) == 5
