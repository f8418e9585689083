"""Converting objects between the served versions of one kind (pure).

Every multi-version kind is stored at one version (the *hub*); requests at another version
are converted to the hub before storage and every read is converted back:

- ``HorizontalPodAutoscaler``: hub ``autoscaling/v2``; ``autoscaling/v1`` keeps only the CPU
  utilization target in ``spec.targetCPUUtilizationPercentage`` /
  ``status.currentCPUUtilizationPercentage`` and carries everything else in the
  ``autoscaling.alpha.kubernetes.io/{metrics,current-metrics,conditions,behavior}``
  annotations (JSON, metric specs in the v1 annotation shapes), exactly as upstream's
  conversion does, so a v1 round trip loses nothing.
- ``Event``: hub ``v1`` (core); ``events.k8s.io/v1`` renames fields (``regarding`` =
  ``involvedObject``, ``note`` = ``message``, ``deprecatedSource`` = ``source``,
  ``deprecatedFirstTimestamp``/``deprecatedLastTimestamp``/``deprecatedCount`` =
  ``firstTimestamp``/``lastTimestamp``/``count``, ``reportingController`` =
  ``reportingComponent``).
- Anything else (custom resources with conversion strategy ``None``): only ``apiVersion``
  is rewritten.

Invariant: :func:`convert` never mutates its input; unchanged sub-objects may be shared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["convert", "METRICS_ANNOTATION", "CURRENT_METRICS_ANNOTATION", "CONDITIONS_ANNOTATION", "BEHAVIOR_ANNOTATION"]

Obj = dict[str, Any]

METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_HPA_ANNOTATIONS = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _drop_none(d: Obj) -> Obj:
    return {k: v for k, v in d.items() if v is not None}


# -- HPA metric specs: v2 <-> the v1 annotation shapes --------------------------------------------


def _v2_target_to_v1(target: Obj, utilization_key: str, average_key: str, value_key: str | None) -> Obj:
    out: Obj = {}
    if target.get("averageUtilization") is not None:
        out[utilization_key] = target["averageUtilization"]
    if target.get("averageValue") is not None:
        out[average_key] = target["averageValue"]
    if value_key and target.get("value") is not None:
        out[value_key] = target["value"]
    return out


def _metric_spec_to_v1(m: Obj) -> Obj:
    kind = m.get("type")
    out: Obj = {"type": kind}
    if kind == "Resource" and m.get("resource"):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"), **_v2_target_to_v1(r.get("target") or {}, "targetAverageUtilization", "targetAverageValue", None)}
    elif kind == "ContainerResource" and m.get("containerResource"):
        r = m["containerResource"]
        out["containerResource"] = {
            "name": r.get("name"), "container": r.get("container"),
            **_v2_target_to_v1(r.get("target") or {}, "targetAverageUtilization", "targetAverageValue", None),
        }
    elif kind == "Pods" and m.get("pods"):
        p = m["pods"]
        metric = p.get("metric") or {}
        out["pods"] = _drop_none({
            "metricName": metric.get("name"), "selector": metric.get("selector"),
            "targetAverageValue": (p.get("target") or {}).get("averageValue"),
        })
    elif kind == "Object" and m.get("object"):
        o = m["object"]
        metric = o.get("metric") or {}
        target = o.get("target") or {}
        out["object"] = _drop_none({
            "target": o.get("describedObject"), "metricName": metric.get("name"),
            "targetValue": target.get("value"), "selector": metric.get("selector"),
            "averageValue": target.get("averageValue"),
        })
    elif kind == "External" and m.get("external"):
        e = m["external"]
        metric = e.get("metric") or {}
        target = e.get("target") or {}
        out["external"] = _drop_none({
            "metricName": metric.get("name"), "metricSelector": metric.get("selector"),
            "targetValue": target.get("value"), "targetAverageValue": target.get("averageValue"),
        })
    return out


def _v1_target(util: Any, average: Any, value: Any = None) -> Obj:
    if util is not None:
        return {"type": "Utilization", "averageUtilization": util}
    if average is not None:
        return {"type": "AverageValue", "averageValue": average}
    if value is not None:
        return {"type": "Value", "value": value}
    return {}


def _metric_spec_to_v2(m: Obj) -> Obj:
    kind = m.get("type")
    out: Obj = {"type": kind}
    if kind == "Resource" and m.get("resource"):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"), "target": _v1_target(r.get("targetAverageUtilization"), r.get("targetAverageValue"))}
    elif kind == "ContainerResource" and m.get("containerResource"):
        r = m["containerResource"]
        out["containerResource"] = {
            "name": r.get("name"), "container": r.get("container"),
            "target": _v1_target(r.get("targetAverageUtilization"), r.get("targetAverageValue")),
        }
    elif kind == "Pods" and m.get("pods"):
        p = m["pods"]
        out["pods"] = {
            "metric": _drop_none({"name": p.get("metricName"), "selector": p.get("selector")}),
            "target": _v1_target(None, p.get("targetAverageValue")),
        }
    elif kind == "Object" and m.get("object"):
        o = m["object"]
        target = {"type": "Value", "value": o["targetValue"]} if o.get("targetValue") is not None else {}
        if o.get("averageValue") is not None:
            target = {"type": "AverageValue", "averageValue": o["averageValue"]}
        out["object"] = {
            "describedObject": o.get("target"),
            "metric": _drop_none({"name": o.get("metricName"), "selector": o.get("selector")}),
            "target": target,
        }
    elif kind == "External" and m.get("external"):
        e = m["external"]
        out["external"] = {
            "metric": _drop_none({"name": e.get("metricName"), "selector": e.get("metricSelector")}),
            "target": _v1_target(None, e.get("targetAverageValue"), e.get("targetValue")),
        }
    return out


def _metric_status_to_v1(m: Obj) -> Obj:
    kind = m.get("type")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource") and m.get(_lower(kind)):
        r = m[_lower(kind)]
        cur = r.get("current") or {}
        item = _drop_none({
            "name": r.get("name"), "container": r.get("container"),
            "currentAverageUtilization": cur.get("averageUtilization"), "currentAverageValue": cur.get("averageValue"),
        })
        out[_lower(kind)] = item
    elif kind == "Pods" and m.get("pods"):
        p = m["pods"]
        metric = p.get("metric") or {}
        out["pods"] = _drop_none({
            "metricName": metric.get("name"), "selector": metric.get("selector"),
            "currentAverageValue": (p.get("current") or {}).get("averageValue"),
        })
    elif kind == "Object" and m.get("object"):
        o = m["object"]
        metric = o.get("metric") or {}
        cur = o.get("current") or {}
        out["object"] = _drop_none({
            "target": o.get("describedObject"), "metricName": metric.get("name"), "currentValue": cur.get("value"),
            "selector": metric.get("selector"), "averageValue": cur.get("averageValue"),
        })
    elif kind == "External" and m.get("external"):
        e = m["external"]
        metric = e.get("metric") or {}
        cur = e.get("current") or {}
        out["external"] = _drop_none({
            "metricName": metric.get("name"), "metricSelector": metric.get("selector"),
            "currentValue": cur.get("value"), "currentAverageValue": cur.get("averageValue"),
        })
    return out


def _metric_status_to_v2(m: Obj) -> Obj:
    kind = m.get("type")
    out: Obj = {"type": kind}
    if kind in ("Resource", "ContainerResource") and m.get(_lower(kind)):
        r = m[_lower(kind)]
        out[_lower(kind)] = _drop_none({
            "name": r.get("name"), "container": r.get("container"),
            "current": _drop_none({"averageUtilization": r.get("currentAverageUtilization"), "averageValue": r.get("currentAverageValue")}),
        })
    elif kind == "Pods" and m.get("pods"):
        p = m["pods"]
        out["pods"] = {
            "metric": _drop_none({"name": p.get("metricName"), "selector": p.get("selector")}),
            "current": _drop_none({"averageValue": p.get("currentAverageValue")}),
        }
    elif kind == "Object" and m.get("object"):
        o = m["object"]
        out["object"] = {
            "describedObject": o.get("target"),
            "metric": _drop_none({"name": o.get("metricName"), "selector": o.get("selector")}),
            "current": _drop_none({"value": o.get("currentValue"), "averageValue": o.get("averageValue")}),
        }
    elif kind == "External" and m.get("external"):
        e = m["external"]
        out["external"] = {
            "metric": _drop_none({"name": e.get("metricName"), "selector": e.get("metricSelector")}),
            "current": _drop_none({"value": e.get("currentValue"), "averageValue": e.get("currentAverageValue")}),
        }
    return out


def _lower(kind: str) -> str:
    return kind[0].lower() + kind[1:]


def _is_cpu_utilization(m: Obj) -> bool:
    r = m.get("resource") or {}
    return m.get("type") == "Resource" and r.get("name") == "cpu" and (r.get("target") or {}).get("type") == "Utilization"


# -- HPA objects ------------------------------------------------------------------------------------


def hpa_v2_to_v1(obj: Obj) -> Obj:
    """An ``autoscaling/v2`` HorizontalPodAutoscaler as ``autoscaling/v1``."""
    out = {k: v for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = "autoscaling/v1"
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = obj.get("spec") or {}
    v1spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    others: list[Obj] = []
    for m in spec.get("metrics") or []:
        if _is_cpu_utilization(m) and "targetCPUUtilizationPercentage" not in v1spec:
            v1spec["targetCPUUtilizationPercentage"] = m["resource"]["target"].get("averageUtilization")
        else:
            others.append(_metric_spec_to_v1(m))
    if others:
        annotations[METRICS_ANNOTATION] = _dumps(others)
    if spec.get("behavior"):
        annotations[BEHAVIOR_ANNOTATION] = _dumps(spec["behavior"])
    out["spec"] = v1spec
    if "status" in obj:
        status = obj.get("status") or {}
        v1status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas") if k in status}
        v1status.setdefault("currentReplicas", status.get("currentReplicas", 0))
        v1status.setdefault("desiredReplicas", status.get("desiredReplicas", 0))
        current = status.get("currentMetrics") or []
        for m in current:
            r = m.get("resource") or {}
            if m.get("type") == "Resource" and r.get("name") == "cpu":
                util = (r.get("current") or {}).get("averageUtilization")
                if util is not None:
                    v1status["currentCPUUtilizationPercentage"] = util
                    break
        if current:
            annotations[CURRENT_METRICS_ANNOTATION] = _dumps([_metric_status_to_v1(m) for m in current])
        if status.get("conditions"):
            annotations[CONDITIONS_ANNOTATION] = _dumps(status["conditions"])
        out["status"] = v1status
    if annotations:
        meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def _annotation_list(annotations: Obj, key: str) -> list[Obj]:
    text = annotations.pop(key, None)
    if not text:
        return []
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def hpa_v1_to_v2(obj: Obj) -> Obj:
    """An ``autoscaling/v1`` HorizontalPodAutoscaler as ``autoscaling/v2``."""
    out = {k: v for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = "autoscaling/v2"
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = obj.get("spec") or {}
    v2spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    metrics = [_metric_spec_to_v2(m) for m in _annotation_list(annotations, METRICS_ANNOTATION)]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    if metrics:
        v2spec["metrics"] = metrics
    behavior = annotations.pop(BEHAVIOR_ANNOTATION, None)
    if behavior:
        try:
            v2spec["behavior"] = json.loads(behavior)
        except ValueError:
            pass
    out["spec"] = v2spec
    current = [_metric_status_to_v2(m) for m in _annotation_list(annotations, CURRENT_METRICS_ANNOTATION)]
    conditions = _annotation_list(annotations, CONDITIONS_ANNOTATION)
    if "status" in obj:
        status = obj.get("status") or {}
        v2status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas") if k in status}
        cpu = status.get("currentCPUUtilizationPercentage")
        if not current and cpu is not None:
            current = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}]
        if current:
            v2status["currentMetrics"] = current
        if conditions:
            v2status["conditions"] = conditions
        out["status"] = v2status
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


# -- Events -----------------------------------------------------------------------------------------

#: core/v1 field -> events.k8s.io/v1 field.
_EVENT_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
}
_EVENT_RENAMES_BACK = {v: k for k, v in _EVENT_RENAMES.items()}


def event_core_to_events(obj: Obj) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        out[_EVENT_RENAMES.get(key, key)] = value
    out["apiVersion"] = "events.k8s.io/v1"
    return out


def event_events_to_core(obj: Obj) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        out[_EVENT_RENAMES_BACK.get(key, key)] = value
    out["apiVersion"] = "v1"
    return out


_CONVERTERS: dict[tuple[str, str, str], Callable[[Obj], Obj]] = {
    ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1"): hpa_v2_to_v1,
    ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2"): hpa_v1_to_v2,
    ("Event", "v1", "events.k8s.io/v1"): event_core_to_events,
    ("Event", "events.k8s.io/v1", "v1"): event_events_to_core,
}


def convert(obj: Obj, api_version: str) -> Obj:
    """``obj`` as served at ``api_version`` (a new dict; the input is never changed)."""
    current = obj.get("apiVersion")
    if current == api_version:
        return obj
    fn = _CONVERTERS.get((obj.get("kind", ""), current or "", api_version))
    if fn is not None:
        return fn(obj)
    out = dict(obj)
    out["apiVersion"] = api_version
    return out
