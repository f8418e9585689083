"""ResourceQuota usage recomputation (pure and over the fake API)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from k3trio.controllers.resourcequota import ResourceQuotaController, compute_used

from .conftest import Harness


def pod(name: str, cpu: str = "100m", phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "resources": {
                "requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"cpu": cpu}}}]},
            "status": {"phase": phase}}


QUOTA = {"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": {"name": "q", "namespace": "default"},
         "spec": {"hard": {"pods": "10", "requests.cpu": "2", "requests.memory": "1Gi",
                           "configmaps": "5", "count/configmaps": "5"}}}


def test_compute_used() -> None:
    objs = {("pods", ""): [pod("a"), pod("b", "250m"), pod("done", "1", "Succeeded")],
            ("configmaps", ""): [{"metadata": {"name": "x"}}]}
    assert compute_used(QUOTA, objs) == {
        "configmaps": "1", "count/configmaps": "1", "pods": "2", "requests.cpu": "350m",
        "requests.memory": "128Mi"}
    scoped = {**QUOTA, "spec": {"hard": {"pods": "3"}, "scopes": ["BestEffort"]}}
    assert compute_used(scoped, objs) == {"pods": "0"}


async def test_controller(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("resourcequotas", QUOTA)
    h.api.put("pods", pod("a"))
    await h.start(ResourceQuotaController)
    await h.settle()
    st = h.api.obj("resourcequotas", "default", "q")["status"]
    assert st["hard"] == QUOTA["spec"]["hard"]
    assert st["used"]["pods"] == "1" and st["used"]["requests.cpu"] == "100m"
    h.api.put("pods", pod("b"))
    h.api.put("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "c", "namespace": "default"}})
    await h.settle()
    st = h.api.obj("resourcequotas", "default", "q")["status"]
    assert st["used"]["pods"] == "2" and st["used"]["configmaps"] == "1"
