"""Running PreFilter and Filter plugins of the default profile for one pod.

:func:`prefilter` runs every PreFilter once per cycle (a rejection there rejects every node) and
may narrow the candidate nodes (NodeAffinity pinning ``metadata.name``). :func:`filter_node`
runs the filters on one node in upstream's order and stops at the first rejection, first with
the pods nominated to that node that have at least the pod's priority added (as
``RunFilterPluginsWithNominatedPods``), then without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from k3trio.scheduler import filters, interpodaffinity, status as st, topologyspread
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import NodeInfo
from k3trio.scheduler.status import Status

__all__ = ["FILTERS", "PreFilterResult", "filter_node", "prefilter", "run_filters"]

FilterFn = Callable[[CycleState, NodeInfo], "Status | None"]

FILTERS: tuple[tuple[str, FilterFn], ...] = (
    ("NodeUnschedulable", filters.node_unschedulable),
    ("NodeName", filters.node_name),
    ("TaintToleration", filters.taint_toleration),
    ("NodeAffinity", filters.node_affinity),
    ("NodePorts", filters.node_ports),
    ("NodeResourcesFit", filters.node_resources_fit),
    ("VolumeBinding", filters.volume_binding),
    ("PodTopologySpread", topologyspread.filter),
    ("InterPodAffinity", interpodaffinity.filter),
)
# plugins whose cycle state must follow pods added to / removed from a node (AddPod/RemovePod)
STATEFUL = ("PodTopologySpread", "InterPodAffinity")


@dataclass
class PreFilterResult:
    status: Status | None = None
    node_names: set[str] | None = None  # None: every node
    narrowed_by: tuple[str, ...] = ()


def prefilter(state: CycleState) -> PreFilterResult:
    result = PreFilterResult()
    names = state.node_affinity.node_names()
    if names is not None:
        if not names:
            return PreFilterResult(st.unresolvable("NodeAffinity", st.REASON_AFFINITY_CONFLICT))
        result.node_names = names
        result.narrowed_by = ("NodeAffinity",)
    for step in (filters.volume_binding_prefilter, topologyspread.prefilter, interpodaffinity.prefilter):
        status = step(state)
        if status is not None:
            return PreFilterResult(status)
    return result


def run_filters(state: CycleState, node: NodeInfo) -> Status | None:
    skip = state.skip_filters
    for name, fn in FILTERS:
        if name in skip:
            continue
        status = fn(state, node)
        if status is not None:
            return status
    return None


def _with_nominated(state: CycleState, node: NodeInfo) -> tuple[CycleState, NodeInfo] | None:
    nominated = state.snapshot.nominated.get(node.name)
    if not nominated:
        return None
    pod = state.pod
    extra = [p for p in nominated if p.key != pod.key and p.priority >= pod.priority]
    if not extra:
        return None
    state2 = state.clone()
    node2 = node.clone()
    for p in extra:
        node2.add_pod(p)
        for name in STATEFUL:
            plugin_state = state2.data.get(name)
            if plugin_state is not None:
                plugin_state.add_pod(state2, p, node2)
    return state2, node2


def filter_node(state: CycleState, node: NodeInfo) -> Status | None:
    """Filters on ``node``, honouring pods nominated there with at least the pod's priority."""
    added = _with_nominated(state, node)
    if added is not None:
        status = run_filters(*added)
        if status is not None:
            return status
    return run_filters(state, node)
