"""DaemonSet controller over the fake API (MockClock): one pod per eligible node, taints and
tolerations, rolling updates with maxUnavailable and maxSurge, OnDelete, failed pods, history."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.controllers import daemonset_util as du
from k3trio.controllers.daemonset import DAEMONSETS, DaemonSetController
from k3trio.controllers.history import apply_revision

from .conftest import Harness


def node(name: str, labels: dict[str, str] | None = None,
         taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {"taints": taints} if taints else {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def daemonset(name: str = "agent", image: str = "agent:1", **spec: Any) -> dict[str, Any]:
    lab = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "default", "generation": 1},
            "spec": {"selector": {"matchLabels": lab}, "revisionHistoryLimit": 10,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     **spec}}


def kubelet(h: Harness) -> int:
    """Bind unbound daemon pods to their target node and mark new pods Running/Ready."""
    n = 0
    for pod in h.api.all("pods"):
        if pod["metadata"].get("deletionTimestamp") or \
                (pod.get("status") or {}).get("phase") in ("Running", "Failed", "Succeeded"):
            continue
        pod["spec"]["nodeName"] = du.target_node(pod)
        stamp = h.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": stamp}]}
        h.api.put("pods", pod)
        n += 1
    return n


async def converge(h: Harness, rounds: int = 10) -> None:
    for _ in range(rounds):
        await h.settle(0.5)
        kubelet(h)
    await h.settle(0.5)


def by_node(h: Harness) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in h.api.all("pods", "default"):
        out.setdefault(du.target_node(p), []).append(p)
    return out


def status(h: Harness, name: str = "agent") -> dict[str, Any]:
    return h.api.obj("daemonsets", "default", name).get("status") or {}


async def edit(h: Harness, fn: Any, name: str = "agent") -> None:
    obj = h.api.obj("daemonsets", "default", name)
    fn(obj["spec"])
    await h.api.update(DAEMONSETS, obj)


async def test_one_pod_per_node_with_affinity_and_tolerations(
        autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    for i in range(3):
        h.api.put("nodes", node(f"n{i}"))
    h.api.put("daemonsets", daemonset())
    await h.start(DaemonSetController)
    await h.settle(1)
    pods = by_node(h)
    assert sorted(pods) == ["n0", "n1", "n2"] and all(len(v) == 1 for v in pods.values())
    pod = pods["n1"][0]
    assert "nodeName" not in pod["spec"]
    assert pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert keys == {("node.kubernetes.io/not-ready", "NoExecute"),
                    ("node.kubernetes.io/unreachable", "NoExecute"),
                    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                    ("node.kubernetes.io/unschedulable", "NoSchedule")}
    assert all("tolerationSeconds" not in t for t in pod["spec"]["tolerations"])
    (rev,) = h.api.all("controllerrevisions")
    hash_ = rev["metadata"]["labels"]["controller-revision-hash"]
    assert rev["metadata"]["name"] == f"agent-{hash_}" and rev["revision"] == 1
    assert pod["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": hash_}
    st = status(h)
    assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"],
            st["updatedNumberScheduled"]) == (3, 3, 0, 3)
    await converge(h)
    st = status(h)
    assert (st["numberReady"], st["numberAvailable"], st["numberMisscheduled"]) == (3, 3, 0)
    assert st["observedGeneration"] == 1 and "numberUnavailable" not in st
    msgs = [e["message"] for e in h.api.all("events") if e["reason"] == "SuccessfulCreate"]
    assert len(msgs) == 3 and all(m.startswith("Created pod: agent-") for m in msgs)
    # a new node gets its pod
    h.api.put("nodes", node("n3"))
    await converge(h)
    assert sorted(by_node(h)) == ["n0", "n1", "n2", "n3"]
    assert status(h)["desiredNumberScheduled"] == 4


async def test_eligibility_selector_taints_and_eviction(
        autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("nodes", node("a", {"role": "edge"}))
    h.api.put("nodes", node("b", {"role": "edge"}, taints=[
        {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))
    h.api.put("nodes", node("c", {"role": "core"}))
    h.api.put("nodes", node("d", {"role": "edge"}, taints=[
        {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]))
    h.api.put("daemonsets", daemonset(template={
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"nodeSelector": {"role": "edge"},
                 "containers": [{"name": "c", "image": "agent:1"}]}}))
    await h.start(DaemonSetController)
    await converge(h)
    assert sorted(by_node(h)) == ["a", "d"]
    # a NoSchedule taint leaves the running pod alone (misscheduled); NoExecute evicts it
    n = h.api.obj("nodes", "", "a")
    n["spec"]["taints"] = [{"key": "maint", "effect": "NoSchedule"}]
    h.api.put("nodes", n)
    await converge(h)
    assert sorted(by_node(h)) == ["a", "d"]
    st = status(h)
    assert (st["desiredNumberScheduled"], st["numberMisscheduled"]) == (1, 1)
    n["spec"]["taints"] = [{"key": "maint", "effect": "NoExecute"}]
    h.api.put("nodes", n)
    await converge(h)
    assert sorted(by_node(h)) == ["d"]
    # a label change makes the node ineligible
    n = h.api.obj("nodes", "", "d")
    n["metadata"]["labels"]["role"] = "core"
    h.api.put("nodes", n)
    await converge(h)
    assert by_node(h) == {}
    assert status(h)["desiredNumberScheduled"] == 0


def test_should_run_and_host_network_toleration() -> None:
    ds = daemonset(template={"metadata": {"labels": {"app": "agent"}}, "spec": {
        "hostNetwork": True, "containers": [{"name": "c", "image": "x"}],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 30}]}})
    net = node("x", taints=[{"key": "node.kubernetes.io/network-unavailable",
                             "effect": "NoSchedule"}])
    assert du.should_run(net, ds) == (True, True)
    assert du.should_run(net, daemonset()) == (False, True)
    assert du.should_run(node("y", taints=[{"key": "k", "effect": "NoExecute"}]),
                         daemonset()) == (False, False)
    tpl = du.pod_template(ds, "h1")
    tols = [t for t in tpl["spec"]["tolerations"] if t["key"] == "node.kubernetes.io/not-ready"]
    assert tols == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                     "effect": "NoExecute", "tolerationSeconds": 30}]
    assert any(t["key"] == "node.kubernetes.io/network-unavailable"
               for t in tpl["spec"]["tolerations"])
    aff = du.replace_node_affinity({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "a", "operator": "Exists"}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}}, "n9")
    assert aff["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 1}]
    assert du.target_node({"spec": {"affinity": aff}}) == "n9"
    only = daemonset(template={"metadata": {"labels": {"app": "agent"}}, "spec": {
        "nodeName": "x", "containers": []}})
    assert du.should_run(node("z"), only) == (False, False)


async def test_rolling_update_max_unavailable_and_undo(
        autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    for i in range(4):
        h.api.put("nodes", node(f"n{i}"))
    h.api.put("daemonsets", daemonset())
    await h.start(DaemonSetController)
    await converge(h)
    rev1 = h.api.all("controllerrevisions")[0]["metadata"]["name"]
    await edit(h, lambda s: s["template"]["spec"]["containers"][0].update(image="agent:2"))
    await h.settle(1)
    # one old pod deleted, its replacement created; nothing else until it is ready
    assert h.api.count("delete", "pods") == 1
    await h.settle(3)
    assert h.api.count("delete", "pods") == 1
    min_ready = 4
    for _ in range(20):
        await h.settle(0.5)
        kubelet(h)
        live = [p for p in h.api.all("pods") if (p.get("status") or {}).get("phase") == "Running"]
        min_ready = min(min_ready, len(live))
    assert min_ready >= 3
    images = {n: [p["spec"]["containers"][0]["image"] for p in ps]
              for n, ps in by_node(h).items()}
    assert images == {f"n{i}": ["agent:2"] for i in range(4)}
    st = status(h)
    assert (st["updatedNumberScheduled"], st["numberAvailable"]) == (4, 4)
    revs = {r["metadata"]["name"]: r["revision"] for r in h.api.all("controllerrevisions")}
    assert len(revs) == 2 and revs[rev1] == 1
    # undo: the old revision's template back; the old revision becomes revision 3
    ds = h.api.obj("daemonsets", "default", "agent")
    await h.api.update(DAEMONSETS, apply_revision(ds, h.api.obj("controllerrevisions",
                                                                "default", rev1)))
    await converge(h, 20)
    revs = {r["metadata"]["name"]: r["revision"] for r in h.api.all("controllerrevisions")}
    assert revs[rev1] == 3 and len(revs) == 2
    assert all(p["spec"]["containers"][0]["image"] == "agent:1" for p in h.api.all("pods"))


async def test_rolling_update_with_surge(autojump_clock: trio.testing.MockClock,
                                         harness: Harness) -> None:
    h = harness
    for i in range(3):
        h.api.put("nodes", node(f"n{i}"))
    h.api.put("daemonsets", daemonset(updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}))
    await h.start(DaemonSetController)
    await converge(h)
    await edit(h, lambda s: s["template"]["spec"]["containers"][0].update(image="agent:2"))
    await h.settle(1)
    # a new pod next to an old one; no old pod deleted before its replacement is available
    assert len(h.api.all("pods")) == 4 and h.api.count("delete", "pods") == 0
    for _ in range(20):
        await h.settle(0.5)
        ready = [p for p in h.api.all("pods")
                 if (p.get("status") or {}).get("phase") == "Running"]
        assert len({du.target_node(p) for p in ready}) == 3
        kubelet(h)
    images = {n: [p["spec"]["containers"][0]["image"] for p in ps]
              for n, ps in by_node(h).items()}
    assert images == {f"n{i}": ["agent:2"] for i in range(3)}


async def test_on_delete_and_failed_pods(autojump_clock: trio.testing.MockClock,
                                         harness: Harness) -> None:
    h = harness
    h.api.put("nodes", node("n0"))
    h.api.put("nodes", node("n1"))
    h.api.put("daemonsets", daemonset(updateStrategy={"type": "OnDelete"}))
    await h.start(DaemonSetController)
    await converge(h)
    await edit(h, lambda s: s["template"]["spec"]["containers"][0].update(image="agent:2"))
    await converge(h)
    assert all(p["spec"]["containers"][0]["image"] == "agent:1" for p in h.api.all("pods"))
    assert status(h)["updatedNumberScheduled"] == 0
    victim = by_node(h)["n0"][0]
    await h.api.delete(("", "v1", "pods"), victim["metadata"]["name"], namespace="default")
    await converge(h)
    images = {n: ps[0]["spec"]["containers"][0]["image"] for n, ps in by_node(h).items()}
    assert images == {"n0": "agent:2", "n1": "agent:1"}
    # a failed pod is deleted (with an event) and replaced
    failed = by_node(h)["n1"][0]
    failed["status"] = {"phase": "Failed"}
    h.api.put("pods", failed)
    await converge(h)
    pods = by_node(h)["n1"]
    assert len(pods) == 1 and pods[0]["metadata"]["uid"] != failed["metadata"]["uid"]
    assert any(e["reason"] == "FailedDaemonPod" for e in h.api.all("events"))


async def test_history_limit(autojump_clock: trio.testing.MockClock, harness: Harness) -> None:
    h = harness
    h.api.put("nodes", node("n0"))
    h.api.put("daemonsets", daemonset(revisionHistoryLimit=1))
    await h.start(DaemonSetController)
    await converge(h)
    for i in range(2, 6):
        await edit(h, lambda s, i=i: s["template"]["spec"]["containers"][0].update(
            image=f"agent:{i}"))
        await converge(h, 6)
    revs = sorted(r["revision"] for r in h.api.all("controllerrevisions"))
    assert revs == [4, 5]
