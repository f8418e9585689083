"""Per-pod scheduling cycle state (``framework.CycleState``).

One :class:`CycleState` lives for one attempt to schedule one pod. PreFilter steps store what
they precompute over the whole snapshot (inter-pod affinity counts, topology spread counts,
volume claims) under the plugin's name in ``data``; Filter and Score read it. Preemption copies
the state (:meth:`clone`) and updates the counts as it removes victims from a node copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k3trio.scheduler.helpers import RequiredNodeAffinity
from k3trio.scheduler.nodeinfo import PodInfo, Snapshot

__all__ = ["CycleState"]


@dataclass
class CycleState:
    pod: PodInfo
    snapshot: Snapshot
    node_affinity: RequiredNodeAffinity
    tolerations: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)
    skip_filters: set[str] = field(default_factory=set)

    @classmethod
    def for_pod(cls, pod: PodInfo, snapshot: Snapshot) -> CycleState:
        spec = pod.pod.get("spec") or {}
        return cls(pod, snapshot, RequiredNodeAffinity(pod.pod), list(spec.get("tolerations") or ()))

    def clone(self) -> CycleState:
        data = {k: (v.clone() if hasattr(v, "clone") else v) for k, v in self.data.items()}
        return CycleState(self.pod, self.snapshot, self.node_affinity, self.tolerations, data, set(self.skip_filters))
