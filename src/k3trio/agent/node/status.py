"""Node status: the kubelet-owned conditions (pure) and the status heartbeat loop.

Conditions are the four a kubelet owns, in upstream order and wording::

    MemoryPressure False  KubeletHasSufficientMemory  kubelet has sufficient memory available
    DiskPressure   False  KubeletHasNoDiskPressure    kubelet has no disk pressure
    PIDPressure    False  KubeletHasSufficientPID     kubelet has sufficient PID available
    Ready          True   KubeletReady                kubelet is posting ready status
                   False  KubeletNotReady             <why, e.g. network not ready>

Invariants: ``lastTransitionTime`` changes only when a condition's status changes;
``lastHeartbeatTime`` is the time of the post. Conditions other kubelet-external parties own
(``NetworkUnavailable``, ...) are left alone by the strategic-merge patch.

``NodeStatusReporter`` computes the status every ``update_period`` (10 s, the kubelet's
``nodeStatusUpdateFrequency``) and posts it when it changed, when ``report_period`` (5 min,
``nodeStatusReportFrequency``) passed since the last post, or at once after ``poke()``.
Liveness is carried by the node Lease (``lease``), not by these posts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio

from ...api.meta import format_time
from ...client import ApiError, Client, ClientError, EventRecorder
from ...client.resource import NODES

if TYPE_CHECKING:
    from .registration import NodeConfig

__all__ = [
    "NETWORK_NOT_READY",
    "NodeStatusReporter",
    "node_conditions",
    "status_differs",
]

log = logging.getLogger("k3trio.agent.node.status")

Obj = dict[str, Any]

NETWORK_NOT_READY = (
    "container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
)

_PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
     "NodeHasNoDiskPressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
     "NodeHasSufficientPID"),
)


def node_conditions(
    old: Sequence[Mapping[str, Any]], *, ready: bool, not_ready_message: str, now: datetime
) -> list[Obj]:
    """The kubelet-owned conditions at ``now``, keeping transition times from ``old``."""
    stamp = format_time(now)
    previous = {c.get("type"): c for c in old}

    def cond(ctype: str, status: str, reason: str, message: str) -> Obj:
        prev = previous.get(ctype) or {}
        same = prev.get("status") == status and prev.get("lastTransitionTime")
        return {
            "type": ctype,
            "status": status,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": prev["lastTransitionTime"] if same else stamp,
            "reason": reason,
            "message": message,
        }

    out = [cond(t, "False", reason, msg) for t, reason, msg, _ in _PRESSURE]
    if ready:
        out.append(cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    else:
        out.append(cond("Ready", "False", "KubeletNotReady", not_ready_message))
    return out


def _without_heartbeats(status: Mapping[str, Any]) -> Obj:
    out = dict(status)
    out["conditions"] = [
        {k: v for k, v in c.items() if k != "lastHeartbeatTime"}
        for c in status.get("conditions") or []
    ]
    return out


def status_differs(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``new`` (kubelet-owned fields) says something ``old`` does not."""
    old_cmp = _without_heartbeats(old)
    new_cmp = _without_heartbeats(new)
    old_conds = {c.get("type"): c for c in old_cmp["conditions"]}
    for c in new_cmp["conditions"]:
        prev = old_conds.get(c.get("type")) or {}
        if any(prev.get(k) != v for k, v in c.items()):
            return True
    return any(old.get(k) != v for k, v in new.items() if k != "conditions")


Readiness = Callable[[], str | None]
"""Returns None when the node is ready, else why not (the Ready condition's message)."""


class NodeStatusReporter:
    """Posts one node's status. ``await nursery.start(reporter.run, node)``.

    Args:
        client: the kubelet's client.
        config: the node's description (capacity, addresses, nodeInfo).
        readiness: None when ready, else the NotReady message.
        recorder: where condition-change events go (``NodeReady``, ``NodeHasSufficientPID``...).
        wall_clock: the time written into conditions.
    """

    def __init__(
        self,
        client: Client,
        config: NodeConfig,
        *,
        readiness: Readiness,
        recorder: EventRecorder | None = None,
        update_period: float = 10.0,
        report_period: float = 300.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.config = config
        self.readiness = readiness
        self.recorder = recorder
        self.update_period = update_period
        self.report_period = report_period
        self._wall = wall_clock
        self._poked = trio.Event()
        self.node: Obj | None = None
        self.posts = 0
        self._last_post = -float("inf")

    def poke(self) -> None:
        """Post at the next opportunity (something the status depends on changed)."""
        self._poked.set()

    def compute(self, old_status: Mapping[str, Any]) -> Obj:
        from .registration import build_status

        why = self.readiness()
        return build_status(self.config, ready=why is None, not_ready_message=why or "",
                            now=self._wall(), old=old_status)

    async def update(self, *, force: bool = False) -> bool:
        """Post the status if it changed, if it is due, or if ``force``; return if posted.

        Raises:
            k3trio.client.ApiError: the post failed.
        """
        old = (self.node or {}).get("status") or {}
        status = self.compute(old)
        due = trio.current_time() - self._last_post >= self.report_period
        if not (force or due or status_differs(old, status)):
            return False
        self.node = await self.client.patch(
            NODES, self.config.name, {"status": status}, patch_type="strategic",
            subresource="status",
        )
        self.posts += 1
        self._last_post = trio.current_time()
        self._record_transitions(old, status)
        return True

    def _record_transitions(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if self.recorder is None or self.node is None:
            return
        before = {c.get("type"): c.get("status") for c in old.get("conditions") or []}
        ref = {"kind": "Node", "name": self.config.name, "uid": self.config.name}
        for c in new.get("conditions") or []:
            if before.get(c["type"]) == c["status"]:
                continue
            if c["type"] == "Ready":
                reason = "NodeReady" if c["status"] == "True" else "NodeNotReady"
            else:
                reason = next(r for t, _, _, r in _PRESSURE if t == c["type"])
            self.recorder.event(ref, "Normal", reason,
                                f"Node {self.config.name} status is now: {reason}")

    async def run(self, node: Obj | None = None, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Post the first status (started after the first attempt), then keep it current."""
        self.node = node
        force = True
        while True:
            try:
                await self.update(force=force)
                force = False
            except (ApiError, ClientError) as exc:
                log.warning("Error updating node status for %s, will retry: %s",
                            self.config.name, exc)
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            with trio.move_on_after(self.update_period if not force else 1.0):
                await self._poked.wait()
            self._poked = trio.Event()
