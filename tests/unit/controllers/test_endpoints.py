"""Endpoints and EndpointSlices follow ready pods (fake API, mock clock)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.controllers.endpoints import EndpointsController, desired_subsets
from k3trio.controllers.endpointslice import (
    MANAGED_BY,
    SERVICE_NAME,
    EndpointSliceController,
    desired_slices,
)

from .conftest import Harness


def svc(name: str = "web", target: Any = "http", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": {"tier": "fe"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.43.0.10",
                     "ipFamilies": ["IPv4"],
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                "targetPort": target}], **spec}}


def pod(name: str, ip: str, ready: bool = True, port: int = 8080, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "labels": {"app": "web"}, **meta},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "c", "ports": [{"name": "http", "containerPort": port}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_subsets_group_by_resolved_port() -> None:
    pods = [pod("a", "10.0.0.2"), pod("b", "10.0.0.1", port=9090), pod("c", "10.0.0.3", False),
            pod("d", "10.0.0.4", deletionTimestamp="2026-01-01T00:00:00Z"),
            {**pod("e", "10.0.0.5"), "status": {"phase": "Succeeded", "podIP": "10.0.0.5"}}]
    subsets, truncated = desired_subsets(svc(), pods)
    assert not truncated
    assert [(s["ports"][0]["port"], [a["ip"] for a in s.get("addresses", [])],
             [a["ip"] for a in s.get("notReadyAddresses", [])]) for s in subsets] == \
        [(8080, ["10.0.0.2"], ["10.0.0.3"]), (9090, ["10.0.0.1"], [])]
    assert subsets[0]["addresses"][0]["targetRef"] == {
        "kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}


def test_slices_conditions() -> None:
    pods = [pod("a", "10.0.0.2"), pod("c", "10.0.0.3", False),
            pod("d", "10.0.0.4", deletionTimestamp="2026-01-01T00:00:00Z")]
    [(atype, ports, eps)] = desired_slices(svc(), pods, {"n1": "z1"})
    assert atype == "IPv4" and ports == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert [(e["addresses"], e["conditions"]) for e in eps] == [
        (["10.0.0.2"], {"ready": True, "serving": True, "terminating": False}),
        (["10.0.0.3"], {"ready": False, "serving": False, "terminating": False}),
        (["10.0.0.4"], {"ready": False, "serving": True, "terminating": True}),
    ]
    assert eps[0]["zone"] == "z1" and eps[0]["nodeName"] == "n1"
    assert desired_slices(svc(), []) == [("IPv4", [], [])]


async def test_controllers_follow_pods(harness: Harness,
                                       autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    await h.start(EndpointsController, EndpointSliceController)
    s = h.api.put("services", svc())
    h.api.put("pods", pod("a", "10.0.0.2"))
    await h.settle()
    ep = h.api.obj("endpoints", "default", "web")
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.0.0.2"]
    assert ep["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"] == "true"
    [sl] = h.api.all("endpointslices", "default")
    assert sl["metadata"]["labels"][SERVICE_NAME] == "web"
    assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == MANAGED_BY
    assert sl["metadata"]["ownerReferences"][0]["uid"] == s["metadata"]["uid"]
    h.api.put("pods", pod("b", "10.0.0.9", ready=False))
    await h.settle()
    ep = h.api.obj("endpoints", "default", "web")
    assert [a["ip"] for a in ep["subsets"][0]["notReadyAddresses"]] == ["10.0.0.9"]
    [sl] = h.api.all("endpointslices", "default")
    assert len(sl["endpoints"]) == 2
    await h.api.delete(("", "v1", "pods"), "a", namespace="default")
    await h.settle()
    ep = h.api.obj("endpoints", "default", "web")
    assert "addresses" not in ep["subsets"][0]
    await h.api.delete(("", "v1", "services"), "web", namespace="default")
    await h.settle()
    assert h.api.all("endpoints", "default") == []
