"""ServiceLB's decision: which node addresses a LoadBalancer Service is given."""

from __future__ import annotations

from typing import Any

from k3trio.controllers.servicelb import desired_ingress, lb_nodes


def node(name: str, *addrs: tuple[str, str], ready: bool = True,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "addresses": [{"type": t, "address": a} for t, a in addrs]}}


def lb(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", **spec}}


def test_internal_and_external_addresses_of_ready_nodes_sorted() -> None:
    nodes = [node("b", ("InternalIP", "10.0.0.9"), ("ExternalIP", "203.0.113.5"),
                  ("Hostname", "b")),
             node("a", ("InternalIP", "10.0.0.10"), ("InternalIP", "fd00::1")),
             node("c", ("InternalIP", "10.0.0.11"), ready=False)]
    assert desired_ingress(lb(), nodes) == [
        {"ip": "10.0.0.9", "ipMode": "VIP"}, {"ip": "10.0.0.10", "ipMode": "VIP"},
        {"ip": "203.0.113.5", "ipMode": "VIP"}]
    assert desired_ingress(lb(ipFamilies=["IPv6"]), nodes) == [{"ip": "fd00::1", "ipMode": "VIP"}]


def test_enablelb_label_restricts_nodes() -> None:
    label = "svccontroller.k3s.cattle.io/enablelb"
    nodes = [node("a", ("InternalIP", "10.0.0.1"), labels={label: "true"}),
             node("b", ("InternalIP", "10.0.0.2")),
             node("c", ("InternalIP", "10.0.0.3"), labels={label: "false"})]
    assert [n["metadata"]["name"] for n in lb_nodes(nodes)] == ["a"]
    assert [n["metadata"]["name"] for n in lb_nodes(nodes[1:2])] == ["b"]


def test_not_handled_services_get_nothing() -> None:
    nodes = [node("a", ("InternalIP", "10.0.0.1"))]
    assert desired_ingress(lb(loadBalancerClass="example.com/x"), nodes) == []
    assert desired_ingress({"spec": {"type": "NodePort"}}, nodes) == []
    assert desired_ingress(lb(), []) == []
