"""Score plugins with upstream's worked examples, and the weighted total."""

from __future__ import annotations

from typing import Any

from scheduler_objects import make_node, make_pod, taint, term

from k3trio.scheduler import interpodaffinity, scores, topologyspread
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import PodInfo, Snapshot


def run(fn: Any, pod: dict[str, Any], snap: Snapshot) -> list[int] | None:
    state = CycleState.for_pod(PodInfo.of(pod), snap)
    result: list[int] | None = fn(state, snap.nodes)
    return result


def test_least_allocated_differently_sized_nodes() -> None:
    snap = Snapshot.build([make_node("n1", cpu="4", memory="10000"), make_node("n2", cpu="6", memory="10000")])
    pod = make_pod("p", cpu="3", memory="5000")
    assert run(scores.least_allocated, pod, snap) == [37, 50]


def test_least_allocated_counts_existing_pods_with_non_zero_defaults() -> None:
    snap = Snapshot.build([make_node("n1", cpu="1", memory="1000Mi")], [make_pod("x", node="n1")])
    # existing pod counts 100m / 200Mi; the incoming best-effort pod too
    assert run(scores.least_allocated, make_pod("p"), snap) == [(80 + 60) // 2]


def test_balanced_allocation() -> None:
    snap = Snapshot.build([make_node("n1", cpu="4", memory="10000"), make_node("n2", cpu="6", memory="10000")])
    assert run(scores.balanced_allocation, make_pod("p", cpu="3", memory="5000"), snap) == [87, 100]
    assert run(scores.balanced_allocation, make_pod("p"), snap) is None


def test_taint_toleration_prefers_fewest_untolerated_prefer_no_schedule() -> None:
    soft = [taint("a", "PreferNoSchedule"), taint("b", "PreferNoSchedule")]
    snap = Snapshot.build([make_node("n0"), make_node("n1", taints=soft[:1]), make_node("n2", taints=soft),
                           make_node("hard", taints=[taint("c", "NoSchedule")])])
    assert run(scores.taint_toleration, make_pod("p"), snap) == [100, 50, 0, 100]
    tolerant = make_pod("p", tolerations=[{"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert run(scores.taint_toleration, tolerant, snap) == [100, 100, 0, 100]


def test_node_affinity_preferred_weights() -> None:
    nodes = [make_node("a", labels={"zone": "a"}), make_node("s", labels={"disk": "ssd"}),
             make_node("both", labels={"zone": "a", "disk": "ssd"}), make_node("none")]
    pod = make_pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 2, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 8, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}},
    ]}})
    assert run(scores.node_affinity, pod, Snapshot.build(nodes)) == [20, 80, 100, 0]
    assert run(scores.node_affinity, make_pod("p"), Snapshot.build(nodes)) is None


def test_image_locality() -> None:
    mb = 1024 * 1024
    nodes = [make_node("has", images=[(["docker.io/library/nginx:1.27", "nginx:1.27"], 250 * mb)]), make_node("no")]
    pod = make_pod("p", image="nginx:1.27")
    # 250MB * (1 of 2 nodes) = 125MB; (125 - 23) * 100 / (1000 - 23)
    assert run(scores.image_locality, pod, Snapshot.build(nodes)) == [10, 0]
    assert scores.normalized_image_name("nginx") == "nginx:latest"
    assert scores.normalized_image_name("reg:5000/app") == "reg:5000/app:latest"
    assert scores.normalized_image_name("app@sha256:abc") == "app@sha256:abc"


ZONE = "topology.kubernetes.io/zone"


def test_inter_pod_affinity_preferred_and_symmetric() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"})]
    web = make_pod("web", labels={"app": "web"}, node="a1")
    snap = Snapshot.build(nodes, [web])
    pod = make_pod("p", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "podAffinityTerm": term(ZONE, {"app": "web"})}]}})
    assert run(interpodaffinity.score_nodes, pod, snap) == [100, 100, 0]
    anti = make_pod("p", affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "podAffinityTerm": term(ZONE, {"app": "web"})}]}})
    assert run(interpodaffinity.score_nodes, anti, snap) == [0, 0, 100]
    # no constraints and no existing pod with affinity: skipped
    assert run(interpodaffinity.score_nodes, make_pod("q"), snap) is None
    # an existing pod's preferred affinity towards the incoming pod counts too
    lover = make_pod("lover", node="b1", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term(ZONE, {"app": "db"})}]}})
    snap = Snapshot.build(nodes, [lover])
    assert run(interpodaffinity.score_nodes, make_pod("db", labels={"app": "db"}), snap) == [0, 0, 100]


def test_default_topology_spreading_for_service_pods() -> None:
    nodes = [make_node("n1"), make_node("n2"), make_node("n3")]
    pods = [make_pod("w1", labels={"app": "web"}, node="n1"), make_pod("w2", labels={"app": "web"}, node="n1"),
            make_pod("w3", labels={"app": "web"}, node="n2")]
    svc = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": {"app": "web"}}}
    snap = Snapshot.build(nodes, pods, services=[svc])
    pod = make_pod("p", labels={"app": "web"})
    assert run(topologyspread.score_nodes, pod, snap) == [40, 60, 100]
    assert run(topologyspread.score_nodes, make_pod("p", labels={"app": "other"}), snap) is None


def test_schedule_anyway_constraint_scoring_ignores_nodes_without_the_key() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"}), make_node("bare")]
    pods = [make_pod("w1", labels={"app": "web"}, node="a1")]
    pod = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[{
        "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}}}])
    assert run(topologyspread.score_nodes, pod, Snapshot.build(nodes, pods)) == [0, 100, 0]


def test_two_constraints_on_one_key_count_separately() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"})]
    pods = [make_pod("w1", labels={"app": "web"}, node="a1"), make_pod("w2", labels={"app": "web"}, node="a1"),
            make_pod("d1", labels={"tier": "db"}, node="b1")]

    def soft(labels: dict[str, str]) -> dict[str, Any]:
        return {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels}}

    pod = make_pod("p", labels={"app": "web", "tier": "db"}, topologySpreadConstraints=[soft({"app": "web"}), soft({"tier": "db"})])
    # a: 2 web + 0 db; b: 0 web + 1 db; weight log(4): a=round(2.77)=3, b=round(1.39)=1
    assert run(topologyspread.score_nodes, pod, Snapshot.build(nodes, pods)) == [100 * (3 + 1 - 3) // 3, 100 * (3 + 1 - 1) // 3]
