"""Filter outcomes and the reason strings kube-scheduler v1.36 reports.

A filter returns ``None`` when a node fits, or a :class:`Status` naming the plugin, a code and
one or more reasons. The reasons are upstream's exact strings because they end up, counted per
node, in the ``FailedScheduling`` event (see :func:`k3trio.scheduler.framework.fit_error_message`).

Codes (as ``framework.Code``):
- ``UNSCHEDULABLE``: the node may fit after preemption removes pods (resources, ports,
  anti-affinity, topology skew).
- ``UNRESOLVABLE`` (``UnschedulableAndUnresolvable``): removing pods cannot help (taints, node
  affinity, node name, missing topology label, volume node affinity); preemption skips the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "ERROR",
    "UNRESOLVABLE",
    "UNSCHEDULABLE",
    "Status",
]

UNSCHEDULABLE: Final = "Unschedulable"
UNRESOLVABLE: Final = "UnschedulableAndUnresolvable"
ERROR: Final = "Error"

# -- reason strings, by plugin ------------------------------------------------------------------
REASON_UNSCHEDULABLE: Final = "node(s) were unschedulable"
REASON_NODE_NAME: Final = "node(s) didn't match the requested node name"
REASON_NODE_PORTS: Final = "node(s) didn't have free ports for the requested pod ports"
REASON_NODE_AFFINITY: Final = "node(s) didn't match Pod's node affinity/selector"
REASON_AFFINITY_CONFLICT: Final = "pod affinity terms conflict"
REASON_TAINT: Final = "node(s) had untolerated taint(s)"
REASON_TOO_MANY_PODS: Final = "Too many pods"
REASON_POD_AFFINITY: Final = "node(s) didn't match pod affinity rules"
REASON_POD_ANTI_AFFINITY: Final = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY: Final = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON_SPREAD: Final = "node(s) didn't match pod topology spread constraints"
REASON_SPREAD_LABEL: Final = REASON_SPREAD + " (missing required label)"
REASON_VOLUME_BIND_CONFLICT: Final = "node(s) didn't find available persistent volumes to bind"
REASON_VOLUME_NODE_CONFLICT: Final = "node(s) didn't match PersistentVolume's node affinity"
REASON_PV_NOT_EXIST: Final = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
REASON_UNBOUND_IMMEDIATE_PVC: Final = "pod has unbound immediate PersistentVolumeClaims"
REASON_PREEMPTION_NOT_HELPFUL: Final = "Preemption is not helpful for scheduling"
REASON_NO_VICTIMS: Final = "No preemption victims found for incoming pod"
REASON_PREEMPT_NEVER: Final = "not eligible due to preemptionPolicy=Never."
REASON_TERMINATING_ON_NOMINATED: Final = "not eligible due to a terminating pod on the nominated node."


def insufficient(resource: str) -> str:
    """``Insufficient <resource>``: NodeResourcesFit's reason for one resource."""
    return f"Insufficient {resource}"


@dataclass(frozen=True, slots=True)
class Status:
    """A non-success filter result."""

    code: str
    reasons: tuple[str, ...]
    plugin: str = ""

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    @property
    def resolvable(self) -> bool:
        """True when preemption might help (``Unschedulable``)."""
        return self.code == UNSCHEDULABLE


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(UNSCHEDULABLE, reasons, plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    return Status(UNRESOLVABLE, reasons, plugin)
