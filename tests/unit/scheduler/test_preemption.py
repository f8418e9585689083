"""DefaultPreemption: eligibility, victim selection and the choice of node."""

from __future__ import annotations

from typing import Any

from scheduler_objects import make_node, make_pod

from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.framework import Scheduler
from k3trio.scheduler.nodeinfo import PodInfo, Snapshot
from k3trio.scheduler.pipeline import prefilter
from k3trio.scheduler.preemption import Candidate, pick_candidate, select_victims_on_node


def victims_of(result: Any) -> list[str]:
    return sorted(v.name for v in result.victims)


def test_reprieves_the_more_important_pod() -> None:
    nodes = [make_node("n", cpu="2")]
    pods = [make_pod("low", cpu="1", priority=0, node="n"), make_pod("mid", cpu="1", priority=5, node="n")]
    result = Scheduler().schedule_one(make_pod("high", cpu="1", priority=10), Snapshot.build(nodes, pods))
    assert result.node is None and result.nominated_node == "n"
    assert victims_of(result) == ["low"]
    assert result.message == "0/1 nodes are available: 1 Insufficient cpu."


def test_never_evicts_equal_or_higher_priority() -> None:
    nodes = [make_node("n", cpu="1")]
    pods = [make_pod("peer", cpu="1", priority=10, node="n")]
    result = Scheduler().schedule_one(make_pod("p", cpu="1", priority=10), Snapshot.build(nodes, pods))
    assert result.nominated_node is None
    assert result.message.endswith("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")


def test_removing_all_lower_pods_not_enough_reports_the_filter_reason() -> None:
    nodes = [make_node("n", cpu="2")]
    pods = [make_pod("low", cpu="500m", priority=0, node="n"), make_pod("top", cpu="1", priority=100, node="n")]
    result = Scheduler().schedule_one(make_pod("p", cpu="1500m", priority=10), Snapshot.build(nodes, pods))
    assert result.nominated_node is None
    assert result.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                              "preemption: 0/1 nodes are available: 1 Insufficient cpu.")


def test_prefers_node_whose_highest_victim_priority_is_lowest() -> None:
    nodes = [make_node("a", cpu="1"), make_node("b", cpu="1")]
    pods = [make_pod("va", cpu="1", priority=5, node="a"), make_pod("vb", cpu="1", priority=1, node="b")]
    result = Scheduler().schedule_one(make_pod("p", cpu="1", priority=10), Snapshot.build(nodes, pods))
    assert result.nominated_node == "b" and victims_of(result) == ["vb"]


def test_prefers_fewer_pdb_violations() -> None:
    nodes = [make_node("a", cpu="1"), make_node("b", cpu="1")]
    pods = [make_pod("va", cpu="1", priority=1, node="a", labels={"app": "guarded"}),
            make_pod("vb", cpu="1", priority=5, node="b")]
    pdb = {"metadata": {"name": "g", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "guarded"}}}, "status": {"disruptionsAllowed": 0}}
    snap = Snapshot.build(nodes, pods, pdbs=[pdb])
    result = Scheduler().schedule_one(make_pod("p", cpu="1", priority=10), snap)
    assert result.nominated_node == "b"
    state = CycleState.for_pod(PodInfo.of(make_pod("p", cpu="1", priority=10)), snap)
    assert prefilter(state).status is None
    found = select_victims_on_node(state, snap.by_name["a"], [pdb])
    assert not isinstance(found, st.Status)
    assert [v.name for v in found[0]] == ["va"] and found[1] == 1


def test_prefers_fewer_victims_then_latest_start() -> None:
    nodes = [make_node("a", cpu="2"), make_node("b", cpu="2")]
    pods = [make_pod("a1", cpu="1", priority=1, node="a"), make_pod("a2", cpu="1", priority=1, node="a"),
            make_pod("b1", cpu="2", priority=1, node="b")]
    result = Scheduler().schedule_one(make_pod("p", cpu="2", priority=10), Snapshot.build(nodes, pods))
    assert result.nominated_node == "b"

    def cand(node: str, start: str) -> Candidate:
        return Candidate(node, [PodInfo.of(make_pod(f"v-{node}", priority=1, start=start))], 0)

    chosen = pick_candidate([cand("old", "2026-01-01T00:00:00Z"), cand("new", "2026-06-01T00:00:00Z")])
    assert chosen.node == "new"


def test_unresolvable_nodes_are_not_tried() -> None:
    nodes = [make_node("a", cpu="1", taints=[{"key": "k", "effect": "NoSchedule"}]), make_node("b", cpu="1")]
    pods = [make_pod("va", cpu="1", priority=0, node="a"), make_pod("vb", cpu="1", priority=0, node="b")]
    result = Scheduler().schedule_one(make_pod("p", cpu="1", priority=10), Snapshot.build(nodes, pods))
    assert result.nominated_node == "b" and victims_of(result) == ["vb"]


def test_anti_affinity_victim_is_removed() -> None:
    zone = "topology.kubernetes.io/zone"
    nodes = [make_node("a", labels={zone: "a"})]
    pods = [make_pod("old", labels={"app": "x"}, priority=0, node="a")]
    pod = make_pod("p", priority=10, affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": zone}]}})
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes, pods))
    assert result.nominated_node == "a" and victims_of(result) == ["old"]
    assert result.message == "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules."


def test_terminating_victim_on_nominated_node_blocks_new_preemption() -> None:
    nodes = [make_node("n", cpu="1")]
    dying = make_pod("dying", cpu="1", priority=0, node="n")
    dying["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    dying["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]
    pod = make_pod("p", cpu="1", priority=10)
    pod["status"]["nominatedNodeName"] = "n"
    result = Scheduler().schedule_one(pod, Snapshot.build(nodes, [dying]))
    assert result.node is None and result.nominated_node is None
    assert result.message.endswith("not eligible due to a terminating pod on the nominated node.")
