"""Node snapshot: requests (containers, init containers, sidecars, overhead), ports, add/remove."""

from __future__ import annotations

from scheduler_objects import make_node, make_pod

from k3trio.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot, pod_requests


def _c(cpu: str, mem: str, **extra: object) -> dict[str, object]:
    return {"name": "x", "image": "i", "resources": {"requests": {"cpu": cpu, "memory": mem}}, **extra}


def test_requests_sum_containers_and_max_init() -> None:
    pod = {"spec": {"containers": [_c("100m", "1Mi"), _c("200m", "1Mi")],
                    "initContainers": [_c("500m", "1Ki"), _c("50m", "10Mi")]}}
    assert pod_requests(pod) == {"cpu": 500, "memory": 10 * 1024 * 1024}


def test_sidecars_add_to_containers_and_to_later_init_containers() -> None:
    # sidecar 100m runs alongside everything; the regular init 500m runs next to the sidecar
    pod = {"spec": {"containers": [_c("200m", "0")],
                    "initContainers": [_c("100m", "0", restartPolicy="Always"), _c("500m", "0")]}}
    assert pod_requests(pod)["cpu"] == 600
    pod["spec"]["initContainers"] = [_c("100m", "0", restartPolicy="Always")]
    assert pod_requests(pod)["cpu"] == 300


def test_overhead_and_pod_level_resources() -> None:
    pod = {"spec": {"containers": [_c("100m", "1Mi")], "overhead": {"cpu": "10m"},
                    "resources": {"requests": {"memory": "2Mi"}}}}
    assert pod_requests(pod) == {"cpu": 110, "memory": 2 * 1024 * 1024}


def test_non_zero_defaults_for_scoring() -> None:
    pod = {"spec": {"containers": [{"name": "a", "image": "i"}, _c("1", "0")]}}
    assert pod_requests(pod, non_zero=True) == {"cpu": 1100, "memory": 2 * 200 * 1024 * 1024}
    assert pod_requests(pod) == {"cpu": 1000, "memory": 0}


def test_add_and_remove_pod_keep_totals() -> None:
    info = NodeInfo(make_node("n1"))
    p = make_pod("a", cpu="1", memory="1Gi", node="n1",
                 containers=[{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}},
                              "ports": [{"containerPort": 80, "hostPort": 8080}]}])
    info.add_pod(p)
    assert info.requested == {"cpu": 1000}
    assert info.non_zero_requested == {"cpu": 1000, "memory": 200 * 1024 * 1024}
    assert info.used_ports == {("0.0.0.0", "TCP", 8080): 1}
    info.add_pod(p)  # same key replaces
    assert info.requested == {"cpu": 1000} and len(info.pods) == 1
    assert info.remove_pod(p) is not None
    assert info.requested == {"cpu": 0} and info.used_ports == {}
    assert info.remove_pod(p) is None


def test_allocatable_parsing() -> None:
    info = NodeInfo(make_node("n", cpu="3500m", memory="1Gi", pods="10", extra={"example.com/gpu": "2"}))
    assert info.allocatable == {"cpu": 3500, "memory": 1024**3, "pods": 10, "example.com/gpu": 2}


def test_snapshot_skips_finished_and_unassigned_pods_and_records_nominations() -> None:
    done = make_pod("done", node="n1")
    done["status"]["phase"] = "Succeeded"
    nominated = make_pod("nom", priority=10)
    nominated["status"]["nominatedNodeName"] = "n1"
    snap = Snapshot.build([make_node("n1")], [make_pod("run", node="n1"), done, nominated, make_pod("gone", node="x")])
    assert list(snap.by_name["n1"].pods) == ["default/run"]
    assert [p.key for p in snap.nominated["n1"]] == ["default/nom"]


def test_podinfo_parses_affinity_terms_with_default_namespace() -> None:
    pod = make_pod("p", namespace="ns1", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone"}]}})
    pi = PodInfo.of(pod)
    (t,) = pi.required_anti_affinity
    assert t.namespaces == frozenset({"ns1"}) and t.topology_key == "zone"
    assert t.matches("ns1", {"app": "x"}, {}) and not t.matches("ns2", {"app": "x"}, {})


def test_from_infos_takes_the_nominator_mapping_and_spread_selectors() -> None:
    from k3trio.scheduler.nodeinfo import NodeInfo as NI, build_spread_selectors

    nodes = [NI(make_node("n1"))]
    snap = Snapshot.from_infos(nodes, nominated={"n1": [make_pod("nom", priority=5)]})
    assert [p.key for p in snap.nominated["n1"]] == ["default/nom"]
    rc = {"metadata": {"name": "rc", "namespace": "a"}, "spec": {"selector": {"app": "x"}}}
    rs = {"metadata": {"name": "rs", "namespace": "b"}, "spec": {"selector": {"matchLabels": {"app": "y"}}}}
    svc = {"metadata": {"name": "s", "namespace": "c"}, "spec": {"selector": {"app": "z"}}}
    got = build_spread_selectors([svc], [rc, rs])
    assert [(ns, str(sel)) for ns, sel in got] == [("c", "app=z"), ("a", "app=x"), ("b", "app=y")]


def test_affinity_counters_and_clone_independence() -> None:
    info = NodeInfo(make_node("n"))
    anti = make_pod("a", node="n", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "zone"}]}})
    info.add_pod(anti)
    info.add_pod(make_pod("plain", node="n"))
    assert (info.with_affinity, info.with_required_anti_affinity) == (1, 1)
    copy = info.clone()
    copy.remove_pod(anti)
    assert (copy.with_affinity, copy.with_required_anti_affinity) == (0, 0)
    assert (info.with_affinity, len(info.pods)) == (1, 2)
