"""One scheduling cycle of the default profile: ``schedule_one`` and what surrounds it.

``Scheduler.schedule_one(pod, snapshot)`` is pure: it reads the snapshot and returns a
:class:`ScheduleResult`; the I/O loop binds (``binding_for``), records events and, on failure,
patches the ``PodScheduled`` condition and ``nominatedNodeName`` and deletes victims.

Steps, as ``schedulePod``:
1. PreFilter; a rejection rejects every node (``PreFilterMsg``).
2. A pod with ``status.nominatedNodeName`` tries that node first.
3. Filters over the nodes, starting where the previous cycle stopped (round robin), until
   ``num_feasible_nodes_to_find`` feasible nodes are found (all nodes below 100).
4. One feasible node is chosen without scoring; otherwise every score plugin scores, scores are
   weighted and summed, and :func:`select_host` picks the best, ties broken at random.
5. No feasible node: DefaultPreemption (PostFilter), then the FitError message
   (:func:`fit_error_message`), e.g. ``0/3 nodes are available: 1 node(s) had untolerated
   taint(s), 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are
   available: 3 Preemption is not helpful for scheduling.``
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from k3trio.scheduler import interpodaffinity, scores, topologyspread
from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot
from k3trio.scheduler.pipeline import filter_node, prefilter
from k3trio.scheduler.preemption import preempt
from k3trio.scheduler.status import Status

__all__ = [
    "ScheduleResult",
    "Scheduler",
    "binding_for",
    "fit_error_message",
    "num_feasible_nodes_to_find",
    "select_host",
    "unschedulable_condition",
]

NO_NODE_AVAILABLE = "0/{} nodes are available"
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50

ScoreFn = Callable[[CycleState, list[NodeInfo]], "list[int] | None"]
SCORERS: tuple[tuple[str, ScoreFn], ...] = (
    ("TaintToleration", scores.taint_toleration),
    ("NodeAffinity", scores.node_affinity),
    ("NodeResourcesFit", scores.least_allocated),
    ("NodeResourcesBalancedAllocation", scores.balanced_allocation),
    ("ImageLocality", scores.image_locality),
    ("InterPodAffinity", interpodaffinity.score_nodes),
    ("PodTopologySpread", topologyspread.score_nodes),
)


def fit_error_message(num_all_nodes: int, statuses: Mapping[str, Status], prefilter_msg: str = "",
                      postfilter_msg: str = "") -> str:
    """``FitError.Error()``: reasons counted over nodes, each ``"<n> <reason>"``, sorted as
    strings and joined with ``", "``; PreFilter's message replaces them; PostFilter's follows
    (one closing period, as current releases print it)."""
    msg = NO_NODE_AVAILABLE.format(num_all_nodes) + ":"
    if prefilter_msg:
        msg += f" {prefilter_msg}."
    else:
        counts: dict[str, int] = {}
        for status in statuses.values():
            for reason in status.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        if counts:
            msg += " " + ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items())) + "."
    if postfilter_msg:
        msg += f" {postfilter_msg}" + ("" if postfilter_msg.endswith(".") else ".")
    return msg


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """``numFeasibleNodesToFind`` with ``percentageOfNodesToScore`` (0: adaptive)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def select_host(scored: Sequence[tuple[str, int]], rng: random.Random) -> str:
    """``selectHost``: the highest total; ties broken uniformly by reservoir sampling."""
    if not scored:
        raise ValueError("empty priority list")
    best_name, best = scored[0]
    ties = 1
    for name, score in scored[1:]:
        if score > best:
            best_name, best, ties = name, score, 1
        elif score == best:
            ties += 1
            if rng.randrange(ties) == 0:
                best_name = name
    return best_name


@dataclass
class ScheduleResult:
    """The outcome of one cycle.

    ``node`` is the chosen node or ``None``; then ``message`` is the FailedScheduling text,
    ``statuses`` each rejected node's status, ``nominated_node``/``victims`` preemption's
    choice (delete the victims, set ``status.nominatedNodeName``) and ``unschedulable_plugins``
    the plugins that rejected (for queueing hints).
    """

    node: str | None
    feasible: int = 0
    evaluated: int = 0
    statuses: dict[str, Status] = field(default_factory=dict)
    message: str = ""
    nominated_node: str | None = None
    victims: list[PodInfo] = field(default_factory=list)
    clear_nominations: list[PodInfo] = field(default_factory=list)
    unschedulable_plugins: frozenset[str] = frozenset()
    scores: dict[str, int] = field(default_factory=dict)


class Scheduler:
    """The default profile's decision logic; holds the tie-break RNG and round-robin index."""

    def __init__(self, *, weights: Mapping[str, int] | None = None, seed: int | None = None,
                 percentage_of_nodes_to_score: int = 0, preemption: bool = True) -> None:
        self.weights = dict(scores.DEFAULT_WEIGHTS if weights is None else weights)
        self.rng = random.Random(seed)
        self.percentage = percentage_of_nodes_to_score
        self.preemption = preemption
        self.next_start = 0

    def schedule_one(self, pod: Mapping[str, Any] | PodInfo, snapshot: Snapshot) -> ScheduleResult:
        pi = pod if isinstance(pod, PodInfo) else PodInfo.of(pod)
        state = CycleState.for_pod(pi, snapshot)
        nodes = snapshot.nodes
        total = len(nodes)
        if total == 0:
            return ScheduleResult(None, message="no nodes available to schedule pods")
        pre = prefilter(state)
        if pre.status is not None:
            rejected = {n.name: pre.status for n in nodes}
            return self._fail(state, rejected, pre.status.message, {pre.status.plugin})
        statuses: dict[str, Status] = {}
        candidates = nodes
        if pre.node_names is not None:
            candidates = [n for n in nodes if n.name in pre.node_names]
            absent = st.unresolvable(pre.narrowed_by[0], f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(pre.narrowed_by))}]")
            for n in nodes:
                if n.name not in pre.node_names:
                    statuses[n.name] = absent
        nominated = (pi.pod.get("status") or {}).get("nominatedNodeName")
        if nominated:
            nom = snapshot.get(nominated)
            if nom is not None and (pre.node_names is None or nom.name in pre.node_names) and filter_node(state, nom) is None:
                return ScheduleResult(nom.name, feasible=1, evaluated=1)
        feasible, evaluated = self._find_feasible(state, candidates, statuses)
        if not feasible:
            return self._fail(state, statuses, "", {s.plugin for s in statuses.values()}, evaluated=evaluated)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, feasible=1, evaluated=evaluated, statuses=statuses)
        totals = self.prioritize(state, feasible)
        chosen = select_host(list(totals.items()), self.rng)
        return ScheduleResult(chosen, feasible=len(feasible), evaluated=evaluated, statuses=statuses, scores=totals)

    def _find_feasible(self, state: CycleState, nodes: list[NodeInfo],
                       statuses: dict[str, Status]) -> tuple[list[NodeInfo], int]:
        n = len(nodes)
        want = num_feasible_nodes_to_find(n, self.percentage)
        start = self.next_start % n if n else 0
        feasible: list[NodeInfo] = []
        processed = 0
        for i in range(n):
            node = nodes[(start + i) % n]
            processed += 1
            status = filter_node(state, node)
            if status is None:
                feasible.append(node)
                if len(feasible) >= want:
                    break
            else:
                statuses[node.name] = status
        if n:
            self.next_start = (start + processed) % n
        return feasible, processed

    def prioritize(self, state: CycleState, nodes: list[NodeInfo]) -> dict[str, int]:
        """Weighted sum of every score plugin's normalized scores, per node name."""
        totals = dict.fromkeys((n.name for n in nodes), 0)
        for name, fn in SCORERS:
            weight = self.weights.get(name, 0)
            if not weight:
                continue
            result = fn(state, nodes)
            if result is None:
                continue
            for node, score in zip(nodes, result):
                totals[node.name] += score * weight
        return totals

    def _fail(self, state: CycleState, statuses: dict[str, Status], prefilter_msg: str,
              plugins: set[str], evaluated: int = 0) -> ScheduleResult:
        total = len(state.snapshot.nodes)
        result = ScheduleResult(None, evaluated=evaluated, statuses=statuses,
                                unschedulable_plugins=frozenset(p for p in plugins if p))
        postfilter_msg = ""
        if self.preemption:
            pr = preempt(state, statuses, total, fit_error_message)
            postfilter_msg = pr.message
            result.nominated_node = pr.nominated_node
            result.victims = pr.victims
            result.clear_nominations = pr.clear_nominations
        result.message = fit_error_message(total, statuses, prefilter_msg, postfilter_msg)
        return result


def binding_for(pod: Mapping[str, Any], node: str) -> dict[str, Any]:
    """The ``v1 Binding`` to POST to ``pods/<name>/binding``."""
    meta = pod.get("metadata") or {}
    binding_meta: dict[str, Any] = {"name": meta.get("name", ""), "namespace": meta.get("namespace") or "default"}
    if meta.get("uid"):
        binding_meta["uid"] = meta["uid"]
    return {"apiVersion": "v1", "kind": "Binding", "metadata": binding_meta,
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}  # fmt: skip


def unschedulable_condition(message: str, now: str, reason: str = "Unschedulable") -> dict[str, Any]:
    """The ``PodScheduled=False`` condition the scheduler writes for an unschedulable pod."""
    return {"type": "PodScheduled", "status": "False", "reason": reason, "message": message,
            "lastProbeTime": None, "lastTransitionTime": now}  # fmt: skip
