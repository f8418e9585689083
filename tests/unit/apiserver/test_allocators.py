"""ServiceAllocator: cluster IPs and node ports with upstream errors."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.unit.apiserver._admission_objects import MemoryObjects
from k3trio.api.errors import APIError, InternalError, Invalid
from k3trio.apiserver.allocators import ServiceAllocator


def svc(name: str, stype: str = "ClusterIP", ns: str = "default", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": stype, "ports": [{"port": 80, "protocol": "TCP"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": body}


def alloc(cidr: str = "10.43.0.0/16", ports: tuple[int, int] = (30000, 32767)) -> ServiceAllocator:
    return ServiceAllocator(cidr, ports, MemoryObjects(), rng=random.Random(7))


def test_cluster_ip_allocated_in_range_not_first() -> None:
    a = alloc("10.43.0.0/29")
    seen = set()
    for i in range(5):
        s = svc(f"s{i}")
        a.allocate(s).commit()
        ip = s["spec"]["clusterIP"]
        assert s["spec"]["clusterIPs"] == [ip]
        assert s["spec"]["ipFamilies"] == ["IPv4"] and s["spec"]["ipFamilyPolicy"] == "SingleStack"
        seen.add(ip)
    assert seen == {"10.43.0.2", "10.43.0.3", "10.43.0.4", "10.43.0.5", "10.43.0.6"}
    with pytest.raises(InternalError) as exc:
        a.allocate(svc("full"))
    assert exc.value.message == "Internal error occurred: failed to allocate a serviceIP: range is full"
    assert exc.value.code == 500


def test_range_full_after_kubernetes_takes_first() -> None:
    a = alloc("10.96.0.0/28")
    a.allocate(svc("kubernetes", clusterIP="10.96.0.1")).commit()
    for i in range(13):
        a.allocate(svc(f"t{i}")).commit()
    with pytest.raises(InternalError):
        a.allocate(svc("t13"))


def test_requested_ip_taken_and_out_of_range() -> None:
    a = alloc()
    a.allocate(svc("a", clusterIP="10.43.0.10")).commit()
    with pytest.raises(Invalid) as exc:
        a.allocate(svc("b", clusterIP="10.43.0.10"))
    assert exc.value.message == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.0.10"}: '
        "failed to allocate IP 10.43.0.10: provided IP is already allocated"
    )
    with pytest.raises(Invalid) as exc:
        a.allocate(svc("c", clusterIP="1.1.1.1"))
    assert exc.value.message == (
        'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to '
        "allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. "
        "The range of valid IPs is 10.43.0.0/16"
    )
    # The same service asking again (a retried create) is fine.
    a.allocate(svc("a", clusterIP="10.43.0.10")).commit()


def test_headless_and_external_name() -> None:
    a = alloc()
    h = svc("h", clusterIP="None")
    a.allocate(h).commit()
    assert h["spec"]["clusterIPs"] == ["None"] and a.used_ips() == 0
    e = {"metadata": {"name": "e", "namespace": "default"}, "spec": {"type": "ExternalName", "externalName": "x.example"}}
    a.allocate(e).commit()
    assert "clusterIP" not in e["spec"]


def test_node_ports_requested_dynamic_and_conflict() -> None:
    a = alloc()
    s = svc("np", "NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 443, "protocol": "TCP"}])
    a.allocate(s).commit()
    p0, p1 = (p["nodePort"] for p in s["spec"]["ports"])
    assert p0 == 30080 and 30000 <= p1 <= 32767 and p1 != p0
    other = svc("np2", "NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    with pytest.raises(Invalid) as exc:
        a.allocate(other)
    assert exc.value.message == (
        'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated'
    )
    # The failed call reserved nothing (its cluster IP was given back).
    assert a.used_ips() == 1
    bad = svc("np3", "NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 80}])
    with pytest.raises(Invalid) as exc:
        a.allocate(bad)
    assert exc.value.message.endswith(
        "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
    )


def test_same_port_two_protocols_share_node_port() -> None:
    a = alloc()
    s = svc("dns", "NodePort", ports=[{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}])
    a.allocate(s).commit()
    assert s["spec"]["ports"][0]["nodePort"] == s["spec"]["ports"][1]["nodePort"]
    assert a.used_ports() == 1


def test_node_port_range_full() -> None:
    a = alloc(ports=(30000, 30001))
    a.allocate(svc("a", "NodePort", ports=[{"port": 1}, {"port": 2}])).commit()
    with pytest.raises(InternalError) as exc:
        a.allocate(svc("b", "NodePort"))
    assert exc.value.message == "Internal error occurred: failed to allocate a nodePort: range is full"


def test_update_keeps_values_and_releases_on_type_change() -> None:
    a = alloc()
    old = svc("s", "NodePort")
    a.allocate(old).commit()
    ip, np = old["spec"]["clusterIP"], old["spec"]["ports"][0]["nodePort"]
    # An update that omits the allocated values (kubectl replace) keeps them.
    new = svc("s", "NodePort")
    a.allocate(new, old).commit()
    assert new["spec"]["clusterIP"] == ip and new["spec"]["ports"][0]["nodePort"] == np
    # NodePort -> ClusterIP: the node port is dropped and released on commit only.
    back = svc("s", "ClusterIP", ports=[{"port": 80, "protocol": "TCP", "nodePort": np}], clusterIP=ip)
    txn = a.allocate(back, new)
    assert "nodePort" not in back["spec"]["ports"][0]
    assert a.port_owner(np) == "default/s"
    txn.commit()
    assert a.port_owner(np) is None
    # ClusterIP -> ExternalName releases the IP.
    ext = {"metadata": {"name": "s", "namespace": "default"}, "spec": {"type": "ExternalName", "externalName": "x", "clusterIP": ip, "clusterIPs": [ip]}}
    a.allocate(ext, back).commit()
    assert "clusterIP" not in ext["spec"] and a.ip_owner(ip) is None


def test_revert_and_release_idempotent() -> None:
    a = alloc()
    s = svc("s", "LoadBalancer", externalTrafficPolicy="Local")
    txn = a.allocate(s)
    assert s["spec"]["healthCheckNodePort"] and a.used_ports() == 2 and a.used_ips() == 1
    txn.revert()
    txn.revert()
    assert a.used_ports() == 0 and a.used_ips() == 0
    a.allocate(s).commit()
    a.release(s)
    a.release(s)
    assert a.used_ports() == 0 and a.used_ips() == 0


def test_lb_without_node_ports_and_hc_conflict() -> None:
    a = alloc()
    s = svc("lb", "LoadBalancer", allocateLoadBalancerNodePorts=False)
    a.allocate(s).commit()
    assert "nodePort" not in s["spec"]["ports"][0]
    t = svc("lb2", "LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=31000)
    a.allocate(t).commit()
    u = svc("lb3", "LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=31000)
    with pytest.raises(APIError) as exc:
        a.allocate(u)
    assert exc.value.code == 500
    assert exc.value.message == "failed to allocate requested HealthCheck NodePort 31000: provided port is already allocated"


def test_dry_run_reserves_nothing() -> None:
    a = alloc()
    s = svc("s", "NodePort", ports=[{"port": 1}, {"port": 2}])
    a.allocate(s, dry_run=True).commit()
    assert s["spec"]["clusterIP"].startswith("10.43.")
    p = [x["nodePort"] for x in s["spec"]["ports"]]
    assert p[0] != p[1]
    assert a.used_ips() == 0 and a.used_ports() == 0


def test_rebuild_from_stored_services() -> None:
    objs = MemoryObjects(
        ("services", svc("a", "NodePort", clusterIP="10.43.0.20", clusterIPs=["10.43.0.20"], ports=[{"port": 80, "nodePort": 30500}])),
        ("services", svc("b", clusterIP="192.168.0.1")),  # outside the range: ignored
    )
    a = ServiceAllocator("10.43.0.0/16", (30000, 32767), objs)
    a.rebuild()
    assert a.ip_owner("10.43.0.20") == "default/a" and a.port_owner(30500) == "default/a"
    assert a.used_ips() == 1
    with pytest.raises(Invalid):
        a.allocate(svc("c", clusterIP="10.43.0.20"))


def test_dual_stack() -> None:
    a = ServiceAllocator("10.43.0.0/16,fd00:43::/112", rng=random.Random(1))
    s = svc("d", ipFamilyPolicy="PreferDualStack")
    a.allocate(s).commit()
    assert s["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert s["spec"]["clusterIPs"][0].startswith("10.43.") and ":" in s["spec"]["clusterIPs"][1]
    single = ServiceAllocator("10.43.0.0/16")
    with pytest.raises(Invalid) as exc:
        single.allocate(svc("v6", ipFamilies=["IPv6"], ipFamilyPolicy="SingleStack"))
    assert 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster' in exc.value.message
