"""Score plugins over the feasible nodes, each returning normalized 0..100 scores.

- NodeResourcesFit (``LeastAllocated``, cpu and memory weight 1): per resource
  ``(allocatable - requested) * 100 // allocatable`` with requests including the pod and the
  non-zero defaults; weighted integer mean.
- NodeResourcesBalancedAllocation: ``(1 - stddev(requested/allocatable)) * 100`` over cpu and
  memory, actual requests (skipped for a pod that requests nothing).
- ImageLocality: sizes of the pod's images present on the node, scaled by the share of nodes
  holding each image, clamped between 23 MB and 1000 MB per container.
- NodeAffinity: sum of matching preferred term weights, scaled so the best node is 100.
- TaintToleration: untolerated ``PreferNoSchedule`` taints, reversed so fewest is 100.
Weights of the default profile are in :data:`DEFAULT_WEIGHTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k3trio.scheduler.cycle import CycleState
from k3trio.scheduler.helpers import PREFER_NO_SCHEDULE, term_matches, tolerations_tolerate
from k3trio.scheduler.nodeinfo import CPU, MEMORY, NodeInfo

__all__ = [
    "DEFAULT_WEIGHTS",
    "MAX_NODE_SCORE",
    "balanced_allocation",
    "default_normalize",
    "image_locality",
    "least_allocated",
    "node_affinity",
    "taint_toleration",
]

MAX_NODE_SCORE = 100
DEFAULT_WEIGHTS: Mapping[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
    "InterPodAffinity": 2,
    "PodTopologySpread": 2,
}
RESOURCE_WEIGHTS: tuple[tuple[str, int], ...] = ((CPU, 1), (MEMORY, 1))
MB = 1024 * 1024
MIN_IMAGE_THRESHOLD = 23 * MB
MAX_CONTAINER_IMAGE_THRESHOLD = 1000 * MB


def default_normalize(scores: list[int], reverse: bool = False) -> list[int]:
    """``helper.DefaultNormalizeScore``: scale to 0..100 by the maximum (optionally reversed)."""
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in scores]
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


def least_allocated(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    pod_req = state.pod.non_zero_requests
    out = []
    for node in nodes:
        total = weights = 0
        for name, weight in RESOURCE_WEIGHTS:
            alloc = node.allocatable.get(name, 0)
            req = node.non_zero_requested.get(name, 0) + pod_req.get(name, 0)
            score = 0 if alloc == 0 or req > alloc else (alloc - req) * MAX_NODE_SCORE // alloc
            total += score * weight
            weights += weight
        out.append(total // weights if weights else 0)
    return out


def balanced_allocation(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    pod_req = state.pod.requests
    if not any(pod_req.get(name, 0) for name, _ in RESOURCE_WEIGHTS):
        return None
    out = []
    for node in nodes:
        fractions = []
        for name, _ in RESOURCE_WEIGHTS:
            alloc = node.allocatable.get(name, 0)
            if alloc == 0:
                continue
            fractions.append(min(1.0, (node.requested.get(name, 0) + pod_req.get(name, 0)) / alloc))
        if len(fractions) == 2:
            std = abs((fractions[0] - fractions[1]) / 2)
        elif len(fractions) > 2:
            mean = sum(fractions) / len(fractions)
            std = (sum((f - mean) ** 2 for f in fractions) / len(fractions)) ** 0.5
        else:
            std = 0.0
        out.append(int((1 - std) * MAX_NODE_SCORE))
    return out


def normalized_image_name(name: str) -> str:
    """``normalizedImageName``: add ``:latest`` when the reference has neither tag nor digest."""
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


def image_locality(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    spec: Mapping[str, Any] = state.pod.pod.get("spec") or {}
    containers = list(spec.get("initContainers") or ()) + list(spec.get("containers") or ())
    images = [normalized_image_name(c.get("image") or "") for c in containers]
    total_nodes = len(state.snapshot.nodes)
    if not total_nodes:
        return None
    counts = state.snapshot.image_node_counts()
    max_threshold = MAX_CONTAINER_IMAGE_THRESHOLD * len(containers)
    out = []
    for node in nodes:
        total = 0
        for image in images:
            size = node.images.get(image)
            if size is not None:
                total += int(size * (counts.get(image, 0) / total_nodes))
        total = min(max(total, MIN_IMAGE_THRESHOLD), max_threshold) if max_threshold > MIN_IMAGE_THRESHOLD else MIN_IMAGE_THRESHOLD
        span = max_threshold - MIN_IMAGE_THRESHOLD
        out.append(MAX_NODE_SCORE * (total - MIN_IMAGE_THRESHOLD) // span if span > 0 else 0)
    return out


def node_affinity(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    spec = state.pod.pod.get("spec") or {}
    preferred = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution"
    ) or ()
    if not preferred:
        return None
    raw = []
    for node in nodes:
        s = 0
        for p in preferred:
            weight = int(p.get("weight") or 0)
            if weight and term_matches(p.get("preference") or {}, node.name, node.labels):
                s += weight
        raw.append(s)
    return default_normalize(raw)


def taint_toleration(state: CycleState, nodes: list[NodeInfo]) -> list[int] | None:
    tolerations = [t for t in state.tolerations if (t.get("effect") or PREFER_NO_SCHEDULE) == PREFER_NO_SCHEDULE]
    raw = []
    for node in nodes:
        n = 0
        for taint in node.taints:
            if taint.get("effect") == PREFER_NO_SCHEDULE and not tolerations_tolerate(tolerations, taint):
                n += 1
        raw.append(n)
    return default_normalize(raw, reverse=True)
