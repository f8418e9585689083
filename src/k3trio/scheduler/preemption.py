"""DefaultPreemption: the PostFilter run when no node fits.

1. A pod with ``preemptionPolicy: Never``, or whose nominated node still has a lower-priority
   pod terminating by preemption, does not preempt.
2. Only nodes rejected with ``Unschedulable`` are tried; ``UnschedulableAndUnresolvable`` ones
   are "Preemption is not helpful for scheduling".
3. On each, all lower-priority pods are removed; if the pod then fits, victims are reprieved
   one at a time, most important first (higher priority, then earlier start), pods whose
   eviction would violate a PodDisruptionBudget first; a pod that cannot be put back is a
   victim.
4. The node is chosen by, in turn: fewest PDB violations, lowest highest-victim priority,
   lowest sum of victim priorities, fewest victims, latest start among the highest-priority
   victims, then node order.

The caller deletes the victims and sets ``status.nominatedNodeName``; the pod is retried later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from k3trio.api.labels import Selector, SelectorError, from_label_selector
from k3trio.scheduler import status as st
from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.nodeinfo import NodeInfo, PodInfo
from k3trio.scheduler.pipeline import STATEFUL, filter_node
from k3trio.scheduler.status import Status

__all__ = ["Candidate", "PreemptionResult", "eligible_to_preempt", "preempt", "select_victims_on_node"]

MAX_INT32 = 2**31 - 1


@dataclass
class Candidate:
    node: str
    victims: list[PodInfo]
    pdb_violations: int


@dataclass
class PreemptionResult:
    """``nominated_node`` is ``None`` when preemption cannot help; ``message`` is the
    PostFilter message appended to the FailedScheduling event."""

    nominated_node: str | None
    victims: list[PodInfo] = field(default_factory=list)
    message: str = ""
    statuses: dict[str, Status] = field(default_factory=dict)
    clear_nominations: list[PodInfo] = field(default_factory=list)


def _importance_key(p: PodInfo) -> tuple[int, str]:
    return (-p.priority, p.start_time or "9999")


def _terminating_by_preemption(p: PodInfo) -> bool:
    if not p.terminating:
        return False
    for c in (p.pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "DisruptionTarget" and c.get("reason") == "PreemptionByScheduler":
            return True
    return False


def eligible_to_preempt(state: CycleState, statuses: Mapping[str, Status]) -> str | None:
    """``PodEligibleToPreemptOthers``: ``None`` when eligible, else the reason."""
    pod = state.pod
    spec = pod.pod.get("spec") or {}
    if spec.get("preemptionPolicy") == "Never":
        return st.REASON_PREEMPT_NEVER
    nominated = (pod.pod.get("status") or {}).get("nominatedNodeName")
    if nominated:
        node_status = statuses.get(nominated)
        if node_status is not None and node_status.code == st.UNRESOLVABLE:
            return None
        node = state.snapshot.get(nominated)
        if node is not None:
            for p in node.pods.values():
                if p.priority < pod.priority and _terminating_by_preemption(p):
                    return st.REASON_TERMINATING_ON_NOMINATED
    return None


def _split_by_pdb(pods: Sequence[PodInfo], pdbs: Sequence[Mapping[str, Any]]) -> tuple[list[PodInfo], list[PodInfo]]:
    allowed = [int((pdb.get("status") or {}).get("disruptionsAllowed") or 0) for pdb in pdbs]
    selectors: list[Selector | None] = []
    for pdb in pdbs:
        try:
            selectors.append(from_label_selector((pdb.get("spec") or {}).get("selector")))
        except SelectorError:
            selectors.append(None)
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for p in pods:
        violated = False
        if p.labels:
            for i, pdb in enumerate(pdbs):
                meta = pdb.get("metadata") or {}
                sel = selectors[i]
                if (meta.get("namespace") or "default") != p.namespace or sel is None or sel.empty or sel.nothing:
                    continue
                if not sel.matches(p.labels):
                    continue
                if p.name in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else fine).append(p)
    return violating, fine


def _update_state(state: CycleState, p: PodInfo, node: NodeInfo, add: bool) -> None:
    for name in STATEFUL:
        plugin_state = state.data.get(name)
        if plugin_state is not None:
            (plugin_state.add_pod if add else plugin_state.remove_pod)(state, p, node)


def select_victims_on_node(state: CycleState, node: NodeInfo,
                           pdbs: Sequence[Mapping[str, Any]] = ()) -> tuple[list[PodInfo], int] | Status:
    """Victims on ``node`` and how many of them violate a PDB, or the filter status when even
    removing every lower-priority pod does not make the pod fit."""
    state = state.clone()
    node = node.clone()
    pod = state.pod
    lower = [p for p in node.pods.values() if p.priority < pod.priority]
    for p in lower:
        node.remove_pod(p)
        _update_state(state, p, node, add=False)
    status = filter_node(state, node)
    if status is not None:
        return status
    lower.sort(key=_importance_key)
    violating, fine = _split_by_pdb(lower, pdbs)
    victims: list[PodInfo] = []
    violations = 0

    def reprieve(p: PodInfo) -> bool:
        node.add_pod(p)
        _update_state(state, p, node, add=True)
        if filter_node(state, node) is None:
            return True
        node.remove_pod(p)
        _update_state(state, p, node, add=False)
        victims.append(p)
        return False

    for p in violating:
        if not reprieve(p):
            violations += 1
    for p in fine:
        reprieve(p)
    victims.sort(key=_importance_key)
    return victims, violations


def _earliest_top_start(victims: list[PodInfo]) -> str:
    top = max(v.priority for v in victims)
    return min((v.start_time or "9999") for v in victims if v.priority == top)


def pick_candidate(candidates: list[Candidate]) -> Candidate:
    """``pickOneNodeForPreemption``."""
    keys: list[Callable[[Candidate], Any]] = [
        lambda c: -c.pdb_violations,
        lambda c: -c.victims[0].priority,
        lambda c: -sum(v.priority + MAX_INT32 + 1 for v in c.victims),
        lambda c: -len(c.victims),
        lambda c: _earliest_top_start(c.victims),
    ]
    pool = candidates
    for key in keys:
        best = max(key(c) for c in pool)
        pool = [c for c in pool if key(c) == best]
        if len(pool) == 1:
            break
    return pool[0]


def preempt(state: CycleState, statuses: Mapping[str, Status], num_all_nodes: int,
            message: Callable[[int, Mapping[str, Status]], str]) -> PreemptionResult:
    """Run DefaultPreemption for ``state.pod`` given each node's filter status.

    Args:
        message: the fit-error composer (``framework.fit_error_message``) for the
            ``preemption: ...`` summary.
    """
    reason = eligible_to_preempt(state, statuses)
    if reason is not None:
        return PreemptionResult(None, message=reason)
    out: dict[str, Status] = {}
    candidates: list[Candidate] = []
    pod_priority = state.pod.priority
    for node in state.snapshot.nodes:
        node_status = statuses.get(node.name)
        if node_status is None or node_status.code != st.UNSCHEDULABLE:
            out[node.name] = st.unresolvable("DefaultPreemption", st.REASON_PREEMPTION_NOT_HELPFUL)
            continue
        if not any(p.priority < pod_priority for p in node.pods.values()):
            out[node.name] = st.unschedulable("DefaultPreemption", st.REASON_NO_VICTIMS)
            continue
        found = select_victims_on_node(state, node, state.snapshot.pdbs)
        if isinstance(found, Status):
            out[node.name] = found
            continue
        victims, violations = found
        if not victims:
            out[node.name] = Status(st.ERROR, (f'expected at least one victim pod on node "{node.name}"',))
            continue
        candidates.append(Candidate(node.name, victims, violations))
    if not candidates:
        return PreemptionResult(None, message="preemption: " + message(num_all_nodes, out), statuses=out)
    best = pick_candidate(candidates)
    clear = [p for p in state.snapshot.nominated.get(best.node, ()) if p.priority < pod_priority and p.key != state.pod.key]
    return PreemptionResult(best.node, best.victims, "", out, clear)
