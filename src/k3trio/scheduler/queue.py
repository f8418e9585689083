"""The scheduling queue (``PriorityQueue``): activeQ, backoffQ, unschedulable pods, nominator.

Pods waiting to be scheduled are in exactly one place:
- **activeQ**: ready now; :meth:`SchedulingQueue.pop` returns the highest ``spec.priority``
  first, then the earliest queued (PrioritySort).
- **backoffQ**: failed recently; the pod waits ``1s * 2**(attempts-1)`` capped at 10 s after its
  last attempt, then moves to activeQ (checked every second by :meth:`run`).
- **unschedulable**: rejected by filters; it stays until a cluster event that one of the
  plugins that rejected it cares about (:data:`EVENT_PLUGINS`) moves it to backoffQ or activeQ,
  or until it has waited 5 minutes (flushed every 30 s).
- in flight: popped and being scheduled. If a move request arrives while a pod is in flight,
  a failed pod goes to backoffQ instead of unschedulable, so the event is not lost.

Time is ``trio.current_time()`` so tests run under ``MockClock``. Not thread-safe: Trio only.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from k3trio.scheduler.nodeinfo import pod_key

__all__ = [
    "EVENT_PLUGINS",
    "QueuedPodInfo",
    "QueueStats",
    "SchedulingQueue",
]

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_DURATION = 300.0
BACKOFF_FLUSH_INTERVAL = 1.0
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0

_NODE_PLUGINS = frozenset({"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
                           "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity"})  # fmt: skip
EVENT_PLUGINS: Mapping[str, frozenset[str]] = {
    "NodeAdd": _NODE_PLUGINS,
    "NodeUpdate": frozenset({"NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodeResourcesFit",
                             "VolumeBinding", "PodTopologySpread", "InterPodAffinity"}),  # fmt: skip
    "NodeDelete": frozenset({"PodTopologySpread"}),
    "PodAdd": frozenset({"PodTopologySpread", "InterPodAffinity"}),
    "PodUpdate": frozenset({"PodTopologySpread", "InterPodAffinity", "NodeResourcesFit"}),
    "PodDelete": frozenset({"NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity", "VolumeBinding"}),
    "PvcAdd": frozenset({"VolumeBinding"}),
    "PvcUpdate": frozenset({"VolumeBinding"}),
    "PvAdd": frozenset({"VolumeBinding"}),
    "PvUpdate": frozenset({"VolumeBinding"}),
    "StorageClassAdd": frozenset({"VolumeBinding"}),
    "StorageClassUpdate": frozenset({"VolumeBinding"}),
    "NamespaceUpdate": frozenset({"InterPodAffinity"}),
}
ANY_EVENT = frozenset({"UnschedulableTimeout", "ForceActivate"})


@dataclass(eq=False)
class QueuedPodInfo:
    """A pod in the queue with its bookkeeping."""

    pod: Mapping[str, Any]
    key: str
    timestamp: float
    initial_attempt: float | None = None
    attempts: int = 0
    unschedulable_plugins: frozenset[str] = frozenset()
    cycle: int = 0

    @property
    def priority(self) -> int:
        return int((self.pod.get("spec") or {}).get("priority") or 0)


@dataclass(frozen=True)
class QueueStats:
    active: int
    backoff: int
    unschedulable: int
    in_flight: int


@dataclass
class _Heap:
    entries: list[tuple[Any, int, str]] = field(default_factory=list)
    live: dict[str, tuple[Any, int, str]] = field(default_factory=dict)

    def push(self, sort_key: Any, seq: int, key: str) -> None:
        entry = (sort_key, seq, key)
        self.live[key] = entry
        heapq.heappush(self.entries, entry)

    def discard(self, key: str) -> None:
        self.live.pop(key, None)

    def _clean(self) -> None:
        while self.entries and self.live.get(self.entries[0][2]) is not self.entries[0]:
            heapq.heappop(self.entries)

    def peek(self) -> tuple[Any, int, str] | None:
        self._clean()
        return self.entries[0] if self.entries else None

    def pop(self) -> str:
        self._clean()
        entry = heapq.heappop(self.entries)
        del self.live[entry[2]]
        return entry[2]

    def __len__(self) -> int:
        return len(self.live)

    def __contains__(self, key: str) -> bool:
        return key in self.live


class SchedulingQueue:
    def __init__(self, *, initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 max_unschedulable_duration: float = MAX_UNSCHEDULABLE_DURATION) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable_duration = max_unschedulable_duration
        self._pods: dict[str, QueuedPodInfo] = {}
        self._active = _Heap()
        self._backoff = _Heap()
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._seq = itertools.count()
        self._lot = trio.lowlevel.ParkingLot()
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._nominated: dict[str, dict[str, Mapping[str, Any]]] = {}  # node -> key -> pod
        self._nominated_node: dict[str, str] = {}
        self._closed = False

    # -- adding -------------------------------------------------------------------------------
    def _push_active(self, qpi: QueuedPodInfo) -> None:
        self._pods[qpi.key] = qpi
        self._active.push((-qpi.priority, qpi.timestamp), next(self._seq), qpi.key)
        self._lot.unpark_all()

    def _push_backoff(self, qpi: QueuedPodInfo) -> None:
        self._pods[qpi.key] = qpi
        self._backoff.push(self.backoff_expiry(qpi), next(self._seq), qpi.key)

    def add(self, pod: Mapping[str, Any]) -> None:
        """A new pending pod: straight to activeQ (replacing any queued or in-flight copy; the
        outcome of an in-flight attempt is then ignored)."""
        key = pod_key(pod)
        self._remove_everywhere(key)
        self._in_flight.pop(key, None)
        self._push_active(QueuedPodInfo(pod, key, trio.current_time()))
        self._update_nomination(pod)

    def activate(self, pods: Iterable[Mapping[str, Any]]) -> None:
        """Move the given queued pods to activeQ now (``Activate``)."""
        for pod in pods:
            key = pod_key(pod)
            qpi = self._unschedulable.pop(key, None)
            if qpi is None and key in self._backoff:
                self._backoff.discard(key)
                qpi = self._pods[key]
            if qpi is not None:
                self._push_active(qpi)

    def update(self, pod: Mapping[str, Any]) -> None:
        """A queued pod changed. An unschedulable pod whose spec or labels changed is retried."""
        key = pod_key(pod)
        self._update_nomination(pod)
        qpi = self._pods.get(key)
        if qpi is None:
            if key not in self._in_flight:
                self.add(pod)
            else:
                self._in_flight[key].pod = pod
            return
        old = qpi.pod
        qpi.pod = pod
        if key in self._active:
            self._active.discard(key)
            self._push_active(qpi)
        elif key in self._unschedulable and _changed(old, pod):
            del self._unschedulable[key]
            self._requeue(qpi)

    def delete(self, pod: Mapping[str, Any] | str) -> None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        self._remove_everywhere(key)
        self._in_flight.pop(key, None)
        self._delete_nomination(key)

    def _remove_everywhere(self, key: str) -> None:
        self._active.discard(key)
        self._backoff.discard(key)
        self._unschedulable.pop(key, None)
        self._pods.pop(key, None)

    # -- popping ------------------------------------------------------------------------------
    async def pop(self) -> QueuedPodInfo:
        """Wait for and return the next pod to schedule (highest priority, then oldest)."""
        while not len(self._active):
            if self._closed:
                raise trio.EndOfChannel
            await self._lot.park()
        key = self._active.pop()
        qpi = self._pods.pop(key)
        self.scheduling_cycle += 1
        qpi.cycle = self.scheduling_cycle
        qpi.attempts += 1
        if qpi.initial_attempt is None:
            qpi.initial_attempt = trio.current_time()
        self._in_flight[key] = qpi
        return qpi

    def pop_nowait(self) -> QueuedPodInfo:
        """Like :meth:`pop`; raises ``trio.WouldBlock`` when activeQ is empty."""
        if not len(self._active):
            raise trio.WouldBlock
        key = self._active.pop()
        qpi = self._pods.pop(key)
        self.scheduling_cycle += 1
        qpi.cycle = self.scheduling_cycle
        qpi.attempts += 1
        if qpi.initial_attempt is None:
            qpi.initial_attempt = trio.current_time()
        self._in_flight[key] = qpi
        return qpi

    def close(self) -> None:
        """Make waiting and later :meth:`pop` calls raise ``trio.EndOfChannel`` once empty."""
        self._closed = True
        self._lot.unpark_all()

    # -- after a cycle ------------------------------------------------------------------------
    def done(self, key: str) -> None:
        """The pod's cycle ended (bound, or handed back with ``add_unschedulable``)."""
        self._in_flight.pop(key, None)

    def backoff_duration(self, qpi: QueuedPodInfo) -> float:
        if qpi.attempts <= 0:
            return 0.0
        return float(min(self.initial_backoff * 2.0 ** (qpi.attempts - 1), self.max_backoff))

    def backoff_expiry(self, qpi: QueuedPodInfo) -> float:
        return qpi.timestamp + self.backoff_duration(qpi)

    def _requeue(self, qpi: QueuedPodInfo) -> None:
        if self.backoff_expiry(qpi) > trio.current_time():
            self._push_backoff(qpi)
        else:
            self._push_active(qpi)

    def add_unschedulable(self, qpi: QueuedPodInfo, unschedulable_plugins: Iterable[str] = (), *,
                          error: bool = False) -> None:
        """Hand back a pod that failed its cycle.

        Args:
            unschedulable_plugins: the plugins that rejected it (events they care about retry it).
            error: the cycle failed with an error (not a rejection): back off and retry.
        """
        key = qpi.key
        self._in_flight.pop(key, None)
        if key in self._pods:
            return  # re-added (updated) while in flight
        qpi.timestamp = trio.current_time()
        qpi.unschedulable_plugins = frozenset(unschedulable_plugins)
        if error or self._move_request_cycle >= qpi.cycle:
            self._push_backoff(qpi)
        else:
            self._pods[key] = qpi
            self._unschedulable[key] = qpi

    def move_all_to_active_or_backoff(self, event: str) -> int:
        """A cluster event (``NodeAdd``, ``PodDelete``, ...): retry the unschedulable pods that
        one of their rejecting plugins registered for. Returns how many moved."""
        interested = EVENT_PLUGINS.get(event)
        moved = 0
        for key, qpi in list(self._unschedulable.items()):
            if (
                interested is None
                or event in ANY_EVENT
                or not qpi.unschedulable_plugins
                or qpi.unschedulable_plugins & interested
            ):
                del self._unschedulable[key]
                self._requeue(qpi)
                moved += 1
        self._move_request_cycle = self.scheduling_cycle
        return moved

    def flush_backoff_completed(self) -> None:
        now = trio.current_time()
        while True:
            head = self._backoff.peek()
            if head is None or head[0] > now:
                return
            key = self._backoff.pop()
            self._push_active(self._pods[key])

    def flush_unschedulable_leftover(self) -> None:
        now = trio.current_time()
        for key, qpi in list(self._unschedulable.items()):
            if now - qpi.timestamp > self.max_unschedulable_duration:
                del self._unschedulable[key]
                self._requeue(qpi)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush backoffQ every second and old unschedulable pods every 30 s, forever."""
        task_status.started()
        ticks = int(UNSCHEDULABLE_FLUSH_INTERVAL / BACKOFF_FLUSH_INTERVAL)
        n = 0
        while True:
            await trio.sleep(BACKOFF_FLUSH_INTERVAL)
            self.flush_backoff_completed()
            n += 1
            if n % ticks == 0:
                self.flush_unschedulable_leftover()

    # -- nominator ----------------------------------------------------------------------------
    def _update_nomination(self, pod: Mapping[str, Any]) -> None:
        node = (pod.get("status") or {}).get("nominatedNodeName")
        key = pod_key(pod)
        if node:
            self.add_nominated(pod, node)
        elif key in self._nominated_node:
            self._delete_nomination(key)

    def add_nominated(self, pod: Mapping[str, Any], node: str) -> None:
        key = pod_key(pod)
        self._delete_nomination(key)
        self._nominated.setdefault(node, {})[key] = pod
        self._nominated_node[key] = node

    def _delete_nomination(self, key: str) -> None:
        node = self._nominated_node.pop(key, None)
        if node is not None:
            pods = self._nominated.get(node, {})
            pods.pop(key, None)
            if not pods:
                self._nominated.pop(node, None)

    def nominated_pods(self) -> dict[str, list[Mapping[str, Any]]]:
        """Node name to the pods nominated there (for :class:`Snapshot.nominated`)."""
        return {node: list(pods.values()) for node, pods in self._nominated.items()}

    # -- introspection ------------------------------------------------------------------------
    def statistics(self) -> QueueStats:
        return QueueStats(len(self._active), len(self._backoff), len(self._unschedulable), len(self._in_flight))

    def where(self, key: str) -> str | None:
        """``"active"``, ``"backoff"``, ``"unschedulable"``, ``"in-flight"`` or ``None``."""
        if key in self._active:
            return "active"
        if key in self._backoff:
            return "backoff"
        if key in self._unschedulable:
            return "unschedulable"
        if key in self._in_flight:
            return "in-flight"
        return None


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """``isPodUpdated``: anything but status and bookkeeping metadata changed."""
    def strip(p: Mapping[str, Any]) -> tuple[Any, Any, Any]:
        meta = p.get("metadata") or {}
        return (p.get("spec"), meta.get("labels"), meta.get("annotations"))

    return strip(old) != strip(new)
