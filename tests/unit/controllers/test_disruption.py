"""PodDisruptionBudget status (pure budget and over the fake API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trio
import trio.testing

from k3trio.controllers.disruption import DisruptionController, budget, scaled_value

from .conftest import Harness, rs_obj

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pod(name: str, ready: bool = True, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"},
                         "ownerReferences": [owner] if owner else []},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": str(ready)}]}}


def pdb(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "b", "namespace": "default", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def test_budget() -> None:
    pods = [pod("a"), pod("b"), pod("c", ready=False)]
    b = budget(pdb(minAvailable=1), pods, None, NOW)
    assert (b.expected, b.desired_healthy, b.current_healthy, b.disruptions_allowed) == \
        (3, 1, 2, 1)
    b = budget(pdb(maxUnavailable="34%"), pods, 3, NOW)
    assert (b.expected, b.desired_healthy, b.disruptions_allowed) == (3, 1, 1)
    b = budget(pdb(minAvailable="50%"), pods, 4, NOW)
    assert (b.desired_healthy, b.disruptions_allowed) == (2, 0)
    assert scaled_value("25%", 10, True) == 3 and scaled_value("25%", 10, False) == 2


async def test_controller(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    rs = h.api.put("replicasets", rs_obj("web", 3))
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
             "uid": rs["metadata"]["uid"], "controller": True}
    for n in ("a", "b", "c"):
        h.api.put("pods", pod(n, owner=owner))
    h.api.put("poddisruptionbudgets", pdb(maxUnavailable=1))
    await h.start(DisruptionController)
    await h.settle()
    st = h.api.obj("poddisruptionbudgets", "default", "b")["status"]
    assert (st["expectedPods"], st["desiredHealthy"], st["currentHealthy"],
            st["disruptionsAllowed"]) == (3, 2, 3, 1)
    assert st["conditions"][0]["reason"] == "SufficientPods" and st["observedGeneration"] == 1
    h.api.put("pods", pod("a", ready=False, owner=owner))
    await h.settle()
    st = h.api.obj("poddisruptionbudgets", "default", "b")["status"]
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "InsufficientPods"
