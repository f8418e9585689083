"""ServiceLB against a real ``--disable-agent`` server: the in-server controller manager (as
its ``service-controller`` service account) publishes node addresses as load-balancer
ingress, follows nodes and clears the status when the Service type changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import free_port
from ._server import ServerProcess
from .conftest import Kubectl, unique, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("slb") / "data", free_port()).start()
    try:
        srv.wait_ready(timeout=30)
        yield srv
    finally:
        srv.kill()


@pytest.fixture(scope="module")
def k(server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    kc = Kubectl(kubectl, server.kubeconfig, tmp_path_factory.mktemp("home"))
    wait_until(lambda: kc.run("get", "sa", "default", "-n", "default").returncode == 0, 30)
    return kc


def add_node(k: Kubectl, name: str, internal: str, ready: bool = True,
             labels: dict[str, str] | None = None) -> None:
    k.create({"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": name, "labels": labels or {}}})
    status = {"status": {
        "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                        "reason": "KubeletReady", "message": "ready",
                        "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "addresses": [{"type": "InternalIP", "address": internal},
                      {"type": "Hostname", "address": name}]}}
    k.ok("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def ingress(k: Kubectl, ns: str, name: str) -> Any:
    return (k.json("get", "svc", name, "-n", ns).get("status", {}).get("loadBalancer", {})
            .get("ingress"))


def test_load_balancer_ingress_follows_nodes_and_type(k: Kubectl) -> None:
    n1, n2 = unique("lbn"), unique("lbn")
    add_node(k, n1, "192.0.2.11")
    ns = unique("slb")
    k.ok("create", "namespace", ns)
    k.ok("create", "service", "loadbalancer", "web", "--tcp=80:8080", "-n", ns)
    wait_until(lambda: {"ip": "192.0.2.11", "ipMode": "VIP"} in (ingress(k, ns, "web") or []), 20)

    add_node(k, n2, "192.0.2.12")
    wait_until(lambda: {"ip": "192.0.2.12", "ipMode": "VIP"} in (ingress(k, ns, "web") or []), 20)
    k.ok("delete", "node", n2)
    wait_until(lambda: {"ip": "192.0.2.12", "ipMode": "VIP"}
               not in (ingress(k, ns, "web") or []), 20)

    events = k.json("get", "events", "-n", ns)["items"]
    assert any(e["reason"] == "UpdatedIngressIP" for e in events)

    # A class of its own: someone else's load balancer.
    k.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other", "namespace": ns},
              "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/lb",
                       "ports": [{"port": 81}]}})
    k.ok("patch", "svc", "web", "-n", ns, "--type=merge",
         "-p", json.dumps({"spec": {"type": "ClusterIP"}}))
    wait_until(lambda: not ingress(k, ns, "web"), 20)
    assert not ingress(k, ns, "other")
    k.ok("delete", "node", n1)
