"""What an object costs against a ResourceQuota (the quota "evaluators"), as pure functions.

Shared by the ResourceQuota admission plugin and the quota controller (which recomputes
``status.used`` from every object of a namespace). For a resource ``r`` in group ``g``:

- every object counts ``count/r.g`` (``count/r`` in the core group);
- pods: ``pods`` (only while not terminal), ``cpu``/``requests.cpu``, ``limits.cpu``, the
  same for ``memory`` and ``ephemeral-storage``, ``hugepages-*``, and ``requests.<name>`` for
  extended resources; requests/limits are the pod totals of the upstream resource helpers;
- services: ``services``, ``services.nodeports`` (NodePort/LoadBalancer ports, only the
  explicit ones when a LoadBalancer allocates none), ``services.loadbalancers``;
- persistentvolumeclaims: ``persistentvolumeclaims``, ``requests.storage`` and the per-class
  ``<class>.storageclass.storage.k8s.io/{requests.storage,persistentvolumeclaims}``;
- configmaps, secrets, replicationcontrollers, resourcequotas: their legacy plain names.

Quota scopes (``Terminating``, ``NotTerminating``, ``BestEffort``, ``NotBestEffort``,
``PriorityClass``, ``CrossNamespacePodAffinity``) only select pods; a quota with scopes does
not apply to any other kind, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from k3trio.api.quantity import Quantity
from k3trio.apiserver.admission._common import (
    ResourceList,
    container_limits,
    container_requests,
    pod_limits,
    pod_requests,
    resource_list,
    spec_of,
)

ONE = Quantity.from_int(1)
_LEGACY_COUNTS = {"configmaps", "secrets", "replicationcontrollers", "resourcequotas",
                  "services", "persistentvolumeclaims", "pods"}  # fmt: skip
POD_RESOURCES = frozenset({
    "count/pods", "pods", "cpu", "memory", "ephemeral-storage",
    "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage",
})  # fmt: skip
SERVICE_RESOURCES = frozenset({"count/services", "services", "services.nodeports", "services.loadbalancers"})
PVC_RESOURCES = frozenset({"count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"})
# Quotas on these make every container name them explicitly (a historical requirement).
CONTAINER_REQUIRED = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})
_STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
_STANDARD_PREFIXES = ("kubernetes.io/",)


def count_name(resource: str, group: str) -> str:
    return f"count/{resource}.{group}" if group else f"count/{resource}"


def is_extended(name: str) -> bool:
    """``IsExtendedResourceName``: domain-qualified, not ``*kubernetes.io/``, not ``requests.``."""
    if "/" not in name or name.startswith("requests.") or name.startswith("count/"):
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def pod_is_live(pod: Mapping[str, Any], now: datetime | None = None) -> bool:
    """``QuotaV1Pod``: terminal pods and pods past their deletion grace period do not count."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    ts, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if ts and grace is not None:
        try:
            deleted = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        except ValueError:
            return True
        if (now or _now()) > deleted + timedelta(seconds=int(grace)):
            return False
    return True


def _compute(requests: ResourceList, limits: ResourceList) -> ResourceList:
    out: ResourceList = {"pods": ONE}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = requests[name]
            out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = q
            out[f"requests.{name}"] = q
        if is_extended(name):
            out[f"requests.{name}"] = q
    return out


def pod_usage(pod: Mapping[str, Any], now: datetime | None = None) -> ResourceList:
    usage: ResourceList = {"count/pods": ONE}
    if not pod_is_live(pod, now):
        return usage
    usage.update(_compute(pod_requests(pod), pod_limits(pod)))
    return usage


def service_usage(svc: Mapping[str, Any]) -> ResourceList:
    spec = spec_of(svc)
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    usage: ResourceList = {"count/services": ONE, "services": ONE}
    stype = spec.get("type") or "ClusterIP"
    if stype == "NodePort":
        usage["services.nodeports"] = Quantity.from_int(len(ports))
    elif stype == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            usage["services.nodeports"] = Quantity.from_int(sum(1 for p in ports if p.get("nodePort")))
        else:
            usage["services.nodeports"] = Quantity.from_int(len(ports))
        usage["services.loadbalancers"] = ONE
    return usage


def storage_class_of(pvc: Mapping[str, Any]) -> str:
    ann = (pvc.get("metadata") or {}).get("annotations") or {}
    beta = ann.get("volume.beta.kubernetes.io/storage-class")
    if beta:
        return str(beta)
    return str(spec_of(pvc).get("storageClassName") or "")


def pvc_usage(pvc: Mapping[str, Any]) -> ResourceList:
    usage: ResourceList = {"count/persistentvolumeclaims": ONE, "persistentvolumeclaims": ONE}
    sc = storage_class_of(pvc)
    if sc:
        usage[f"{sc}{_STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
    requested = resource_list((spec_of(pvc).get("resources") or {}).get("requests")).get("storage")
    allocated = resource_list((pvc.get("status") or {}).get("allocatedResources")).get("storage")
    storage = requested
    if allocated is not None and (storage is None or storage < allocated):
        storage = allocated
    if storage is not None:
        usage["requests.storage"] = storage
        if sc:
            usage[f"{sc}{_STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return usage


def usage(resource: str, group: str, obj: Mapping[str, Any], now: datetime | None = None) -> ResourceList:
    """Everything ``obj`` (a ``resource.group`` object) uses, keyed by quota resource name."""
    if group == "":
        if resource == "pods":
            return pod_usage(obj, now)
        if resource == "services":
            return service_usage(obj)
        if resource == "persistentvolumeclaims":
            return pvc_usage(obj)
    out: ResourceList = {count_name(resource, group): ONE}
    if group == "" and resource in _LEGACY_COUNTS:
        out[resource] = ONE
    return out


def matching_resources(resource: str, group: str, hard: list[str]) -> list[str]:
    """The names in a quota's ``hard`` that this kind's usage can change (``MatchingResources``)."""
    if group == "" and resource == "pods":
        return sorted(
            n for n in hard
            if n in POD_RESOURCES or n.startswith("hugepages-") or n.startswith("requests.hugepages-")
            or (n.startswith("requests.") and is_extended(n[len("requests."):]))
        )  # fmt: skip
    if group == "" and resource == "services":
        return sorted(n for n in hard if n in SERVICE_RESOURCES)
    if group == "" and resource == "persistentvolumeclaims":
        return sorted(
            n for n in hard
            if n in PVC_RESOURCES or (_STORAGE_CLASS_SUFFIX in n and n.split("/", 1)[1] in ("requests.storage", "persistentvolumeclaims"))
        )  # fmt: skip
    names = {count_name(resource, group)}
    if group == "" and resource in _LEGACY_COUNTS:
        names.add(resource)
    return sorted(n for n in hard if n in names)


# -- scopes ----------------------------------------------------------------------------------


def _is_best_effort(pod: Mapping[str, Any]) -> bool:
    spec = spec_of(pod)
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            for rl in (container_requests(c), container_limits(c)):
                if any(n in ("cpu", "memory") and not q.is_zero() for n, q in rl.items()):
                    return False
    pod_level = spec.get("resources") or {}
    for rl in (resource_list(pod_level.get("requests")), resource_list(pod_level.get("limits"))):
        if any(n in ("cpu", "memory") and not q.is_zero() for n, q in rl.items()):
            return False
    return True


def _is_terminating(pod: Mapping[str, Any]) -> bool:
    ads = spec_of(pod).get("activeDeadlineSeconds")
    return isinstance(ads, int) and ads >= 0


def _cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    aff = spec_of(pod).get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        block = aff.get(kind) or {}
        terms = list(block.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [t.get("podAffinityTerm") or {} for t in block.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        for term in terms:
            if term.get("namespaces") or term.get("namespaceSelector") is not None:
                return True
    return False


def scope_selectors(quota: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = spec_of(quota)
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    out += [dict(e) for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or [] if isinstance(e, dict)]
    return out


def pod_matches_scope(selector: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    scope = selector.get("scopeName")
    if scope == "Terminating":
        return _is_terminating(pod)
    if scope == "NotTerminating":
        return not _is_terminating(pod)
    if scope == "BestEffort":
        return _is_best_effort(pod)
    if scope == "NotBestEffort":
        return not _is_best_effort(pod)
    if scope == "CrossNamespacePodAffinity":
        return _cross_namespace_affinity(pod)
    if scope == "PriorityClass":
        name = str(spec_of(pod).get("priorityClassName") or "")
        op, values = selector.get("operator"), list(selector.get("values") or [])
        if op == "Exists":
            return bool(name)
        if op == "DoesNotExist":
            return not name
        if op == "In":
            return bool(name) and name in values
        if op == "NotIn":
            return not name or name not in values
    return False


def quota_matches(quota: Mapping[str, Any], resource: str, group: str, obj: Mapping[str, Any]) -> bool:
    """Whether the quota's scopes select ``obj`` (unscoped quotas select everything)."""
    selectors = scope_selectors(quota)
    if not selectors:
        return True
    if group != "" or resource != "pods":
        return False
    return all(pod_matches_scope(s, obj) for s in selectors)


def missing_container_requirements(pod: Mapping[str, Any], required: list[str]) -> str | None:
    """``podEvaluator.Constraints``: ``must specify requests.cpu for: a,b; memory for: a``."""
    need = set(required) & CONTAINER_REQUIRED
    if not need:
        return None
    missing: dict[str, set[str]] = {}
    spec = spec_of(pod)
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            have = set(_compute(container_requests(c), container_limits(c)))
            for name in need - have:
                missing.setdefault(name, set()).add(str(c.get("name", "")))
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)
