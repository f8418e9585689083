"""InterPodAffinity: required (anti-)affinity as a filter, preferred terms as a score.

PreFilter counts, per topology pair ``(topologyKey, value)`` over the whole snapshot:
- ``existing_anti``: existing pods' required anti-affinity terms that match the incoming pod;
- ``affinity``: existing pods matching *all* the incoming pod's required affinity terms;
- ``anti``: existing pods matching each incoming required anti-affinity term.

Filter, as upstream, checks in order: affinity (``UnschedulableAndUnresolvable``; a pod whose
terms match nothing in the cluster but itself may go anywhere its topology labels exist), the
incoming pod's anti-affinity, then existing pods' anti-affinity (both ``Unschedulable``).
The counts are updated by :meth:`AffinityState.add_pod` / :meth:`remove_pod` during preemption.

Score sums, per topology pair, the weights of preferred terms in both directions (and existing
pods' required affinity with weight ``hard_pod_affinity_weight`` = 1), then min-max normalizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import AffinityTerm, NodeInfo, PodInfo
from k3trio.scheduler.status import Status

__all__ = ["AffinityState", "filter", "prefilter", "score_nodes"]

NAME = "InterPodAffinity"
HARD_POD_AFFINITY_WEIGHT = 1
Pair = tuple[str, str]


def _bump(counts: dict[Pair, int], pair: Pair, delta: int) -> None:
    n = counts.get(pair, 0) + delta
    if n:
        counts[pair] = n
    else:
        counts.pop(pair, None)


class AffinityState:
    __slots__ = ("existing_anti", "affinity", "anti", "pod")

    def __init__(self, pod: PodInfo) -> None:
        self.pod = pod
        self.existing_anti: dict[Pair, int] = {}
        self.affinity: dict[Pair, int] = {}
        self.anti: dict[Pair, int] = {}

    def clone(self) -> AffinityState:
        c = AffinityState(self.pod)
        c.existing_anti, c.affinity, c.anti = dict(self.existing_anti), dict(self.affinity), dict(self.anti)
        return c

    def update(self, state: CycleState, other: PodInfo, node: NodeInfo, delta: int) -> None:
        labels = node.labels
        pod = self.pod
        pod_ns_labels = state.snapshot.namespace_labels_of(pod.namespace)
        for term in other.required_anti_affinity:
            if term.topology_key in labels and term.matches(pod.namespace, pod.labels, pod_ns_labels):
                _bump(self.existing_anti, (term.topology_key, labels[term.topology_key]), delta)
        if pod.required_affinity or pod.required_anti_affinity:
            other_ns_labels = state.snapshot.namespace_labels_of(other.namespace)
            if pod.required_affinity and all(
                t.matches(other.namespace, other.labels, other_ns_labels) for t in pod.required_affinity
            ):
                for t in pod.required_affinity:
                    if t.topology_key in labels:
                        _bump(self.affinity, (t.topology_key, labels[t.topology_key]), delta)
            for t in pod.required_anti_affinity:
                if t.topology_key in labels and t.matches(other.namespace, other.labels, other_ns_labels):
                    _bump(self.anti, (t.topology_key, labels[t.topology_key]), delta)

    def add_pod(self, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        self.update(state, other, node, 1)

    def remove_pod(self, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        self.update(state, other, node, -1)


def prefilter(state: CycleState) -> Status | None:
    pod = state.pod
    aff = AffinityState(pod)
    incoming = bool(pod.required_affinity or pod.required_anti_affinity)
    for node in state.snapshot.nodes:
        if not node.labels or (not incoming and not node.with_required_anti_affinity):
            continue
        for other in node.pods.values():
            if incoming or other.required_anti_affinity:
                aff.update(state, other, node, 1)
    if not incoming and not aff.existing_anti:
        state.skip_filters.add(NAME)
    state.data[NAME] = aff
    return None


def _matches_own_terms(pod: PodInfo, terms: Iterable[AffinityTerm], ns_labels: Mapping[str, str]) -> bool:
    return all(t.matches(pod.namespace, pod.labels, ns_labels) for t in terms)


def filter(state: CycleState, node: NodeInfo) -> Status | None:  # noqa: A001 - plugin verb
    aff: AffinityState | None = state.data.get(NAME)
    if aff is None:
        return None
    pod = state.pod
    labels = node.labels
    if pod.required_affinity:
        pods_exist = True
        for t in pod.required_affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return st.unresolvable(NAME, st.REASON_POD_AFFINITY)
            if aff.affinity.get((t.topology_key, value), 0) <= 0:
                pods_exist = False
        if not pods_exist:
            ns_labels = state.snapshot.namespace_labels_of(pod.namespace)
            if aff.affinity or not _matches_own_terms(pod, pod.required_affinity, ns_labels):
                return st.unresolvable(NAME, st.REASON_POD_AFFINITY)
    if aff.anti:
        for t in pod.required_anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and aff.anti.get((t.topology_key, value), 0) > 0:
                return st.unschedulable(NAME, st.REASON_POD_ANTI_AFFINITY)
    if aff.existing_anti:
        for pair in labels.items():
            if aff.existing_anti.get(pair, 0) > 0:
                return st.unschedulable(NAME, st.REASON_EXISTING_ANTI_AFFINITY)
    return None


def score_nodes(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    """Scores (already normalized to 0..100) for ``nodes``, or ``None`` when the plugin skips."""
    pod = state.pod
    snap = state.snapshot
    has_constraints = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
    pod_ns_labels = snap.namespace_labels_of(pod.namespace)
    topo: dict[Pair, int] = {}

    def add(term: AffinityTerm, weight: int, target: PodInfo, target_ns_labels: Mapping[str, str] | None,
            node: NodeInfo, sign: int) -> None:
        value = node.labels.get(term.topology_key)
        if value is None or not term.matches(target.namespace, target.labels, target_ns_labels):
            return
        pair = (term.topology_key, value)
        topo[pair] = topo.get(pair, 0) + sign * weight

    any_affinity = False
    for node in snap.nodes:
        if not node.labels or (not has_constraints and not node.with_affinity):
            continue
        for other in node.pods.values():
            if not has_constraints and not other.has_affinity:
                continue
            any_affinity = any_affinity or other.has_affinity
            if has_constraints:
                other_ns = snap.namespace_labels_of(other.namespace)
                for w in pod.preferred_affinity:
                    add(w.term, w.weight, other, other_ns, node, 1)
                for w in pod.preferred_anti_affinity:
                    add(w.term, w.weight, other, other_ns, node, -1)
            for t in other.required_affinity:
                add(t, HARD_POD_AFFINITY_WEIGHT, pod, pod_ns_labels, node, 1)
            for w in other.preferred_affinity:
                add(w.term, w.weight, pod, pod_ns_labels, node, 1)
            for w in other.preferred_anti_affinity:
                add(w.term, w.weight, pod, pod_ns_labels, node, -1)
    if not has_constraints and not any_affinity:
        return None
    raw = [sum(topo.get(pair, 0) for pair in n.labels.items()) if topo else 0 for n in nodes]
    if not topo:
        return [0] * len(nodes)
    lo, hi = min(raw), max(raw)
    diff = hi - lo
    return [int(100 * ((s - lo) / diff)) if diff > 0 else 0 for s in raw]
