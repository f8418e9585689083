"""The HPA controller: no metrics today, and the algorithm with a fake metrics source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import trio
import trio.testing

from k3trio.controllers.hpa import HPAController, proposal, stabilize

from .conftest import Harness, rs_obj

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def hpa(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "generation": 1},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                        "name": "web"},
                     "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 80}}}], **spec}}


class FixedMetrics:
    def __init__(self, utilization: float) -> None:
        self.utilization = utilization

    async def resource_utilization(self, namespace: str, selector: str,
                                   resource: str) -> tuple[float, int] | None:
        await trio.lowlevel.checkpoint()
        return self.utilization, 2

    async def resource_value(self, namespace: str, selector: str,
                             resource: str) -> tuple[float, int] | None:
        return None


def cond(h: Harness, ctype: str) -> dict[str, Any]:
    st = h.api.obj("horizontalpodautoscalers", "default", "web")["status"]
    return next(c for c in st["conditions"] if c["type"] == ctype)  # type: ignore[no-any-return]


def test_algorithm() -> None:
    assert proposal(2, 160, 80, 2) == 4
    assert proposal(2, 85, 80, 2) == 2  # within tolerance
    assert proposal(4, 20, 80, 4) == 1
    hist = [(NOW - timedelta(seconds=100), 5), (NOW - timedelta(seconds=400), 9)]
    assert stabilize(hist, 2, 6, NOW, 0, 300) == 5  # downscale held at the window's max
    assert stabilize(hist, 8, 6, NOW, 0, 300) == 8


async def test_without_metrics(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("replicasets", rs_obj("web", 2))
    h.api.put("horizontalpodautoscalers", hpa())
    await h.start(HPAController)
    await h.settle(1)
    c = cond(h, "ScalingActive")
    assert (c["status"], c["reason"]) == ("False", "FailedGetResourceMetric")
    assert c["message"].startswith("the HPA was unable to compute the replica count: failed to "
                                   "get cpu resource metric value")
    assert cond(h, "AbleToScale")["reason"] == "SucceededGetScale"
    st = h.api.obj("horizontalpodautoscalers", "default", "web")["status"]
    assert st["desiredReplicas"] == 2
    assert "FailedComputeMetricsReplicas" in [e["reason"] for e in h.api.all("events")]


async def test_scales_up(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    h = harness
    h.api.put("replicasets", rs_obj("web", 2))
    h.api.put("horizontalpodautoscalers", hpa())
    await h.start(partial(HPAController, metrics=FixedMetrics(160)))
    await h.settle(1)
    assert h.api.obj("replicasets", "default", "web")["spec"]["replicas"] == 4
    st = h.api.obj("horizontalpodautoscalers", "default", "web")["status"]
    assert st["desiredReplicas"] == 4 and st["lastScaleTime"]
    assert cond(h, "ScalingActive")["reason"] == "ValidMetricFound"
    assert cond(h, "ScalingLimited")["reason"] == "DesiredWithinRange"
    assert "SuccessfulRescale" in [e["reason"] for e in h.api.all("events")]
