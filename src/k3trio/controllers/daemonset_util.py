"""Pure DaemonSet rules: which nodes run a daemon pod, what each node needs, rolling updates.

- ``should_run(node, ds)`` -> ``(should_run, should_continue_running)``: the template's
  ``nodeName`` (if any), ``nodeSelector`` and required node affinity must match; every
  NoSchedule/NoExecute taint must be tolerated for a new pod, only NoExecute ones for a pod
  already there. The daemon tolerations below are added first, as on the pods themselves.
- Daemon pods tolerate ``not-ready``/``unreachable`` (NoExecute, forever),
  ``disk-pressure``/``memory-pressure``/``pid-pressure``/``unschedulable`` (NoSchedule) and,
  with ``hostNetwork``, ``network-unavailable`` (NoSchedule).
- A pod targets a node by ``spec.nodeName`` or, before it is bound, by the required node
  affinity term ``matchFields metadata.name In [node]`` the controller writes (it replaces
  every required term; the scheduler does the binding).
- A pod is *updated* when its ``controller-revision-hash`` is the current hash (or its
  ``pod-template-generation`` the DaemonSet's template generation).
- ``node_actions``: create / delete decisions for one node (failed pods handed back to the
  caller, which applies the per-node backoff); ``rolling_update``: the old pods to delete and
  nodes to surge onto within ``maxUnavailable`` / ``maxSurge`` (upstream ``update.go``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..scheduler.helpers import RequiredNodeAffinity, find_untolerated_taint
from .base import Obj, meta_of
from .podcontrol import is_pod_available, is_pod_ready

__all__ = [
    "DAEMON_TOLERATIONS",
    "GENERATION_ANNOTATION",
    "GENERATION_LABEL",
    "HASH_LABEL",
    "add_daemon_tolerations",
    "is_pod_updated",
    "node_actions",
    "pod_template",
    "replace_node_affinity",
    "rolling_update",
    "should_run",
    "surge_and_unavailable",
    "target_node",
]

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE: Obj = {"key": "node.kubernetes.io/network-unavailable",
                            "operator": "Exists", "effect": "NoSchedule"}


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all((a.get(f) or "") == (b.get(f) or "") for f in ("key", "operator", "value",
                                                             "effect"))


def add_daemon_tolerations(spec: Obj) -> None:
    """Add the daemon tolerations to a pod ``spec`` (in place, no duplicates)."""
    tols: list[Obj] = [dict(t) for t in spec.get("tolerations") or []]
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE)
    for tol in wanted:
        # an existing toleration for the same key and effect wins (it may set seconds)
        if not any((t.get("key") == tol["key"] and (t.get("effect") or "") == tol["effect"])
                   or _same_toleration(t, tol) for t in tols):
            tols.append(dict(tol))
    spec["tolerations"] = tols


def template_generation(ds: Mapping[str, Any]) -> str | None:
    value = (meta_of(ds).get("annotations") or {}).get(GENERATION_ANNOTATION)
    return str(value) if value else None


def pod_template(ds: Mapping[str, Any], hash_: str) -> Obj:
    """The DaemonSet's pod template with the daemon tolerations and labels (no node yet)."""
    template = copy.deepcopy(dict((ds.get("spec") or {}).get("template") or {}))
    meta = template.setdefault("metadata", {})
    lab = dict(meta.get("labels") or {})
    gen = template_generation(ds)
    if gen is not None:
        lab[GENERATION_LABEL] = gen
    if hash_:
        lab[HASH_LABEL] = hash_
    meta["labels"] = lab
    add_daemon_tolerations(template.setdefault("spec", {}))
    return template


def replace_node_affinity(affinity: Mapping[str, Any] | None, node: str) -> Obj:
    """``affinity`` whose required node affinity is exactly ``metadata.name In [node]``."""
    out = copy.deepcopy(dict(affinity or {}))
    na = dict(out.get("nodeAffinity") or {})
    req = dict(na.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    req["nodeSelectorTerms"] = [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [node]}]}]
    na["requiredDuringSchedulingIgnoredDuringExecution"] = req
    out["nodeAffinity"] = na
    return out


def target_node(pod: Mapping[str, Any]) -> str:
    """The node a daemon pod is on, or is meant for (from its node affinity)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    for term in terms:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" \
                    and len(f.get("values") or []) == 1:
                return str(f["values"][0])
    return ""


def should_run(node: Mapping[str, Any], ds: Mapping[str, Any]) -> tuple[bool, bool]:
    """``(should_run, should_continue_running)`` of ``ds`` on ``node``."""
    tspec = dict(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    name = str(meta_of(node).get("name") or "")
    if tspec.get("nodeName") and tspec["nodeName"] != name:
        return False, False
    add_daemon_tolerations(tspec)
    if not RequiredNodeAffinity({"spec": tspec}).matches(name, meta_of(node).get("labels") or {}):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tols = tspec.get("tolerations") or []
    if find_untolerated_taint(taints, tols) is None:
        return True, True
    return False, find_untolerated_taint(taints, tols, ("NoExecute",)) is None


def is_pod_updated(pod: Mapping[str, Any], hash_: str, generation: str | None) -> bool:
    lab = meta_of(pod).get("labels") or {}
    if hash_ and lab.get(HASH_LABEL) == hash_:
        return True
    return generation is not None and lab.get(GENERATION_LABEL) == generation


def scaled(value: Any, total: int, round_up: bool = True) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


def surge_and_unavailable(ds: Mapping[str, Any], desired: int) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` against ``desired`` (percentages round up); never both
    zero while something is desired."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 1
    ru = strategy.get("rollingUpdate") or {}
    surge = scaled(ru.get("maxSurge", 0), desired)
    unavailable = scaled(ru.get("maxUnavailable", 1), desired)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def allows_surge(ds: Mapping[str, Any]) -> bool:
    return surge_and_unavailable(ds, 1)[0] > 0 if is_rolling(ds) else False


def is_rolling(ds: Mapping[str, Any]) -> bool:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    return bool(strategy.get("type", "RollingUpdate") == "RollingUpdate")


_PHASE_ORDER = {"Running": 0, "Pending": 1}


def by_creation_and_phase(pods: list[Obj]) -> list[Obj]:
    """Oldest first; at equal times, Running before others (upstream sort)."""
    return sorted(pods, key=lambda p: (
        str(meta_of(p).get("creationTimestamp") or ""),
        _PHASE_ORDER.get(str((p.get("status") or {}).get("phase") or ""), 2),
        str(meta_of(p).get("name") or "")))


def _phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def node_actions(node: Mapping[str, Any], ds: Mapping[str, Any], pods: list[Obj] | None,
                 hash_: str, now: datetime) -> tuple[bool, list[Obj], list[Obj]]:
    """``(create, pods_to_delete, failed_pods)`` for one node (upstream ``podsShouldBeOnNode``).

    ``failed_pods`` are Failed daemon pods the caller deletes unless the node is in backoff.
    """
    run, keep = should_run(node, ds)
    exists = pods is not None and len(pods) > 0
    to_delete: list[Obj] = []
    failed: list[Obj] = []
    if run and not exists:
        return True, [], []
    if keep:
        running: list[Obj] = []
        for pod in pods or []:
            if meta_of(pod).get("deletionTimestamp"):
                continue
            if _phase(pod) == "Failed":
                failed.append(pod)
            elif _phase(pod) == "Succeeded":
                to_delete.append(pod)
            else:
                running.append(pod)
        if not allows_surge(ds):
            if len(running) > 1:
                to_delete.extend(by_creation_and_phase(running)[1:])
            return False, to_delete, failed
        if len(running) <= 1:
            return (not running and run), to_delete, failed
        newest: Obj | None = None
        oldest_old: Obj | None = None
        for pod in by_creation_and_phase(running):
            if is_pod_updated(pod, hash_, template_generation(ds)):
                if newest is None:
                    newest = pod
                    continue
            elif oldest_old is None:
                oldest_old = pod
                continue
            to_delete.append(pod)
        if newest is not None and oldest_old is not None:
            mrs = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
            if not is_pod_ready(oldest_old) or is_pod_available(newest, mrs, now):
                to_delete.append(oldest_old)
        return False, to_delete, failed
    if not keep and exists:
        to_delete = [p for p in pods or [] if not meta_of(p).get("deletionTimestamp")]
    return False, to_delete, failed


def updated_pods_on_node(pods: list[Obj], hash_: str, generation: str | None
                         ) -> tuple[Obj | None, Obj | None, bool]:
    """``(new_pod, old_pod, ok)`` among live pods; not ok with two of a kind."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if meta_of(pod).get("deletionTimestamp"):
            continue
        if is_pod_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(
    ds: Mapping[str, Any],
    node_pods: Mapping[str, list[Obj]],
    nodes: Mapping[str, Obj],
    hash_: str,
    now: datetime,
) -> tuple[list[Obj], list[str]]:
    """``(old_pods_to_delete, nodes_to_create_on)`` of one rolling-update step."""
    desired = sum(1 for n in nodes.values() if should_run(n, ds)[0])
    surge, unavailable = surge_and_unavailable(ds, desired)
    mrs = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    gen = template_generation(ds)

    def available(p: Obj) -> bool:
        return is_pod_available(p, mrs, now)

    def runs(node_name: str) -> bool:
        node = nodes.get(node_name)
        return node is not None and should_run(node, ds)[0]

    if surge == 0:
        num_unavailable = 0
        replace: list[Obj] = []
        candidates: list[Obj] = []
        for node_name in sorted(node_pods):
            new, old, ok = updated_pods_on_node(node_pods[node_name], hash_, gen)
            if not ok:
                num_unavailable += 1
            elif (old is None and new is None) or (old is not None and new is not None):
                num_unavailable += 1
            elif new is not None:
                if not available(new):
                    num_unavailable += 1
            elif old is not None and not available(old):
                replace.append(old)
                num_unavailable += 1
            elif old is not None and num_unavailable < unavailable:
                candidates.append(old)
        remaining = min(max(unavailable - num_unavailable, 0), len(candidates))
        return replace + candidates[:remaining], []

    to_delete: list[Obj] = []
    should_not_run: list[Obj] = []
    candidate_nodes: list[str] = []
    allowed_nodes: list[str] = []
    num_surge = 0
    num_available = 0
    for node_name in sorted(node_pods):
        new, old, ok = updated_pods_on_node(node_pods[node_name], hash_, gen)
        if not ok:
            num_surge += 1
            continue
        if old is not None:
            num_available += 1 if available(old) else 0
        elif new is not None:
            num_available += 1 if available(new) else 0
        if old is None:
            continue
        if new is None:
            if not available(old):
                if not runs(node_name):
                    to_delete.append(old)
                    continue
                allowed_nodes.append(node_name)
            else:
                if not runs(node_name):
                    should_not_run.append(old)
                    continue
                if num_surge >= surge:
                    continue
                candidate_nodes.append(node_name)
        else:
            if not available(new):
                num_surge += 1
                continue
            to_delete.append(old)
    deletable = num_available - desired
    if deletable > 0:
        to_delete.extend(should_not_run[:deletable])
    remaining = min(max(surge - num_surge, 0), len(candidate_nodes))
    return to_delete, allowed_nodes + candidate_nodes[:remaining]


def daemon_status(
    ds: Mapping[str, Any],
    nodes: list[Obj],
    node_pods: Mapping[str, list[Obj]],
    hash_: str,
    now: datetime,
) -> dict[str, int]:
    """The counters of ``DaemonSetStatus`` (upstream ``updateDaemonSetStatus``)."""
    st = {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberMisscheduled": 0,
          "numberReady": 0, "updatedNumberScheduled": 0, "numberAvailable": 0}
    mrs = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    gen = template_generation(ds)
    for node in nodes:
        run, _ = should_run(node, ds)
        pods = node_pods.get(str(meta_of(node).get("name")), [])
        if run:
            st["desiredNumberScheduled"] += 1
            if not pods:
                continue
            st["currentNumberScheduled"] += 1
            pod = by_creation_and_phase(pods)[0]
            if is_pod_ready(pod):
                st["numberReady"] += 1
                if is_pod_available(pod, mrs, now):
                    st["numberAvailable"] += 1
            if is_pod_updated(pod, hash_, gen):
                st["updatedNumberScheduled"] += 1
        elif pods:
            st["numberMisscheduled"] += 1
    st["numberUnavailable"] = st["desiredNumberScheduled"] - st["numberAvailable"]
    return st
