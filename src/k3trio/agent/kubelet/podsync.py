"""The pure half of a pod sync: restart decisions, crash-loop back-off, phase and status.

Restart decisions follow ``restartPolicy``::

    policy     container exited with 0    exited non-zero
    Always     restart                    restart
    OnFailure  stays terminated           restart
    Never      stays terminated           stays terminated

Back-off (``Backoff``) is upstream's crash-loop back-off: the first restart is immediate,
later ones wait 10 s, 20 s, 40 s ... capped at 300 s, measured from when the container last
finished; an entry untouched for twice the cap is forgotten (the count starts over).

Phase (``pod_phase``) is upstream's ``getPhase`` for regular containers: Pending while any
container is waiting without ever having run; Running while any runs or will be restarted;
Succeeded when all terminated with 0 and none restarts; Failed when all terminated, one
non-zero, and none restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from ..cri import ContainerState, ContainerStatus
from ..node.podstatus import (
    running_container_status,
    terminated_container_status,
    terminated_state,
    waiting_container_status,
)

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_START",
    "Backoff",
    "ContainerView",
    "container_status",
    "pod_phase",
    "should_restart",
]

Obj = dict[str, Any]

BACKOFF_START = 10.0
BACKOFF_CAP = 300.0


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def should_restart(policy: str, exit_code: int) -> bool:
    """Whether an exited container is started again under ``restartPolicy``."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


class Backoff:
    """Per-key exponential back-off (see module doc). Times in seconds of ``clock``."""

    def __init__(self, start: float = BACKOFF_START, cap: float = BACKOFF_CAP) -> None:
        self.start = start
        self.cap = cap
        self._entries: dict[Any, tuple[float, float]] = {}  # key -> (duration, last update)

    def _entry(self, key: Any, now: float) -> tuple[float, float] | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] > 2 * self.cap:
            del self._entries[key]
            return None
        return entry

    def remaining(self, key: Any, since: float, now: float) -> float:
        """Seconds until ``key`` may be retried when it last failed at ``since`` (0: now)."""
        entry = self._entry(key, now)
        if entry is None:
            return 0.0
        return min(entry[0], max(0.0, since + entry[0] - now))

    def next(self, key: Any, now: float) -> float:
        """Record a retry of ``key``; the delay the following one will wait."""
        entry = self._entry(key, now)
        duration = self.start if entry is None else min(entry[0] * 2, self.cap)
        self._entries[key] = (duration, now)
        return duration

    def forget(self, prefix: Any) -> None:
        """Drop every key whose first element is ``prefix`` (a pod UID)."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k[0] == prefix]:
            del self._entries[key]


@attrs.frozen
class ContainerView:
    """What the kubelet knows about one spec container for its status."""

    latest: ContainerStatus | None = None
    previous: ContainerStatus | None = None
    waiting_reason: str = ""
    waiting_message: str = ""
    ready: bool = True  # readiness probe result (for a running container)
    started: bool = True  # startup probe result (for a running container)


def _cid(s: ContainerStatus) -> str:
    return f"containerd://{s.id}"


def _terminated(s: ContainerStatus) -> Obj:
    reason = s.reason or ("Completed" if s.exit_code == 0 else "Error")
    out = terminated_state(_cid(s), s.exit_code, ns_to_datetime(s.started_at or s.created_at),
                           ns_to_datetime(s.finished_at or s.created_at), reason)
    if s.message:
        out["terminated"]["message"] = s.message
    return out


def container_status(pod: Mapping[str, Any], container: Mapping[str, Any],
                     view: ContainerView, image_id: Callable[[ContainerStatus], str]) -> Obj:
    """``status.containerStatuses[]`` for one container."""
    latest = view.latest
    last_state = _terminated(view.previous) if view.previous is not None else None
    if latest is None:
        return waiting_container_status(pod, container,
                                        reason=view.waiting_reason or "ContainerCreating",
                                        message=view.waiting_message)
    restarts = latest.attempt
    if latest.state == ContainerState.RUNNING:
        status = running_container_status(
            pod, container, container_id=_cid(latest), image_id=image_id(latest),
            started_at=ns_to_datetime(latest.started_at or latest.created_at),
            restart_count=restarts, last_state=last_state, ready=view.ready and view.started)
        status["started"] = view.started
        return status
    if latest.state == ContainerState.EXITED:
        if view.waiting_reason:
            status = waiting_container_status(
                pod, container, reason=view.waiting_reason, message=view.waiting_message,
                restart_count=restarts, last_state=_terminated(latest),
                container_id=_cid(latest))
            status["imageID"] = image_id(latest)
            return status
        status = terminated_container_status(
            pod, container, container_id=_cid(latest), image_id=image_id(latest),
            exit_code=latest.exit_code,
            started_at=ns_to_datetime(latest.started_at or latest.created_at),
            finished_at=ns_to_datetime(latest.finished_at or latest.created_at),
            reason=latest.reason or None, restart_count=restarts, last_state=last_state)
        if latest.message:
            status["state"]["terminated"]["message"] = latest.message
        return status
    return waiting_container_status(pod, container,
                                    reason=view.waiting_reason or "ContainerCreating",
                                    message=view.waiting_message, restart_count=restarts,
                                    last_state=last_state, container_id=_cid(latest))


def pod_phase(policy: str, statuses: Sequence[Mapping[str, Any]]) -> str:
    """The pod phase from its regular containers' statuses (see module doc)."""
    running = stopped = succeeded = waiting = 0
    for s in statuses:
        state = s.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif (s.get("lastState") or {}).get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        # OnFailure: terminated non-zero ones are restarted; a waiting (back-off) one counts
        # as stopped above, so the pod stays Running until they all succeed.
        return "Running"
    return "Pending"
