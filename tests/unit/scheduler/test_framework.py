"""schedule_one end to end, the FailedScheduling message, select_host and the Binding."""

from __future__ import annotations

import random
from collections import Counter

from scheduler_objects import make_node, make_pod, taint

from k3trio.scheduler import status as st
from k3trio.scheduler.framework import (
    Scheduler,
    binding_for,
    fit_error_message,
    num_feasible_nodes_to_find,
    select_host,
)
from k3trio.scheduler.nodeinfo import Snapshot
from k3trio.scheduler.status import Status

CP = taint("node-role.kubernetes.io/control-plane")


def test_message_for_taint_and_selector() -> None:
    nodes = [make_node("cp", taints=[CP]), make_node("w1"), make_node("w2")]
    result = Scheduler(seed=0).schedule_one(make_pod("p", nodeSelector={"disk": "ssd"}), Snapshot.build(nodes))
    assert result.node is None
    assert result.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node "
        "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    assert result.unschedulable_plugins == {"TaintToleration", "NodeAffinity"}


def test_message_counts_each_resource_reason_and_preemption_without_victims() -> None:
    nodes = [make_node("a", cpu="1", memory="1Gi"), make_node("b", cpu="1", memory="1Gi")]
    busy = [make_pod("x", cpu="900m", memory="900Mi", node="a"), make_pod("y", cpu="900m", node="b")]
    result = Scheduler().schedule_one(make_pod("p", cpu="500m", memory="500Mi"), Snapshot.build(nodes, busy))
    assert result.message == (
        "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are "
        "available: 2 No preemption victims found for incoming pod."
    )


def test_message_for_preemption_policy_never_and_prefilter() -> None:
    nodes = [make_node("a", cpu="1")]
    busy = [make_pod("x", cpu="1", node="a", priority=0)]
    pod = make_pod("p", cpu="500m", priority=10, preemptionPolicy="Never")
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes, busy))
    assert result.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                              "not eligible due to preemptionPolicy=Never.")
    assert result.nominated_node is None
    pod = make_pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "gone"}}])
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes * 1 + [make_node("b")]))
    assert result.message == ('0/2 nodes are available: persistentvolumeclaim "gone" not found. preemption: '
                              "0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


def test_message_for_node_name_pinned_by_match_fields() -> None:
    nodes = [make_node("a", cpu="1"), make_node("b"), make_node("c")]
    busy = [make_pod("x", cpu="1", node="a")]
    pod = make_pod("ds", cpu="100m", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}})
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes, busy))
    assert result.message.startswith(
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. ")
    assert result.evaluated == 1


def test_fit_error_message_sorting_is_by_string() -> None:
    statuses = {f"n{i}": Status(st.UNSCHEDULABLE, ("Insufficient cpu",)) for i in range(10)}
    statuses["x"] = Status(st.UNRESOLVABLE, (st.REASON_TAINT,))
    # "10 Insufficient cpu" sorts before "1 node(s)..." as Go's sort.Strings does
    assert fit_error_message(11, statuses) == (
        "0/11 nodes are available: 1 node(s) had untolerated taint(s), 10 Insufficient cpu.")
    assert fit_error_message(0, {}) == "0/0 nodes are available:"


def test_single_feasible_node_skips_scoring_and_scores_pick_least_allocated() -> None:
    nodes = [make_node("a"), make_node("b"), make_node("cp", taints=[CP])]
    busy = [make_pod("x", cpu="3", memory="6Gi", node="a")]
    sched = Scheduler(seed=1)
    result = sched.schedule_one(make_pod("p", cpu="100m", memory="100Mi"), Snapshot.build(nodes, busy))
    assert result.node == "b" and result.feasible == 2
    assert result.scores["b"] > result.scores["a"]
    result = sched.schedule_one(make_pod("p", nodeName="a"), Snapshot.build(nodes, busy))
    assert result.node == "a" and result.feasible == 1 and not result.scores


def test_nominated_node_is_tried_first() -> None:
    nodes = [make_node("a"), make_node("b", cpu="64")]
    pod = make_pod("p", cpu="1")
    pod["status"]["nominatedNodeName"] = "a"
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes))
    assert result.node == "a" and result.evaluated == 1


def test_select_host_breaks_ties_uniformly_and_reproducibly() -> None:
    scored = [("a", 10), ("b", 30), ("c", 30), ("d", 30), ("e", 5)]
    picks = Counter(select_host(scored, random.Random(i)) for i in range(3000))
    assert set(picks) == {"b", "c", "d"}
    assert all(800 < n < 1200 for n in picks.values())
    assert select_host(scored, random.Random(7)) == select_host(scored, random.Random(7))


def test_round_robin_start_and_feasible_count() -> None:
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(1000) == 420
    assert num_feasible_nodes_to_find(6000) == 300
    assert num_feasible_nodes_to_find(200, percentage=10) == 100
    nodes = [make_node(f"n{i}") for i in range(5)]
    sched = Scheduler(seed=0)
    sched.schedule_one(make_pod("p"), Snapshot.build(nodes))
    assert sched.next_start == 0  # all 5 examined: wraps around


def test_binding_object() -> None:
    pod = make_pod("web-0", namespace="shop")
    assert binding_for(pod, "n1") == {
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "uid-web-0"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"},
    }


def test_assume_then_schedule_sees_the_assumed_pod() -> None:
    nodes = [make_node("a", cpu="1"), make_node("b", cpu="1")]
    snap = Snapshot.build(nodes)
    sched = Scheduler(seed=3)
    placed = []
    for i in range(2):
        pod = make_pod(f"p{i}", cpu="600m")
        result = sched.schedule_one(pod, snap)
        assert result.node is not None
        pod["spec"]["nodeName"] = result.node
        snap.by_name[result.node].add_pod(pod)
        placed.append(result.node)
    assert sorted(placed) == ["a", "b"]
    result = sched.schedule_one(make_pod("p3", cpu="600m"), snap)
    assert result.node is None
