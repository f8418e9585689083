"""LimitRanger: LimitRange defaults for containers, and min/max/ratio enforcement.

Applies to pod creates (defaults, then checks) and PVC creates/updates (checks). Every
LimitRange of the namespace is applied in turn (name order, as the lister returns them):

- Defaults (``type: Container``): ``default`` fills missing limits and ``defaultRequest``
  missing requests of each container and init container; a request left empty next to a
  limit is the limit (API defaulting, done here too so the order of the two does not
  matter). The pod is annotated ``kubernetes.io/limit-ranger: LimitRanger plugin set: cpu,
  memory request for container c; cpu limit for container c``.
- Checks with upstream's texts: ``minimum cpu usage per Container is 100m, but request is
  50m``, ``maximum memory usage per Pod is 1Gi, but limit is 2Gi``, ``cpu max limit to
  request ratio per Container is 2, but provided ratio is 4.000000``, ``maximum storage usage
  per PersistentVolumeClaim is 5Gi, but request is 10Gi``... all of them joined like an
  aggregate error in one 403.
- Comparisons use milli-units when every value fits, whole units otherwise, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k3trio.api.errors import aggregate
from k3trio.api.quantity import Quantity
from k3trio.apiserver.admission._common import (
    ResourceList,
    container_limits,
    container_requests,
    forbidden,
    pod_limits,
    pod_requests,
    resource_list,
)
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

ANNOTATION = "kubernetes.io/limit-ranger"
_MAX_MILLI = (2**63 - 1) // 1000


def _values(req: Quantity | None, lim: Quantity | None, enforced: Quantity) -> tuple[int, int, int]:
    r = req.value() if req is not None else 0
    lv = lim.value() if lim is not None else 0
    e = enforced.value()
    if r <= _MAX_MILLI and lv <= _MAX_MILLI and e <= _MAX_MILLI:
        r = req.milli_value() if req is not None else 0
        lv = lim.milli_value() if lim is not None else 0
        e = enforced.milli_value()
    return r, lv, e


def min_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, lv, e = _values(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if r < e:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and lv < e:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def max_request_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList) -> str | None:
    req = request.get(name)
    r, _, e = _values(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def max_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, lv, e = _values(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lv > e:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def ratio_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req, lim = request.get(name), limit.get(name)
    r, lv, _ = _values(req, lim, enforced)
    if req is None or r == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
    if lim is None or lv == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
    observed = lv / r
    display = observed
    max_ratio = float(enforced.value())
    if enforced.value() <= _MAX_MILLI:
        observed *= 1000
        max_ratio = float(enforced.milli_value())
    if observed > max_ratio:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {display:f}"
    return None


def _check(kind: str, item: Mapping[str, Any], request: ResourceList, limit: ResourceList, out: list[str]) -> None:
    for name, q in sorted(resource_list(item.get("min")).items()):
        msg = min_constraint(kind, name, q, request, limit)
        if msg:
            out.append(msg)
    for name, q in sorted(resource_list(item.get("max")).items()):
        msg = max_constraint(kind, name, q, request, limit)
        if msg:
            out.append(msg)
    for name, q in sorted(resource_list(item.get("maxLimitRequestRatio")).items()):
        msg = ratio_constraint(kind, name, q, request, limit)
        if msg:
            out.append(msg)


def _items(limit_range: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [i for i in (limit_range.get("spec") or {}).get("limits") or [] if isinstance(i, dict)]


def pod_violations(limit_range: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """``PodValidateLimitFunc``: the messages for one LimitRange."""
    out: list[str] = []
    spec = pod.get("spec") or {}
    for item in _items(limit_range):
        kind = item.get("type")
        if kind == "Container":
            for key in ("containers", "initContainers"):
                for c in spec.get(key) or []:
                    _check("Container", item, container_requests(c), container_limits(c), out)
        elif kind == "Pod":
            _check("Pod", item, pod_requests(pod), pod_limits(pod), out)
    return out


def pvc_violations(limit_range: Mapping[str, Any], pvc: Mapping[str, Any]) -> list[str]:
    """``PersistentVolumeClaimValidateLimitFunc``."""
    out: list[str] = []
    requests = resource_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    for item in _items(limit_range):
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, q in sorted(resource_list(item.get("min")).items()):
            msg = min_constraint("PersistentVolumeClaim", name, q, requests, {})
            if msg:
                out.append(msg)
        for name, q in sorted(resource_list(item.get("max")).items()):
            msg = max_request_constraint("PersistentVolumeClaim", name, q, requests)
            if msg:
                out.append(msg)
    return out


def apply_defaults(limit_range: Mapping[str, Any], pod: dict[str, Any]) -> None:
    """``PodMutateLimitFunc`` for one LimitRange: fill defaults and set the annotation."""
    default_limits: dict[str, Any] = {}
    default_requests: dict[str, Any] = {}
    for item in _items(limit_range):
        if item.get("type") == "Container":
            default_requests.update(item.get("defaultRequest") or {})
            default_limits.update(item.get("default") or {})
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for key, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                notes.extend(_merge(c, default_limits, default_requests, label))
    if notes:
        meta = pod.setdefault("metadata", {})
        ann = meta.get("annotations")
        if not isinstance(ann, dict):
            ann = meta["annotations"] = {}
        ann[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _merge(c: dict[str, Any], limits: dict[str, Any], requests: dict[str, Any], label: str) -> list[str]:
    res = c.get("resources")
    if not isinstance(res, dict):
        res = c["resources"] = {}
    raw_limits, raw_requests = res.get("limits"), res.get("requests")
    have_limits: dict[str, Any] = raw_limits if isinstance(raw_limits, dict) else {}
    have_requests: dict[str, Any] = raw_requests if isinstance(raw_requests, dict) else {}
    # API defaulting: a request left out next to a limit is the limit.
    for k, v in have_limits.items():
        have_requests.setdefault(k, v)
    set_limits = sorted(k for k in limits if k not in have_limits)
    for k in set_limits:
        have_limits[k] = limits[k]
    set_requests = sorted(k for k in requests if k not in have_requests)
    for k in set_requests:
        have_requests[k] = requests[k]
    if have_limits:
        res["limits"] = have_limits
    if have_requests:
        res["requests"] = have_requests
    name = c.get("name", "")
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {label} {name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {label} {name}")
    return notes


class LimitRanger:
    """Mutating (pod defaults) and validating (pods, PVCs) plugin; reads ``limitranges``."""

    name = "LimitRanger"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if attrs.group != "" or attrs.subresource or attrs.obj is None or not attrs.namespace:
            return False
        if attrs.resource == "pods":
            return attrs.operation is Operation.CREATE
        if attrs.resource == "persistentvolumeclaims":
            return attrs.operation in (Operation.CREATE, Operation.UPDATE)
        return False

    def _ranges(self, namespace: str) -> list[dict[str, Any]]:
        return sorted(
            self._objects.list("limitranges", namespace),
            key=lambda lr: str((lr.get("metadata") or {}).get("name", "")),
        )

    async def admit(self, attrs: AdmissionAttributes) -> None:
        if attrs.resource != "pods" or attrs.obj is None:
            return
        for lr in self._ranges(attrs.namespace):
            apply_defaults(lr, attrs.obj)

    async def validate(self, attrs: AdmissionAttributes) -> None:
        assert attrs.obj is not None
        errors: list[str] = []
        for lr in self._ranges(attrs.namespace):
            if attrs.resource == "pods":
                errors.extend(pod_violations(lr, attrs.obj))
            else:
                errors.extend(pvc_violations(lr, attrs.obj))
        if errors:
            raise forbidden(attrs, aggregate(errors))
