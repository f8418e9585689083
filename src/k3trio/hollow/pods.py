"""What a hollow kubelet does with one pod: the decision table, admission, completion. Pure.

A hollow kubelet runs no containers; it keeps a ``PodRecord`` per pod it admitted (UID, pod
IP, fake container IDs, when the containers "started", what it last wrote) and decides the
next step from the pod (as the informer has it) and that record::

    pod                                    record                    step
    -------------------------------------  ------------------------  --------------------------
    gone, or not bound to a hollow node    any                       FORGET (free the IP)
    deletionTimestamp set                  not terminated            KILL (terminal status, then
                                                                     delete with grace 0)
    deletionTimestamp set                  terminated / none, pod    DELETE (grace 0, uid
                                           terminal                  precondition)
    phase Succeeded/Failed                 any                       RELEASE (free the IP)
    Running (written by an earlier run)    none                      ADOPT (IP and IDs from status)
    Pending                                none                      START (admission first) or
                                                                     WAIT_NETWORK without podCIDR
    -                                      running, completes at t   EXIT when now >= t, else
                                                                     WAIT until t
    -                                      running / terminated      NOTHING

Invariants: a record's UID is the pod's (a recreated pod with the same name is a new pod);
the kubelet never writes a status for a pod it did not admit; once terminated, a record is
never started again (restartPolicy OnFailure restarts are the EXIT step's business).

Completion: pods owned by a Job (``ownerReferences`` kind Job) with restartPolicy Never or
OnFailure exit 0 after ``DEFAULT_JOB_RUN_SECONDS``. Any pod whose restartPolicy is not Always
may set annotation ``hollow.k3trio.io/complete-after`` (a Go duration, ``"2s"``; ``"never"``
keeps it running) and ``hollow.k3trio.io/exit-code`` (default 0).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ..api.quantity import QuantityError, parse_quantity

__all__ = [
    "COMPLETE_AFTER_ANNOTATION",
    "DEFAULT_JOB_RUN_SECONDS",
    "EXIT_CODE_ANNOTATION",
    "Completion",
    "PodRecord",
    "Step",
    "admit",
    "completion_of",
    "decide",
    "parse_duration",
    "pod_requests",
]

Obj = dict[str, Any]

COMPLETE_AFTER_ANNOTATION = "hollow.k3trio.io/complete-after"
EXIT_CODE_ANNOTATION = "hollow.k3trio.io/exit-code"
DEFAULT_JOB_RUN_SECONDS = 1.0
TERMINAL = ("Succeeded", "Failed")


class Step(enum.Enum):
    NOTHING = "nothing"
    FORGET = "forget"
    RELEASE = "release"
    WAIT_NETWORK = "wait-network"
    START = "start"
    ADOPT = "adopt"
    WAIT = "wait"
    EXIT = "exit"
    KILL = "kill"
    DELETE = "delete"


@attrs.frozen(slots=True)
class Completion:
    """When a pod's containers exit: ``after`` seconds from start (None: never), with ``code``."""

    after: float | None
    code: int = 0


@attrs.define(slots=True)
class PodRecord:
    """What a hollow kubelet remembers about one admitted pod."""

    uid: str
    node: str
    ip: str
    container_ids: dict[str, str]
    started_at: datetime
    started_mono: float
    completion: Completion
    restart_count: int = 0
    last_state: Obj | None = None
    terminated: bool = False
    requests: Mapping[str, int] = attrs.field(factory=dict)


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``"1m30s"``, ``"500ms"``, ``"0"``).

    Raises:
        ValueError: not a duration.
    """
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


def _is_job_pod(pod: Mapping[str, Any]) -> bool:
    return any(o.get("kind") == "Job" and str(o.get("apiVersion", "")).startswith("batch/")
               for o in _get(pod, "metadata", "ownerReferences") or [])


def completion_of(pod: Mapping[str, Any]) -> Completion:
    """When and how this pod's containers exit (invalid annotations are ignored)."""
    policy = _get(pod, "spec", "restartPolicy") or "Always"
    annotations = _get(pod, "metadata", "annotations") or {}
    code = 0
    try:
        code = int(annotations.get(EXIT_CODE_ANNOTATION, 0))
    except (TypeError, ValueError):
        code = 0
    if policy == "Always":
        return Completion(None, code)
    after: float | None = DEFAULT_JOB_RUN_SECONDS if _is_job_pod(pod) else None
    raw = annotations.get(COMPLETE_AFTER_ANNOTATION)
    if isinstance(raw, str):
        if raw.strip().lower() == "never":
            after = None
        else:
            try:
                after = max(0.0, parse_duration(raw))
            except ValueError:
                pass
    return Completion(after, code)


def _resource_amount(name: str, value: Any) -> int:
    q = parse_quantity(str(value))
    return q.milli_value() if name == "cpu" else q.value()


def _sum_requests(containers: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in containers:
        for name, value in (_get(c, "resources", "requests") or {}).items():
            try:
                total[name] = total.get(name, 0) + _resource_amount(name, value)
            except QuantityError:
                continue
    return total


def pod_requests(pod: Mapping[str, Any]) -> dict[str, int]:
    """Effective requests (cpu in millicores, others in units) plus ``pods: 1``.

    As the scheduler counts them: the larger of the containers' sum and each init container,
    plus overhead.
    """
    spec = _get(pod, "spec") or {}
    total = _sum_requests(spec.get("containers") or [])
    for init in spec.get("initContainers") or []:
        for name, amount in _sum_requests([init]).items():
            total[name] = max(total.get(name, 0), amount)
    for name, value in (spec.get("overhead") or {}).items():
        try:
            total[name] = total.get(name, 0) + _resource_amount(name, value)
        except QuantityError:
            continue
    total["pods"] = 1
    return total


def admit(requests: Mapping[str, int], used: Mapping[str, int],
          allocatable: Mapping[str, int]) -> tuple[str, str] | None:
    """None if the pod fits on the node, else the kubelet's rejection ``(reason, message)``."""
    for name in ("pods", "cpu", "memory", "ephemeral-storage"):
        want = requests.get(name, 0)
        if want <= 0 or name not in allocatable:
            continue
        have = used.get(name, 0)
        if have + want > allocatable[name]:
            return (f"OutOf{name}",
                    f"Pod was rejected: Node didn't have enough resource: {name}, requested: "
                    f"{want}, used: {have}, capacity: {allocatable[name]}")
    return None


def decide(
    pod: Mapping[str, Any] | None,
    record: PodRecord | None,
    *,
    mine: bool,
    network_ready: bool,
    now_mono: float,
) -> tuple[Step, float]:
    """The next step for a pod and, for ``WAIT``, the seconds to wait."""
    if pod is None or not mine:
        return Step.FORGET, 0.0
    uid = _get(pod, "metadata", "uid")
    if record is not None and record.uid != uid:
        record = None  # a new pod with the same name
    phase = _get(pod, "status", "phase") or "Pending"
    if _get(pod, "metadata", "deletionTimestamp"):
        if record is not None and not record.terminated and phase not in TERMINAL:
            return Step.KILL, 0.0
        if record is None and phase == "Running":
            return Step.KILL, 0.0
        return Step.DELETE, 0.0
    if record is None:
        if phase in TERMINAL:
            return Step.RELEASE, 0.0
        if phase == "Running" and _get(pod, "status", "podIP"):
            return Step.ADOPT, 0.0
        if not network_ready and not _get(pod, "spec", "hostNetwork"):
            return Step.WAIT_NETWORK, 0.0
        return Step.START, 0.0
    if record.terminated:
        return Step.NOTHING, 0.0
    after = record.completion.after
    if after is None:
        return Step.NOTHING, 0.0
    due = record.started_mono + after
    if now_mono >= due:
        return Step.EXIT, 0.0
    return Step.WAIT, due - now_mono
