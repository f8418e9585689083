"""The node-local filter plugins of the default profile, in upstream's order.

Each filter is ``f(state, node) -> Status | None`` (``None``: the node fits). The reason strings
and codes are kube-scheduler v1.36's (see :mod:`k3trio.scheduler.status`). Inter-pod affinity and
topology spread, which need cluster-wide counts, live in their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.helpers import NodeSelector, find_untolerated_taint, tolerations_tolerate
from k3trio.scheduler.nodeinfo import CPU, EPHEMERAL, MEMORY, PODS, NodeInfo, parse_resources
from k3trio.scheduler.status import Status

__all__ = [
    "node_affinity",
    "node_name",
    "node_ports",
    "node_resources_fit",
    "node_unschedulable",
    "taint_toleration",
    "volume_binding",
    "volume_binding_prefilter",
]

UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def node_unschedulable(state: CycleState, node: NodeInfo) -> Status | None:
    """NodeUnschedulable: ``spec.unschedulable`` unless the pod tolerates the cordon taint."""
    if node.unschedulable and not tolerations_tolerate(state.tolerations, UNSCHEDULABLE_TAINT):
        return st.unresolvable("NodeUnschedulable", st.REASON_UNSCHEDULABLE)
    return None


def node_name(state: CycleState, node: NodeInfo) -> Status | None:
    """NodeName: a pod naming a node fits only that node."""
    wanted = (state.pod.pod.get("spec") or {}).get("nodeName")
    if wanted and wanted != node.name:
        return st.unresolvable("NodeName", st.REASON_NODE_NAME)
    return None


def taint_toleration(state: CycleState, node: NodeInfo) -> Status | None:
    """TaintToleration: every ``NoSchedule``/``NoExecute`` taint must be tolerated."""
    if node.taints and find_untolerated_taint(node.taints, state.tolerations) is not None:
        return st.unresolvable("TaintToleration", st.REASON_TAINT)
    return None


def node_affinity(state: CycleState, node: NodeInfo) -> Status | None:
    """NodeAffinity: ``nodeSelector`` and required node affinity terms."""
    if not state.node_affinity.empty and not state.node_affinity.matches(node.name, node.labels):
        return st.unresolvable("NodeAffinity", st.REASON_NODE_AFFINITY)
    return None


def node_ports(state: CycleState, node: NodeInfo) -> Status | None:
    """NodePorts: a wanted host port conflicts when protocol and port match and either address
    is the wildcard ``0.0.0.0`` or both are equal."""
    if not state.pod.host_ports or not node.used_ports:
        return None
    for ip, proto, port in state.pod.host_ports:
        for uip, uproto, uport in node.used_ports:
            if uport == port and uproto == proto and (ip == uip or ip == "0.0.0.0" or uip == "0.0.0.0"):
                return st.unschedulable("NodePorts", st.REASON_NODE_PORTS)
    return None


def node_resources_fit(state: CycleState, node: NodeInfo) -> Status | None:
    """NodeResourcesFit: pod count, then cpu, memory, ephemeral-storage, extended resources.

    Every shortfall is reported. When some request exceeds the node's allocatable outright no
    eviction can help, and the status is ``UnschedulableAndUnresolvable``.
    """
    reasons: list[str] = []
    unresolvable = False
    alloc, used = node.allocatable, node.requested
    if len(node.pods) + 1 > alloc.get(PODS, 0):
        reasons.append(st.REASON_TOO_MANY_PODS)
    req = state.pod.requests
    if any(req.values()):
        order = [CPU, MEMORY, EPHEMERAL] + sorted(k for k in req if k not in (CPU, MEMORY, EPHEMERAL, PODS))
        for name in order:
            want = req.get(name, 0)
            if want <= 0:
                continue
            have = alloc.get(name, 0)
            if want > have - used.get(name, 0):
                reasons.append(st.insufficient(name))
                unresolvable = unresolvable or want > have
    if not reasons:
        return None
    return Status(st.UNRESOLVABLE if unresolvable else st.UNSCHEDULABLE, tuple(reasons), "NodeResourcesFit")


# -- VolumeBinding ------------------------------------------------------------------------------

_NO_PROVISIONER = "kubernetes.io/no-provisioner"


class _VolumeState:
    __slots__ = ("bound", "delayed")

    def __init__(self) -> None:
        self.bound: list[Mapping[str, Any]] = []  # bound PVCs
        self.delayed: list[Mapping[str, Any]] = []  # WaitForFirstConsumer PVCs to bind


def _claim_names(pod: Mapping[str, Any]) -> list[str]:
    meta = pod.get("metadata") or {}
    names = []
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        if vol.get("persistentVolumeClaim"):
            names.append(vol["persistentVolumeClaim"].get("claimName", ""))
        elif vol.get("ephemeral"):
            names.append(f"{meta.get('name', '')}-{vol.get('name', '')}")
    return names


def volume_binding_prefilter(state: CycleState) -> Status | None:
    """VolumeBinding PreFilter: every claim must exist and not be terminating; bound claims
    are checked per node, ``WaitForFirstConsumer`` claims are matched per node, unbound
    ``Immediate`` claims make the pod wait for the PV controller."""
    names = _claim_names(state.pod.pod)
    if not names:
        state.skip_filters.add("VolumeBinding")
        return None
    vs = _VolumeState()
    unbound_immediate = False
    for name in names:
        pvc = state.snapshot.pvcs.get(f"{state.pod.namespace}/{name}")
        if pvc is None:
            return st.unresolvable("VolumeBinding", f'persistentvolumeclaim "{name}" not found')
        if (pvc.get("metadata") or {}).get("deletionTimestamp") is not None:
            return st.unresolvable("VolumeBinding", f'persistentvolumeclaim "{name}" is being deleted')
        if (pvc.get("spec") or {}).get("volumeName"):
            vs.bound.append(pvc)
            continue
        sc = state.snapshot.storage_classes.get((pvc.get("spec") or {}).get("storageClassName") or "")
        if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            vs.delayed.append(pvc)
        else:
            unbound_immediate = True
    if unbound_immediate:
        return st.unresolvable("VolumeBinding", st.REASON_UNBOUND_IMMEDIATE_PVC)
    state.data["VolumeBinding"] = vs
    return None


def _pv_fits_node(pv: Mapping[str, Any], node: NodeInfo) -> bool:
    required = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required"))
    return required is None or NodeSelector(required).matches(node.name, node.labels)


def _pv_matches_claim(pv: Mapping[str, Any], pvc: Mapping[str, Any]) -> bool:
    spec, cspec = pv.get("spec") or {}, pvc.get("spec") or {}
    ref = spec.get("claimRef")
    meta = pvc.get("metadata") or {}
    if ref and (ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace")):
        return False
    if not ref and (pv.get("status") or {}).get("phase") not in (None, "Available"):
        return False
    if (spec.get("storageClassName") or "") != (cspec.get("storageClassName") or ""):
        return False
    if not set(cspec.get("accessModes") or ()) <= set(spec.get("accessModes") or ()):
        return False
    want = parse_resources(((cspec.get("resources") or {}).get("requests") or {})).get("storage", 0)
    have = parse_resources(spec.get("capacity")).get("storage", 0)
    return have >= want


def volume_binding(state: CycleState, node: NodeInfo) -> Status | None:
    """VolumeBinding Filter: bound PVs' node affinity; a matching PV or a provisioner for
    delayed-binding claims."""
    vs: _VolumeState | None = state.data.get("VolumeBinding")
    if vs is None:
        return None
    snap = state.snapshot
    reasons: list[str] = []
    for pvc in vs.bound:
        pv = snap.pvs.get(pvc["spec"]["volumeName"])
        if pv is None:
            return st.unresolvable("VolumeBinding", st.REASON_PV_NOT_EXIST)
        if not _pv_fits_node(pv, node):
            reasons.append(st.REASON_VOLUME_NODE_CONFLICT)
            break
    for pvc in vs.delayed:
        if any(_pv_matches_claim(pv, pvc) and _pv_fits_node(pv, node) for pv in snap.pvs.values()):
            continue
        sc = snap.storage_classes.get((pvc.get("spec") or {}).get("storageClassName") or "") or {}
        if sc.get("provisioner") and sc.get("provisioner") != _NO_PROVISIONER and _topology_allows(sc, node):
            continue
        reasons.append(st.REASON_VOLUME_BIND_CONFLICT)
        break
    if reasons:
        return Status(st.UNRESOLVABLE, tuple(sorted(reasons)), "VolumeBinding")
    return None


def _topology_allows(sc: Mapping[str, Any], node: NodeInfo) -> bool:
    topologies = sc.get("allowedTopologies") or ()
    if not topologies:
        return True
    for term in topologies:
        exprs = term.get("matchLabelExpressions") or ()
        if all(node.labels.get(e.get("key", "")) in (e.get("values") or ()) for e in exprs):
            return True
    return False
