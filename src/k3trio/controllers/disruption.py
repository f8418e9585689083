"""The disruption controller: the status of every PodDisruptionBudget.

For a PDB and the pods its selector matches in its namespace (``budget``, pure):

- ``maxUnavailable`` (or a percentage ``minAvailable``): ``expectedPods`` is the sum of the
  scales of the pods' controllers (a ReplicaSet owned by a Deployment counts as the
  Deployment), read from their ``scale`` subresources; ``desiredHealthy`` is
  ``expectedPods - maxUnavailable`` (percentages round up) or ``ceil(minAvailable% *
  expectedPods)``;
- an integer ``minAvailable``: ``expectedPods`` is the number of pods and ``desiredHealthy``
  the integer;
- ``currentHealthy`` counts Ready pods that are not being deleted and not listed in
  ``disruptedPods`` (entries older than 2 minutes are dropped);
- ``disruptionsAllowed = max(currentHealthy - desiredHealthy, 0)`` (0 without expected pods);
- condition ``DisruptionAllowed``: True/``SufficientPods`` or False/``InsufficientPods``;
  ``SyncFailed`` with the error when controllers cannot be resolved.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..api import labels
from ..client import ApiError, Conflict, NotFound
from ..client.resource import Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import PDBS, PODS
from .timeutil import format_time, parse_time

__all__ = ["Budget", "DisruptionController", "budget", "scaled_value"]

DELETION_TIMEOUT = timedelta(minutes=2)
SCALABLE = {
    ("apps", "ReplicaSet"): Resource("apps", "v1", "replicasets", "ReplicaSet", True),
    ("apps", "Deployment"): Resource("apps", "v1", "deployments", "Deployment", True),
    ("apps", "StatefulSet"): Resource("apps", "v1", "statefulsets", "StatefulSet", True),
    ("", "ReplicationController"): Resource("", "v1", "replicationcontrollers",
                                            "ReplicationController", True),
}


class NoControllers(Exception):
    """A pod has no controller with a scale."""


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """``GetScaledValueFromIntOrPercent``."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    pct = int(text[:-1])
    raw = pct * total / 100
    return math.ceil(raw) if round_up else math.floor(raw)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


@attrs.frozen
class Budget:
    expected: int
    desired_healthy: int
    current_healthy: int
    disruptions_allowed: int
    disrupted: dict[str, str]


def budget(pdb: Mapping[str, Any], pods: list[Obj], expected_scale: int | None,
           now: datetime) -> Budget:
    """The numbers of the status (``expected_scale``: the controllers' total, if needed)."""
    spec = pdb.get("spec") or {}
    disrupted = {}
    for name, stamp in ((pdb.get("status") or {}).get("disruptedPods") or {}).items():
        t = parse_time(stamp)
        if t is not None and t + DELETION_TIMEOUT > now:
            disrupted[name] = stamp
    healthy = sum(1 for p in pods if pod_ready(p) and not meta_of(p).get("deletionTimestamp")
                  and meta_of(p).get("name") not in disrupted)
    if spec.get("maxUnavailable") is not None:
        expected = expected_scale or 0
        unavailable = scaled_value(spec["maxUnavailable"], expected, True)
        desired = max(expected - unavailable, 0)
    elif isinstance(spec.get("minAvailable"), int) or (
            isinstance(spec.get("minAvailable"), str) and not spec["minAvailable"].endswith("%")):
        expected = len(pods)
        desired = int(spec["minAvailable"])
    elif spec.get("minAvailable") is not None:
        expected = expected_scale or 0
        desired = scaled_value(spec["minAvailable"], expected, True)
    else:
        expected, desired = len(pods), len(pods)
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    return Budget(expected, desired, healthy, allowed, disrupted)


def needs_scale(pdb: Mapping[str, Any]) -> bool:
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        return True
    mina = spec.get("minAvailable")
    return isinstance(mina, str) and mina.endswith("%")


class DisruptionController(Controller):
    name = "disruption"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.pdbs = self.informer(PDBS, on_add=self.enqueue, on_delete=self.enqueue,
                                  on_update=lambda o, n: self.enqueue(n))
        self.pods = self.informer(PODS, on_add=self._pod_changed, on_delete=self._pod_changed,
                                  on_update=lambda o, n: self._pod_changed(n))

    def _pod_changed(self, obj: Any) -> None:
        pod = getattr(obj, "obj", obj)
        ns = meta_of(pod).get("namespace")
        for pdb in self.pdbs.lister.list(str(ns)):
            try:
                sel = labels.from_label_selector((pdb.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if sel.matches(meta_of(pod).get("labels") or {}):
                self.enqueue(pdb)

    async def _expected_scale(self, pods: list[Obj]) -> int:
        seen: set[str] = set()
        total = 0
        for pod in pods:
            ref = next((r for r in meta_of(pod).get("ownerReferences") or []
                        if r.get("controller")), None)
            if ref is None:
                raise NoControllers(f"found no controllers for pod {meta_of(pod).get('name')!r}")
            ns = str(meta_of(pod).get("namespace"))
            scale_ref = await self._scale_owner(ref, ns)
            if scale_ref is None:
                raise NoControllers(f"found no controllers for pod {meta_of(pod).get('name')!r}")
            uid, replicas = scale_ref
            if uid not in seen:
                seen.add(uid)
                total += replicas
        return total

    async def _scale_owner(self, ref: Mapping[str, Any], ns: str) -> tuple[str, int] | None:
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        res = SCALABLE.get((group, str(ref.get("kind"))))
        if res is None:
            return None
        try:
            obj = await self.client.get(res, str(ref.get("name")), namespace=ns)
        except NotFound:
            return None
        if res.kind == "ReplicaSet":
            parent = next((r for r in meta_of(obj).get("ownerReferences") or []
                           if r.get("controller") and r.get("kind") == "Deployment"), None)
            if parent is not None:
                found = await self._scale_owner(parent, ns)
                if found is not None:
                    return found
        return str(meta_of(obj).get("uid")), int((obj.get("spec") or {}).get("replicas", 1))

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        pdb = self.pdbs.lister.get(name, namespace)
        if pdb is None:
            return
        now = self.now()
        new = copy.deepcopy(pdb)
        status = new.setdefault("status", {})
        try:
            sel = labels.from_label_selector((pdb.get("spec") or {}).get("selector"))
            pods = [p for p in self.pods.lister.list(namespace)
                    if sel.matches(meta_of(p).get("labels") or {})]
            if not pods:
                self.recorder.event(pdb, "Normal", "NoPods", "No matching pods found")
            scale = await self._expected_scale(pods) if needs_scale(pdb) else None
        except (NoControllers, labels.SelectorError, ApiError) as exc:
            if isinstance(exc, NoControllers):
                self.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                                    f"Failed to calculate the number of expected pods: {exc}")
            status.update(disruptionsAllowed=0)
            _set_condition(status, "False", "SyncFailed", str(exc), now)
            status["observedGeneration"] = meta_of(pdb).get("generation", 0)
            await self._write(new, pdb)
            return
        b = budget(pdb, pods, scale, now)
        status.update(currentHealthy=b.current_healthy, desiredHealthy=b.desired_healthy,
                      expectedPods=b.expected, disruptionsAllowed=b.disruptions_allowed,
                      observedGeneration=meta_of(pdb).get("generation", 0))
        if b.disrupted:
            status["disruptedPods"] = b.disrupted
            stamps = [t for v in b.disrupted.values() if (t := parse_time(v)) is not None]
            if stamps:
                left = (min(stamps) + DELETION_TIMEOUT - now).total_seconds()
                self.enqueue_after(key, left + 0.1)
        else:
            status.pop("disruptedPods", None)
        if b.disruptions_allowed > 0:
            _set_condition(status, "True", "SufficientPods", "", now)
        else:
            _set_condition(status, "False", "InsufficientPods", "", now)
        await self._write(new, pdb)

    async def _write(self, new: Obj, old: Obj) -> None:
        if new.get("status") == old.get("status"):
            return
        try:
            await self.client.update_status(PDBS, new)
        except NotFound:
            return
        except Conflict:
            self.enqueue_rate_limited(f"{meta_of(old).get('namespace')}/{meta_of(old).get('name')}")


def _set_condition(status: Obj, value: str, reason: str, message: str, now: datetime) -> None:
    conds = status.setdefault("conditions", [])
    for cond in conds:
        if cond.get("type") == "DisruptionAllowed":
            if cond.get("status") != value:
                cond["lastTransitionTime"] = format_time(now)
            cond.update(status=value, reason=reason, message=message,
                        observedGeneration=status.get("observedGeneration", 0))
            return
    conds.append({"type": "DisruptionAllowed", "status": value, "reason": reason,
                  "message": message, "lastTransitionTime": format_time(now),
                  "observedGeneration": status.get("observedGeneration", 0)})
