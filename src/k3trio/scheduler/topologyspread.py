"""PodTopologySpread: ``DoNotSchedule`` constraints filter, ``ScheduleAnyway`` ones score.

A constraint counts, per value of its topology key, the pods in the incoming pod's namespace
that match its selector (``labelSelector`` plus ``matchLabelKeys`` taken from the pod's own
labels) and are not terminating. Only nodes that carry every constraint's key and pass the
constraint's inclusion policies are counted: ``nodeAffinityPolicy: Honor`` (default) needs the
pod's node selector/affinity to match, ``nodeTaintsPolicy: Honor`` (default ``Ignore``) needs the
node's taints tolerated.

Filter: ``count(value) + selfMatch - globalMin <= maxSkew`` where ``globalMin`` is 0 while
fewer than ``minDomains`` domains exist. A node without the key is
``UnschedulableAndUnresolvable`` (missing required label), a skew ``Unschedulable``.

Score: pods without constraints get the system default (hostname maxSkew 3, zone maxSkew 5,
``ScheduleAnyway``) with a selector built from the Services/ReplicaSets/StatefulSets/
ReplicationControllers that select the pod. Per node ``sum(count * log(domains + 2) +
maxSkew - 1)``, normalized so that the emptiest domain scores 100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k3trio.api.labels import IN, NOTHING, Requirement, Selector, SelectorError, from_label_selector
from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.helpers import find_untolerated_taint
from k3trio.scheduler.nodeinfo import NodeInfo, PodInfo
from k3trio.scheduler.status import Status

__all__ = ["Constraint", "SpreadState", "constraints_of", "filter", "prefilter", "score_nodes"]

NAME = "PodTopologySpread"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False

    def includes(self, state: CycleState, node: NodeInfo) -> bool:
        if self.honor_affinity and not state.node_affinity.empty and not state.node_affinity.matches(node.name, node.labels):
            return False
        if self.honor_taints and node.taints and find_untolerated_taint(node.taints, state.tolerations) is not None:
            return False
        return True


def _merge_match_label_keys(selector: Selector, keys: list[str], labels: Mapping[str, str]) -> Selector:
    extra = [Requirement(k, IN, (labels[k],)) for k in keys if k in labels]
    return selector.add(*extra) if extra and not selector.nothing else selector


def constraints_of(pod: PodInfo, when: str) -> list[Constraint]:
    """The pod's constraints with ``whenUnsatisfiable == when``."""
    out = []
    for c in (pod.pod.get("spec") or {}).get("topologySpreadConstraints") or ():
        if (c.get("whenUnsatisfiable") or "DoNotSchedule") != when:
            continue
        try:
            sel = from_label_selector(c.get("labelSelector"))
        except SelectorError:
            sel = NOTHING
        sel = _merge_match_label_keys(sel, list(c.get("matchLabelKeys") or ()), pod.labels)
        out.append(Constraint(
            max_skew=int(c.get("maxSkew") or 1),
            topology_key=c.get("topologyKey", ""),
            selector=sel,
            min_domains=int(c.get("minDomains") or 1),
            honor_affinity=(c.get("nodeAffinityPolicy") or "Honor") == "Honor",
            honor_taints=(c.get("nodeTaintsPolicy") or "Ignore") == "Honor",
        ))  # fmt: skip
    return out


def _default_constraints(state: CycleState) -> list[Constraint]:
    pod = state.pod
    reqs: dict[Requirement, None] = {}
    for ns, sel in state.snapshot.spread_selectors:
        if ns == pod.namespace and not sel.nothing and not sel.empty and sel.matches(pod.labels):
            reqs.update(dict.fromkeys(sel.requirements))
    if not reqs:
        return []
    selector = Selector(tuple(sorted(reqs, key=lambda r: r.key)))
    return [Constraint(3, HOSTNAME, selector, honor_affinity=True), Constraint(5, ZONE, selector, honor_affinity=True)]


def _count(node: NodeInfo, selector: Selector, namespace: str) -> int:
    """Live pods of ``namespace`` on ``node`` matching ``selector``, memoized per node generation."""
    key = (namespace, selector)
    hit = node.match_cache.get(key)
    if hit is not None and hit[0] == node.generation:
        return hit[1]
    n = 0
    for p in node.pods.values():
        if p.terminating or p.namespace != namespace:
            continue
        if selector.matches(p.labels):
            n += 1
    if len(node.match_cache) >= 64:
        node.match_cache.clear()
    node.match_cache[key] = (node.generation, n)
    return n


def _has_keys(node: NodeInfo, constraints: list[Constraint]) -> bool:
    return all(c.topology_key in node.labels for c in constraints)


class SpreadState:
    __slots__ = ("constraints", "counts")

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        self.counts: list[dict[str, int]] = [{} for _ in constraints]

    def clone(self) -> SpreadState:
        c = SpreadState(self.constraints)
        c.counts = [dict(m) for m in self.counts]
        return c

    def _update(self, state: CycleState, other: PodInfo, node: NodeInfo, delta: int) -> None:
        if other.namespace != state.pod.namespace or not _has_keys(node, self.constraints):
            return
        for i, c in enumerate(self.constraints):
            if c.includes(state, node) and c.selector.matches(other.labels):
                value = node.labels[c.topology_key]
                self.counts[i][value] = self.counts[i].get(value, 0) + delta

    def add_pod(self, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, other, node, 1)

    def remove_pod(self, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, other, node, -1)

    def min_match(self, i: int) -> int:
        counts = self.counts[i]
        if not counts or len(counts) < self.constraints[i].min_domains:
            return 0
        return min(counts.values())


def prefilter(state: CycleState) -> Status | None:
    constraints = constraints_of(state.pod, "DoNotSchedule")
    if not constraints:
        state.skip_filters.add(NAME)
        return None
    ss = SpreadState(constraints)
    ns = state.pod.namespace
    for node in state.snapshot.nodes:
        if not _has_keys(node, constraints):
            continue
        for i, c in enumerate(constraints):
            if c.includes(state, node):
                value = node.labels[c.topology_key]
                ss.counts[i][value] = ss.counts[i].get(value, 0) + _count(node, c.selector, ns)
    state.data[NAME] = ss
    return None


def filter(state: CycleState, node: NodeInfo) -> Status | None:  # noqa: A001 - plugin verb
    ss: SpreadState | None = state.data.get(NAME)
    if ss is None:
        return None
    labels = state.pod.labels
    for i, c in enumerate(ss.constraints):
        value = node.labels.get(c.topology_key)
        if value is None:
            return st.unresolvable(NAME, st.REASON_SPREAD_LABEL)
        self_match = 1 if c.selector.matches(labels) else 0
        skew = ss.counts[i].get(value, 0) + self_match - ss.min_match(i)
        if skew > c.max_skew:
            return st.unschedulable(NAME, st.REASON_SPREAD)
    return None


def score_nodes(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    """Normalized 0..100 scores for ``nodes`` (the feasible ones), or ``None`` to skip."""
    explicit = bool((state.pod.pod.get("spec") or {}).get("topologySpreadConstraints"))
    constraints = constraints_of(state.pod, "ScheduleAnyway") if explicit else _default_constraints(state)
    if not nodes or not constraints:
        return None
    require_all = explicit
    ns = state.pod.namespace
    memo: dict[tuple[str, int], int] = {}

    def count(node: NodeInfo, i: int) -> int:
        key = (node.name, id(constraints[i].selector))  # default constraints share one selector
        if key not in memo:
            memo[key] = _count(node, constraints[i].selector, ns)
        return memo[key]

    ignored: set[str] = set()
    value_counts: list[dict[str, int]] = [{} for _ in constraints]  # per constraint, not hostname
    for node in nodes:
        if require_all and not _has_keys(node, constraints):
            ignored.add(node.name)
            continue
        for i, c in enumerate(constraints):
            if c.topology_key != HOSTNAME:
                value_counts[i].setdefault(node.labels.get(c.topology_key, ""), 0)
    weights = []
    for i, c in enumerate(constraints):
        size = len(nodes) - len(ignored) if c.topology_key == HOSTNAME else len(value_counts[i])
        weights.append(math.log(size + 2))
    if any(value_counts):
        for node in state.snapshot.nodes:
            if require_all and not _has_keys(node, constraints):
                continue
            for i, c in enumerate(constraints):
                if c.topology_key == HOSTNAME or not c.includes(state, node):
                    continue
                domain = node.labels.get(c.topology_key, "")
                if domain in value_counts[i]:
                    value_counts[i][domain] += count(node, i)
    raw: list[int] = []
    for node in nodes:
        if node.name in ignored:
            raw.append(0)
            continue
        total = 0.0
        for i, c in enumerate(constraints):
            value = node.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == HOSTNAME:
                cnt = count(node, i)
            else:
                cnt = value_counts[i].get(value, 0)
            total += cnt * weights[i] + (c.max_skew - 1)
        raw.append(_round_half_away(total))
    considered = [s for n, s in zip(nodes, raw) if n.name not in ignored]
    lo = min(considered) if considered else 0
    hi = max(considered) if considered else 0
    out = []
    for n, s in zip(nodes, raw):
        if n.name in ignored:
            out.append(0)
        elif hi == 0:
            out.append(100)
        else:
            out.append(100 * (hi + lo - s) // hi)
    return out


def _round_half_away(x: float) -> int:
    """Go's ``math.Round``: halves round away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def spread_state_of(state: CycleState) -> Any:
    return state.data.get(NAME)
