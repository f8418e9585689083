"""Property: the node schedule_one picks passes every filter; when it picks none, none does."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scheduler_objects import make_node, make_pod, taint

from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.framework import Scheduler
from k3trio.scheduler.nodeinfo import PodInfo, Snapshot
from k3trio.scheduler.pipeline import filter_node, prefilter

ZONE = "topology.kubernetes.io/zone"
APPS = ("web", "db", "cache")
TAINTS = [taint("dedicated", "NoSchedule", "gpu"), taint("cp", "NoSchedule"), taint("soft", "PreferNoSchedule"),
          taint("evict", "NoExecute")]


@hs.composite
def nodes(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(hs.integers(1, 6))):
        labels = {}
        if draw(hs.booleans()):
            labels[ZONE] = draw(hs.sampled_from("abc"))
        if draw(hs.booleans()):
            labels["disk"] = "ssd"
        out.append(make_node(f"n{i}", cpu=str(draw(hs.integers(1, 4))), memory=f"{draw(hs.integers(1, 4))}Gi",
                             pods=str(draw(hs.integers(1, 5))), labels=labels,
                             taints=draw(hs.lists(hs.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"])),
                             unschedulable=draw(hs.integers(0, 5)) == 0))
    return out


def anti(app: str, key: str = ZONE) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


@hs.composite
def pod(draw: Any, name: str, node: str | None = None) -> dict[str, Any]:
    app = draw(hs.sampled_from(APPS))
    spec: dict[str, Any] = {}
    if draw(hs.integers(0, 3)) == 0:
        spec["affinity"] = anti(draw(hs.sampled_from(APPS)), draw(hs.sampled_from([ZONE, "kubernetes.io/hostname"])))
    if node is None:
        if draw(hs.booleans()):
            spec["tolerations"] = draw(hs.lists(hs.sampled_from(
                [{"key": "dedicated", "value": "gpu"}, {"key": "cp", "operator": "Exists"},
                 {"operator": "Exists", "effect": "NoExecute"}]), max_size=2))
        if draw(hs.integers(0, 3)) == 0:
            spec["nodeSelector"] = {"disk": "ssd"}
        if draw(hs.integers(0, 3)) == 0:
            spec["topologySpreadConstraints"] = [{
                "maxSkew": draw(hs.integers(1, 2)), "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": app}}}]
        if draw(hs.integers(0, 4)) == 0:
            spec["containers"] = [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}]
    p = make_pod(name, cpu=f"{draw(hs.integers(0, 20)) * 100}m", memory=f"{draw(hs.integers(0, 8)) * 128}Mi",
                 labels={"app": app}, node=node, priority=draw(hs.integers(0, 3)), **spec)
    if "containers" in spec:
        p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}}
    return p


@hs.composite
def clusters(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    ns = draw(nodes())
    existing = [draw(pod(f"e{i}", node=draw(hs.sampled_from([n["metadata"]["name"] for n in ns]))))
                for i in range(draw(hs.integers(0, 8)))]
    return ns, existing, draw(pod("incoming"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), hs.integers(0, 2**32))
def test_chosen_node_passes_every_filter(cluster: Any, seed: int) -> None:
    ns, existing, incoming = cluster
    snap = Snapshot.build(ns, existing)
    result = Scheduler(seed=seed).schedule_one(incoming, snap)
    state = CycleState.for_pod(PodInfo.of(incoming), snap)
    pre = prefilter(state)
    if result.node is not None:
        assert pre.status is None
        assert filter_node(state, snap.by_name[result.node]) is None
    else:
        assert result.message.startswith(f"0/{len(ns)} nodes are available")
        if pre.status is None:
            assert all(filter_node(state, n) is not None for n in snap.nodes)
        if result.nominated_node is not None:
            # after evicting the victims the pod fits the nominated node
            node = snap.by_name[result.nominated_node]
            for v in result.victims:
                assert v.priority < state.pod.priority
                node.remove_pod(v)
            state = CycleState.for_pod(PodInfo.of(incoming), snap)
            assert prefilter(state).status is None
            assert filter_node(state, node) is None
