"""Version conversion: HPA autoscaling/v1 <-> v2 (with the alpha annotations) and Events."""

from __future__ import annotations

import copy
import json

from k3trio.apiserver.conversion import CONDITIONS_ANNOTATION, METRICS_ANNOTATION, convert

V2 = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "h", "namespace": "default"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
        "minReplicas": 1,
        "maxReplicas": 5,
        "metrics": [
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
    },
    "status": {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 55}}}],
        "conditions": [{"type": "AbleToScale", "status": "True"}],
    },
}


def test_hpa_v2_to_v1_uses_annotations_for_the_rest() -> None:
    before = copy.deepcopy(V2)
    v1 = convert(V2, "autoscaling/v1")
    assert V2 == before  # input untouched
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert "metrics" not in v1["spec"]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 55
    ann = v1["metadata"]["annotations"]
    assert json.loads(ann[METRICS_ANNOTATION]) == [{"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}}]
    assert json.loads(ann[CONDITIONS_ANNOTATION]) == [{"type": "AbleToScale", "status": "True"}]


def test_hpa_round_trip_is_lossless() -> None:
    back = convert(convert(V2, "autoscaling/v1"), "autoscaling/v2")
    assert "annotations" not in back["metadata"]
    assert back["spec"]["behavior"] == V2["spec"]["behavior"]
    assert sorted(json.dumps(m, sort_keys=True) for m in back["spec"]["metrics"]) == sorted(
        json.dumps(m, sort_keys=True) for m in V2["spec"]["metrics"]
    )
    assert back["status"]["conditions"] == V2["status"]["conditions"]


def test_hpa_v1_cpu_target_becomes_resource_metric() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
          "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 40}}
    v2 = convert(v1, "autoscaling/v2")
    assert v2["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 40}}}
    ]


def test_event_field_renames_both_ways() -> None:
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
            "message": "hi", "source": {"component": "kubelet"}, "count": 3, "reportingComponent": "kubelet",
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z", "reason": "Started"}
    new = convert(core, "events.k8s.io/v1")
    assert new["regarding"] == {"kind": "Pod", "name": "p"} and new["note"] == "hi"
    assert new["deprecatedSource"] == {"component": "kubelet"} and new["deprecatedCount"] == 3
    assert new["reportingController"] == "kubelet" and new["deprecatedFirstTimestamp"] == "2026-01-01T00:00:00Z"
    assert convert(new, "v1") == core


def test_other_kinds_only_rewrite_api_version() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"a": 1}}
    assert convert(obj, "example.com/v2") == {"apiVersion": "example.com/v2", "kind": "Widget", "spec": {"a": 1}}
