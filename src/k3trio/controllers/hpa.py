"""The horizontal pod autoscaler controller (``autoscaling/v2``), with a pluggable metrics
source.

Every 15 s (and on changes) ``sync`` reads the target's ``scale`` subresource and decides:

- target at 0 replicas with ``minReplicas > 0``: scaling disabled (``ScalingActive`` False,
  ``ScalingDisabled``);
- outside ``[minReplicas, maxReplicas]``: brought back into range;
- otherwise each metric's proposal is computed from the ``MetricsSource``; a metric the
  source cannot give makes the HPA keep the current size and report ``ScalingActive`` False
  with ``FailedGetResourceMetric`` (or ``FailedGetPodsMetric``/``FailedGetObjectMetric``/
  ``FailedGetExternalMetric``) plus ``FailedComputeMetricsReplicas`` events. The default
  source, ``NoMetrics``, never has any: until a metrics API exists, HPAs report exactly that.

Pure algorithm (``proposal``, ``stabilize``, ``limit_rate``): for a utilization target,
``ratio = usage / target``; within the 10 % tolerance nothing changes, else
``ceil(ratio * pods)``. The largest proposal wins; scale-down is stabilized over
``behavior.scaleDown.stabilizationWindowSeconds`` (300 s by default, the highest recent
recommendation wins) and scale-up over its window (0 s); default rate limits allow doubling
or +4 pods per 15 s upwards and 100 % per 15 s downwards. ``ScalingLimited`` tells whether the
bounds cut the recommendation. A new size is written through the ``scale`` subresource
(``SuccessfulRescale``, "New size: N; reason: ...").
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs
import trio

from ..client import ApiError, Conflict, NotFound
from ..client.resource import Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import HPAS
from .timeutil import format_time

__all__ = ["HPAController", "MetricsSource", "NoMetrics", "proposal", "stabilize"]

RESYNC = 15.0
TOLERANCE = 0.1
DOWN_WINDOW = 300
SCALABLE = {
    ("apps", "Deployment"): Resource("apps", "v1", "deployments", "Deployment", True),
    ("apps", "ReplicaSet"): Resource("apps", "v1", "replicasets", "ReplicaSet", True),
    ("apps", "StatefulSet"): Resource("apps", "v1", "statefulsets", "StatefulSet", True),
    ("", "ReplicationController"): Resource("", "v1", "replicationcontrollers",
                                            "ReplicationController", True),
}


class MetricsSource(Protocol):
    """Where metric values come from. ``None`` means "no value" (an error for the HPA)."""

    async def resource_utilization(self, namespace: str, selector: str, resource: str,
                                   ) -> tuple[float, int] | None:
        """Average utilization (percent of requests) of the target's pods and their count."""
        ...

    async def resource_value(self, namespace: str, selector: str, resource: str,
                             ) -> tuple[float, int] | None:
        """Average usage (in base units) of the target's pods and their count."""
        ...


class NoMetrics:
    """The metrics source of a cluster without a metrics API."""

    async def resource_utilization(self, namespace: str, selector: str, resource: str,
                                   ) -> tuple[float, int] | None:
        await trio.lowlevel.checkpoint()
        return None

    async def resource_value(self, namespace: str, selector: str, resource: str,
                             ) -> tuple[float, int] | None:
        await trio.lowlevel.checkpoint()
        return None


def proposal(current: int, usage: float, target: float, pods: int) -> int:
    """Replicas proposed for one metric (``usage``/``target`` averaged over ``pods``)."""
    if target <= 0:
        return current
    ratio = usage / target
    if abs(ratio - 1.0) <= TOLERANCE:
        return current
    return max(int(math.ceil(ratio * max(pods, 1))), 0)


def stabilize(history: list[tuple[datetime, int]], recommendation: int, current: int,
              now: datetime, up_window: int, down_window: int) -> int:
    """Stabilized recommendation: downscale to the highest recommendation of the scale-down
    window, upscale to the lowest of the scale-up window."""
    up = [r for t, r in history if now - t <= timedelta(seconds=up_window)] + [recommendation]
    down = [r for t, r in history if now - t <= timedelta(seconds=down_window)] + [recommendation]
    result = current
    if min(up) > current:
        result = min(up)
    if max(down) < current:
        result = max(down)
    return result


def limit_rate(current: int, desired: int) -> int:
    """Default scaling policies: up by max(100 %, 4 pods), down by 100 % per period."""
    if desired > current:
        return min(desired, max(current * 2, current + 4))
    return desired


@attrs.define
class _Failure:
    reason: str
    message: str


def _metric_name(metric: Mapping[str, Any]) -> str:
    kind = metric.get("type")
    body = metric.get({"Resource": "resource", "ContainerResource": "containerResource",
                       "Pods": "pods", "Object": "object", "External": "external"}.get(
                           str(kind), "resource")) or {}
    return str(body.get("name") or (body.get("metric") or {}).get("name") or "")


class HPAController(Controller):
    name = "horizontalpodautoscaling"

    def __init__(self, ctx: ControllerContext, *, metrics: MetricsSource | None = None) -> None:
        super().__init__(ctx)
        self.metrics: MetricsSource = metrics or NoMetrics()
        self.hpas = self.informer(HPAS, on_add=self.enqueue,
                                  on_update=lambda o, n: self._updated(o, n))
        self.history: dict[str, list[tuple[datetime, int]]] = {}

    def _updated(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec"):
            self.enqueue(new)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        hpa = self.hpas.lister.get(name, namespace)
        if hpa is None:
            self.history.pop(key, None)
            return
        try:
            await self._reconcile(copy.deepcopy(hpa), key)
        finally:
            self.enqueue_after(key, RESYNC)

    async def _reconcile(self, hpa: Obj, key: str) -> None:
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        namespace = str(meta_of(hpa).get("namespace"))
        now = self.now()
        status = hpa.setdefault("status", {})
        status["observedGeneration"] = meta_of(hpa).get("generation", 0)
        res = SCALABLE.get((str(ref.get("apiVersion") or "").rpartition("/")[0],
                            str(ref.get("kind"))))
        try:
            if res is None:
                raise NotFound(404, "NotFound", f"no scale subresource for {ref.get('kind')}")
            scale = await self.client.get(res, str(ref.get("name")), namespace=namespace,
                                          subresource="scale")
        except ApiError as exc:
            message = f"the HPA controller was unable to get the target's current scale: {exc}"
            self.recorder.event(hpa, "Warning", "FailedGetScale", str(exc))
            _condition(status, "AbleToScale", "False", "FailedGetScale", message, now)
            await self._write(hpa, key)
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        selector = str((scale.get("status") or {}).get("selector") or "")
        lo, hi = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        status["currentReplicas"] = int((scale.get("status") or {}).get("replicas") or current)
        _condition(status, "AbleToScale", "True", "SucceededGetScale",
                   "the HPA controller was able to get the target's current scale", now)
        desired, reason = current, ""
        if current == 0 and lo != 0:
            _condition(status, "ScalingActive", "False", "ScalingDisabled",
                       "scaling is disabled since the replica count of the target is zero", now)
            desired = 0
        elif current > hi:
            desired, reason = hi, "Current number of replicas above Spec.MaxReplicas"
        elif current < lo:
            desired, reason = lo, "Current number of replicas below Spec.MinReplicas"
        else:
            recommended, failure, metric = await self._recommend(hpa, current, namespace,
                                                                 selector, status)
            if failure is not None:
                _condition(status, "ScalingActive", "False", failure.reason,
                           "the HPA was unable to compute the replica count: " + failure.message,
                           now)
                self.recorder.event(hpa, "Warning", failure.reason, failure.message)
                self.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas",
                                    "invalid metrics (1 invalid out of 1), first error is: "
                                    + failure.message)
                status["desiredReplicas"] = current
                await self._write(hpa, key)
                return
            _condition(status, "ScalingActive", "True", "ValidMetricFound",
                       f"the HPA was able to successfully calculate a replica count from {metric}",
                       now)
            history = self.history.setdefault(key, [])
            behavior = spec.get("behavior") or {}
            up_w = int((behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds", 0))
            down_w = int((behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds",
                                                                DOWN_WINDOW))
            stable = stabilize(history, recommended, current, now, up_w, down_w)
            history.append((now, recommended))
            history[:] = [(t, r) for t, r in history
                          if now - t <= timedelta(seconds=max(up_w, down_w))]
            desired = limit_rate(current, stable)
            if desired > hi:
                _condition(status, "ScalingLimited", "True", "TooManyReplicas",
                           "the desired replica count is more than the maximum replica count", now)
                desired = hi
            elif desired < lo:
                _condition(status, "ScalingLimited", "True", "TooFewReplicas",
                           "the desired replica count is less than the minimum replica count", now)
                desired = lo
            else:
                _condition(status, "ScalingLimited", "False", "DesiredWithinRange",
                           "the desired count is within the acceptable range", now)
            reason = f"{metric} above target" if desired > current else "All metrics below target"
        status["desiredReplicas"] = desired
        if desired != current and res is not None:
            scale["spec"]["replicas"] = desired
            try:
                await self.client.update(res, scale, namespace=namespace, subresource="scale")
            except ApiError as exc:
                self.recorder.event(hpa, "Warning", "FailedRescale",
                                    f"New size: {desired}; reason: {reason}; error: {exc}")
                _condition(status, "AbleToScale", "False", "FailedUpdateScale",
                           f"the HPA controller was unable to update the target scale: {exc}", now)
            else:
                self.recorder.event(hpa, "Normal", "SuccessfulRescale",
                                    f"New size: {desired}; reason: {reason}")
                status["lastScaleTime"] = format_time(now)
                _condition(status, "AbleToScale", "True", "SucceededRescale",
                           "the HPA controller was able to update the target scale to "
                           f"{desired}", now)
        await self._write(hpa, key)

    async def _recommend(self, hpa: Obj, current: int, namespace: str, selector: str,
                         status: Obj) -> tuple[int, _Failure | None, str]:
        metrics = (hpa.get("spec") or {}).get("metrics") or [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]
        best: int | None = None
        described = ""
        current_metrics: list[Obj] = []
        for metric in metrics:
            mtype = str(metric.get("type"))
            name = _metric_name(metric)
            if mtype not in ("Resource", "ContainerResource"):
                reason = {"Pods": "FailedGetPodsMetric", "Object": "FailedGetObjectMetric",
                          "External": "FailedGetExternalMetric"}.get(mtype, "InvalidMetricSourceType")
                return current, _Failure(reason, f"failed to get {name} metric value: "
                                                 "no custom metrics API available"), ""
            target = (metric.get("resource") or metric.get("containerResource") or {}).get(
                "target") or {}
            if target.get("type") == "Utilization":
                got = await self.metrics.resource_utilization(namespace, selector, name)
                wanted = float(target.get("averageUtilization") or 0)
                what = "utilization"
            else:
                got = await self.metrics.resource_value(namespace, selector, name)
                wanted = float(str(target.get("averageValue") or "0").rstrip("m") or 0)
                what = "usage"
            if got is None:
                return current, _Failure(
                    "FailedGetResourceMetric",
                    f"failed to get {name} resource metric value: failed to get {name} "
                    f"{what}: unable to get metrics for resource {name}: no metrics returned "
                    "from resource metrics API"), ""
            value, pods = got
            prop = proposal(current, value, wanted, pods)
            current_metrics.append({"type": "Resource", "resource": {"name": name, "current": (
                {"averageUtilization": int(value)} if what == "utilization"
                else {"averageValue": str(value)})}})
            if best is None or prop > best:
                best = prop
                described = f"{name} resource " + (
                    "utilization (percentage of request)" if what == "utilization" else "")
        status["currentMetrics"] = current_metrics
        return (best if best is not None else current), None, described.strip()

    async def _write(self, hpa: Obj, key: str) -> None:
        cached = self.hpas.lister.get(*reversed(key.split("/", 1)))
        if cached is not None and cached.get("status") == hpa.get("status"):
            return
        try:
            await self.client.update_status(HPAS, hpa)
        except NotFound:
            return
        except Conflict:
            self.enqueue_rate_limited(key)


def _condition(status: Obj, ctype: str, value: str, reason: str, message: str,
               now: datetime) -> None:
    conds = status.setdefault("conditions", [])
    for cond in conds:
        if cond.get("type") == ctype:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = format_time(now)
            cond.update(status=value, reason=reason, message=message)
            return
    conds.append({"type": ctype, "status": value, "lastTransitionTime": format_time(now),
                  "reason": reason, "message": message})
