"""Filter plugins, table-driven, with upstream's reasons and codes."""

from __future__ import annotations

from typing import Any

import pytest
from scheduler_objects import make_node, make_pod, taint, term

from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import PodInfo, Snapshot
from k3trio.scheduler.pipeline import filter_node, prefilter
from k3trio.scheduler.status import Status


def check(pod: dict[str, Any], node_name: str, snap: Snapshot) -> Status | None:
    state = CycleState.for_pod(PodInfo.of(pod), snap)
    pre = prefilter(state)
    if pre.status is not None:
        return pre.status
    return filter_node(state, snap.by_name[node_name])


def one(pod: dict[str, Any], node: dict[str, Any], pods: list[dict[str, Any]] = ()) -> Status | None:  # type: ignore[assignment]
    snap = Snapshot.build([node], pods)
    return check(pod, node["metadata"]["name"], snap)


CONTROL_PLANE = taint("node-role.kubernetes.io/control-plane")


@pytest.mark.parametrize(
    ("pod", "node", "want"),
    [
        (make_pod("p"), make_node("n", unschedulable=True), (st.UNRESOLVABLE, st.REASON_UNSCHEDULABLE)),
        (make_pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                     "effect": "NoSchedule"}]), make_node("n", unschedulable=True), None),
        (make_pod("p", tolerations=[{"operator": "Exists"}]), make_node("n", unschedulable=True), None),
        (make_pod("p", nodeName="other"), make_node("n"), (st.UNRESOLVABLE, st.REASON_NODE_NAME)),
        (make_pod("p", nodeName="n"), make_node("n"), None),
        (make_pod("p"), make_node("n", taints=[CONTROL_PLANE]), (st.UNRESOLVABLE, st.REASON_TAINT)),
        (make_pod("p"), make_node("n", taints=[taint("k", "PreferNoSchedule")]), None),
        (make_pod("p"), make_node("n", taints=[taint("k", "NoExecute", "v")]), (st.UNRESOLVABLE, st.REASON_TAINT)),
        (make_pod("p", tolerations=[{"key": "k", "value": "v", "effect": "NoExecute"}]),
         make_node("n", taints=[taint("k", "NoExecute", "v")]), None),
        (make_pod("p", tolerations=[{"key": "k", "value": "other"}]),
         make_node("n", taints=[taint("k", "NoSchedule", "v")]), (st.UNRESOLVABLE, st.REASON_TAINT)),
        (make_pod("p", tolerations=[{"key": "k", "operator": "Exists"}]),
         make_node("n", taints=[taint("k", "NoSchedule", "v")]), None),
        (make_pod("p", nodeSelector={"disk": "ssd"}), make_node("n"), (st.UNRESOLVABLE, st.REASON_NODE_AFFINITY)),
        (make_pod("p", nodeSelector={"disk": "ssd"}), make_node("n", labels={"disk": "ssd"}), None),
    ],
)
def test_node_local_filters(pod: dict[str, Any], node: dict[str, Any], want: tuple[str, str] | None) -> None:
    got = one(pod, node)
    assert (None if got is None else (got.code, got.message)) == want


def _affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


@pytest.mark.parametrize(
    ("terms", "labels", "fits"),
    [
        ([_expr("zone", "In", "a", "b")], {"zone": "b"}, True),
        ([_expr("zone", "In", "a")], {"zone": "b"}, False),
        ([_expr("zone", "NotIn", "a")], {}, True),
        ([_expr("zone", "Exists")], {"zone": ""}, True),
        ([_expr("zone", "DoesNotExist")], {"zone": "a"}, False),
        ([_expr("cores", "Gt", "4")], {"cores": "8"}, True),
        ([_expr("cores", "Gt", "4")], {"cores": "4"}, False),
        ([_expr("cores", "Lt", "4")], {"cores": "x"}, False),
        ([_expr("zone", "In", "a"), _expr("zone", "In", "b")], {"zone": "b"}, True),  # terms are ORed
        ([{}], {"zone": "a"}, False),  # an empty term matches nothing
        ([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n"]}]}], {}, False),
        ([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["m"]}]}], {}, True),
    ],
)
def test_required_node_affinity(terms: list[dict[str, Any]], labels: dict[str, str], fits: bool) -> None:
    got = one(make_pod("p", affinity=_affinity(*terms)), make_node("n", labels=labels))
    assert (got is None) == fits
    if got is not None:
        assert got.reasons == (st.REASON_NODE_AFFINITY,)


def test_node_ports() -> None:
    def with_port(name: str, port: int, ip: str | None = None, proto: str | None = None, node: str | None = None) -> dict[str, Any]:
        p: dict[str, Any] = {"containerPort": 80, "hostPort": port}
        if ip:
            p["hostIP"] = ip
        if proto:
            p["protocol"] = proto
        return make_pod(name, node=node, containers=[{"name": "c", "image": "i", "ports": [p]}])

    node = make_node("n")
    existing = [with_port("e", 8080, ip="10.0.0.1", node="n")]
    assert one(with_port("p", 8080), node, existing) == st.unschedulable("NodePorts", st.REASON_NODE_PORTS)
    assert one(with_port("p", 8080, ip="10.0.0.2"), node, existing) is None
    assert one(with_port("p", 8080, proto="UDP"), node, existing) is None
    assert one(with_port("p", 8081), node, existing) is None


def test_resources_fit_reports_every_shortfall() -> None:
    node = make_node("n", cpu="2", memory="1Gi", pods="2", extra={"example.com/gpu": "1"})
    existing = [make_pod("a", cpu="1500m", memory="512Mi", node="n")]
    got = one(make_pod("p", cpu="1", memory="600Mi"), node, existing)
    assert got == Status(st.UNSCHEDULABLE, ("Insufficient cpu", "Insufficient memory"), "NodeResourcesFit")
    pod = make_pod("p", containers=[{"name": "c", "image": "i",
                                      "resources": {"requests": {"example.com/gpu": "2"}}}])
    got = one(pod, node, existing)
    assert got is not None and got.reasons == ("Insufficient example.com/gpu",) and got.code == st.UNRESOLVABLE
    full = [make_pod("a", node="n"), make_pod("b", node="n")]
    assert one(make_pod("p"), node, full) == st.unschedulable("NodeResourcesFit", "Too many pods")
    assert one(make_pod("p", cpu="500m"), node, existing) is None


def test_resources_fit_more_than_allocatable_is_unresolvable() -> None:
    got = one(make_pod("p", cpu="8"), make_node("n", cpu="4"))
    assert got is not None and got.code == st.UNRESOLVABLE and got.reasons == ("Insufficient cpu",)


# -- inter-pod affinity --------------------------------------------------------------------------

ZONE = "topology.kubernetes.io/zone"


def _zones() -> list[dict[str, Any]]:
    return [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"})]


def test_pod_affinity_required() -> None:
    web = make_pod("web", labels={"app": "web"}, node="a1")
    pod = make_pod("p", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        term(ZONE, {"app": "web"})]}})
    snap = Snapshot.build(_zones(), [web])
    assert check(pod, "a2", snap) is None
    assert check(pod, "b1", snap) == st.unresolvable("InterPodAffinity", st.REASON_POD_AFFINITY)


def test_pod_affinity_first_of_a_series_may_go_anywhere_it_matches_itself() -> None:
    pod = make_pod("p", labels={"app": "db"}, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, {"app": "db"})]}})
    snap = Snapshot.build(_zones() + [make_node("nolabel")], [])
    assert check(pod, "b1", snap) is None
    assert check(pod, "nolabel", snap) == st.unresolvable("InterPodAffinity", st.REASON_POD_AFFINITY)
    other = make_pod("p2", labels={"app": "other"}, affinity=pod["spec"]["affinity"])
    assert check(other, "b1", snap) == st.unresolvable("InterPodAffinity", st.REASON_POD_AFFINITY)


def test_pod_anti_affinity_both_directions() -> None:
    web = make_pod("web", labels={"app": "web"}, node="a1")
    pod = make_pod("p", labels={"app": "web"}, affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, {"app": "web"})]}})
    snap = Snapshot.build(_zones(), [web])
    assert check(pod, "a2", snap) == st.unschedulable("InterPodAffinity", st.REASON_POD_ANTI_AFFINITY)
    assert check(pod, "b1", snap) is None
    # the existing pod's anti-affinity repels the newcomer too
    guard = make_pod("guard", labels={"app": "guard"}, node="b1", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, {"app": "web"})]}})
    snap = Snapshot.build(_zones(), [guard])
    plain = make_pod("q", labels={"app": "web"})
    assert check(plain, "b1", snap) == st.unschedulable("InterPodAffinity", st.REASON_EXISTING_ANTI_AFFINITY)
    assert check(plain, "a1", snap) is None


def test_affinity_namespaces_and_namespace_selector() -> None:
    web = make_pod("web", namespace="prod", labels={"app": "web"}, node="a1")
    nss = [{"metadata": {"name": "prod", "labels": {"env": "prod"}}}, {"metadata": {"name": "default"}}]
    same_ns = make_pod("p", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        term(ZONE, {"app": "web"})]}})
    snap = Snapshot.build(_zones(), [web], namespaces=nss)
    assert check(same_ns, "a2", snap) is None  # default namespace only: prod's pod does not count
    listed = make_pod("p", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        term(ZONE, {"app": "web"}, namespaces=["prod"])]}})
    assert check(listed, "a2", snap) is not None
    by_selector = make_pod("p", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        term(ZONE, {"app": "web"}, namespaceSelector={"matchLabels": {"env": "prod"}})]}})
    assert check(by_selector, "a2", snap) is not None
    everywhere = make_pod("p", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        term(ZONE, {"app": "web"}, namespaceSelector={})]}})
    assert check(everywhere, "a2", snap) is not None
    assert check(everywhere, "b1", snap) is None


# -- topology spread -----------------------------------------------------------------------------

def _spread(max_skew: int = 1, key: str = ZONE, **extra: Any) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}, **extra}


def test_topology_spread_skew() -> None:
    pods = [make_pod("w1", labels={"app": "web"}, node="a1"), make_pod("w2", labels={"app": "web"}, node="a2")]
    snap = Snapshot.build(_zones(), pods)
    pod = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread()])
    # zone a has 2, zone b 0: a -> 2+1-0 = 3 > 1
    assert check(pod, "a1", snap) == st.unschedulable("PodTopologySpread", st.REASON_SPREAD)
    assert check(pod, "b1", snap) is None
    assert check(make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread(3)]), "a1", snap) is None


def test_topology_spread_missing_label_and_min_domains() -> None:
    nodes = _zones() + [make_node("bare")]
    snap = Snapshot.build(nodes, [make_pod("w1", labels={"app": "web"}, node="b1")])
    pod = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread()])
    assert check(pod, "bare", snap) == st.unresolvable("PodTopologySpread", st.REASON_SPREAD_LABEL)
    # zone b has 1, zone a 0: b -> 1+1-0 = 2 > 1
    assert check(pod, "b1", snap) is not None
    # minDomains 3 > 2 domains: the global minimum is 0 -> same result for b; a: 0+1-0 ok
    pod = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread(minDomains=3, maxSkew=1)])
    assert check(pod, "a1", snap) is None and check(pod, "b1", snap) is not None


def test_topology_spread_node_affinity_policy() -> None:
    # zone c exists only on a node the pod's selector excludes: with Honor it is not a domain
    nodes = _zones() + [make_node("c1", labels={ZONE: "c", "tier": "x"})]
    pods = [make_pod("w1", labels={"app": "web"}, node="a1"), make_pod("w2", labels={"app": "web"}, node="b1")]
    snap = Snapshot.build(nodes, pods)
    sel = {"nodeSelector": {"kubernetes.io/os": "linux"}}
    for n in nodes[:3]:
        n["metadata"]["labels"]["kubernetes.io/os"] = "linux"
    snap = Snapshot.build(nodes, pods)
    honor = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread()], **sel)
    assert check(honor, "a2", snap) is None  # min over {a:1, b:1} is 1
    ignore = make_pod("p", labels={"app": "web"}, topologySpreadConstraints=[_spread(nodeAffinityPolicy="Ignore")], **sel)
    assert check(ignore, "a2", snap) == st.unschedulable("PodTopologySpread", st.REASON_SPREAD)  # min is c:0


def test_topology_spread_match_label_keys() -> None:
    pods = [make_pod("old", labels={"app": "web", "rev": "1"}, node="a1"),
            make_pod("old2", labels={"app": "web", "rev": "1"}, node="a2")]
    snap = Snapshot.build(_zones(), pods)
    pod = make_pod("p", labels={"app": "web", "rev": "2"}, topologySpreadConstraints=[_spread(matchLabelKeys=["rev"])])
    assert check(pod, "a1", snap) is None  # old revision pods do not count


# -- volumes -------------------------------------------------------------------------------------

def test_volume_binding_bound_pv_node_affinity_and_missing_claims() -> None:
    pv = {"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, "nodeAffinity": {"required": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["a"]}]}]}}}}
    pvc = {"metadata": {"name": "data", "namespace": "default"}, "spec": {"volumeName": "pv1"}}
    pod = make_pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}])
    snap = Snapshot.build(_zones(), [], pvcs=[pvc], pvs=[pv])
    assert check(pod, "a1", snap) is None
    assert check(pod, "b1", snap) == Status(st.UNRESOLVABLE, (st.REASON_VOLUME_NODE_CONFLICT,), "VolumeBinding")
    snap = Snapshot.build(_zones(), [], pvcs=[pvc])
    assert check(pod, "a1", snap) == st.unresolvable("VolumeBinding", st.REASON_PV_NOT_EXIST)
    snap = Snapshot.build(_zones(), [])
    assert check(pod, "a1", snap) == st.unresolvable("VolumeBinding", 'persistentvolumeclaim "data" not found')
    unbound = {"metadata": {"name": "data", "namespace": "default"}, "spec": {"storageClassName": "fast"}}
    snap = Snapshot.build(_zones(), [], pvcs=[unbound])
    assert check(pod, "a1", snap) == st.unresolvable("VolumeBinding", st.REASON_UNBOUND_IMMEDIATE_PVC)


def test_volume_binding_wait_for_first_consumer() -> None:
    sc = {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
          "volumeBindingMode": "WaitForFirstConsumer"}
    pvc = {"metadata": {"name": "data", "namespace": "default"},
           "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}
    pv = {"metadata": {"name": "pv-a"}, "status": {"phase": "Available"},
          "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"},
                   "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                       {"key": "kubernetes.io/hostname", "operator": "In", "values": ["a1"]}]}]}}}}
    pod = make_pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}])
    snap = Snapshot.build(_zones(), [], pvcs=[pvc], pvs=[pv], storage_classes=[sc])
    assert check(pod, "a1", snap) is None
    assert check(pod, "a2", snap) == Status(st.UNRESOLVABLE, (st.REASON_VOLUME_BIND_CONFLICT,), "VolumeBinding")
    dynamic = dict(sc, provisioner="rancher.io/local-path")
    snap = Snapshot.build(_zones(), [], pvcs=[pvc], storage_classes=[dynamic])
    assert check(pod, "a2", snap) is None


def test_nominated_pods_with_higher_priority_hold_their_room() -> None:
    nom = make_pod("nom", cpu="3", priority=100)
    nom["status"]["nominatedNodeName"] = "n"
    snap = Snapshot.build([make_node("n", cpu="4")], [nom])
    assert check(make_pod("low", cpu="2", priority=1), "n", snap) == st.unschedulable(
        "NodeResourcesFit", "Insufficient cpu")
    assert check(make_pod("high", cpu="2", priority=1000), "n", snap) is None
