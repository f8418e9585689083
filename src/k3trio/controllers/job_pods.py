"""Pure helpers of the Job controller: pod classification, completion indexes, the pods it
creates, pod failure policies and the pod-creation backoff.

- A pod is *active* while not terminal and not being deleted; *terminating* while being
  deleted and not terminal; *finished* when Succeeded, or when it counts as failed:
  phase Failed, or (unless the Job only replaces failed pods: ``podReplacementPolicy:
  Failed`` or a ``podFailurePolicy``) being deleted without having succeeded.
- Index sets print as upstream's ``completedIndexes``: sorted, runs of 3+ as ``a-b``
  (``"0,1,3-5,7"``).
- Backoff before creating replacement pods: ``10 s * 2^(n-1)`` capped at 6 minutes, where
  ``n`` is the number of failed pods that finished after the last succeeded one, counted from
  the time of the last failure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .base import Obj, meta_of
from .timeutil import parse_time

__all__ = [
    "COMPLETION_INDEX", "INDEX_FAILURE_COUNT", "TRACKING_FINALIZER",
    "backoff_remaining", "format_indexes", "is_active", "is_failed", "is_ready",
    "match_failure_policy", "new_pod", "parse_indexes", "pod_index",
]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
BACKOFF_BASE = 10.0
BACKOFF_CAP = 360.0


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_deleting(pod: Mapping[str, Any]) -> bool:
    return bool(meta_of(pod).get("deletionTimestamp"))


def is_active(pod: Mapping[str, Any]) -> bool:
    return not is_terminal(pod) and not is_deleting(pod)


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return is_deleting(pod) and not is_terminal(pod)


def is_ready(pod: Mapping[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def only_replace_failed(job: Mapping[str, Any]) -> bool:
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or bool(spec.get("podFailurePolicy"))


def is_failed(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """Whether the pod counts as failed (see module docstring)."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return is_deleting(pod) and phase(pod) != "Succeeded"


def has_finalizer(pod: Mapping[str, Any]) -> bool:
    return TRACKING_FINALIZER in (meta_of(pod).get("finalizers") or [])


def pod_index(pod: Mapping[str, Any], completions: int | None = None) -> int | None:
    """The completion index of a pod (annotation, else label); None if absent or invalid."""
    meta = meta_of(pod)
    raw = (meta.get("annotations") or {}).get(COMPLETION_INDEX)
    if raw is None:
        raw = (meta.get("labels") or {}).get(COMPLETION_INDEX)
    if raw is None or not str(raw).isdigit():
        return None
    idx = int(str(raw))
    if completions is not None and idx >= completions:
        return None
    return idx


def parse_indexes(text: str | None, completions: int | None = None) -> set[int]:
    """The index set of a ``completedIndexes``/``failedIndexes`` string."""
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if hi else a
        except ValueError:
            continue
        out.update(range(a, b + 1))
    if completions is not None:
        out = {i for i in out if 0 <= i < completions}
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    items = sorted(set(indexes))
    parts: list[str] = []
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        if i == j:
            parts.append(str(items[i]))
        else:
            parts.append(f"{items[i]}{',' if j == i + 1 else '-'}{items[j]}")
        i = j + 1
    return ",".join(parts)


def finish_time(pod: Mapping[str, Any], now: datetime) -> datetime:
    """When a pod finished: its last container termination, else its Ready condition's
    transition, else its deletion time, else ``now``."""
    status = pod.get("status") or {}
    latest: datetime | None = None
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        t = parse_time(term.get("finishedAt"))
        if t is not None and (latest is None or t > latest):
            latest = t
    if latest is not None:
        return latest
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            t = parse_time(cond.get("lastTransitionTime"))
            if t is not None:
                return t
    return parse_time(meta_of(pod).get("deletionTimestamp")) or now


def backoff_remaining(job: Mapping[str, Any], pods: list[Obj], now: datetime,
                      ignored: set[str] | None = None) -> float:
    """Seconds to wait before creating pods again after failures (0: create now)."""
    ignored = ignored or set()
    last_success: datetime | None = None
    failures: list[datetime] = []
    for pod in pods:
        if meta_of(pod).get("uid") in ignored:
            continue
        if phase(pod) == "Failed" and (job.get("spec") or {}).get("podFailurePolicy"):
            match = match_failure_policy(job, pod)
            if match is not None and match[0] == "Ignore":
                continue
        if phase(pod) == "Succeeded":
            t = finish_time(pod, now)
            last_success = t if last_success is None or t > last_success else last_success
        elif is_failed(pod, job) and is_terminal(pod):
            failures.append(finish_time(pod, now))
    if last_success is not None:
        failures = [f for f in failures if f > last_success]
    if not failures:
        return 0.0
    delay = min(BACKOFF_BASE * 2 ** (len(failures) - 1), BACKOFF_CAP)
    return float(max(0.0, delay - (now - max(failures)).total_seconds()))


def _exit_code_matches(rule: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[str, int] | None:
    req = rule.get("onExitCodes") or {}
    values = set(req.get("values") or [])
    container = req.get("containerName")
    status = pod.get("status") or {}
    statuses = list(status.get("initContainerStatuses") or []) + list(
        status.get("containerStatuses") or [])
    for cs in statuses:
        if container and cs.get("name") != container:
            continue
        term = (cs.get("state") or {}).get("terminated")
        if not term:
            continue
        code = int(term.get("exitCode") or 0)
        if code == 0:
            continue
        hit = code in values if req.get("operator") == "In" else code not in values
        if hit:
            return str(cs.get("name")), code
    return None


def match_failure_policy(job: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """The action (``FailJob``, ``FailIndex``, ``Ignore``, ``Count``) and message of the first
    podFailurePolicy rule matching a failed pod; None when no rule matches."""
    policy = (job.get("spec") or {}).get("podFailurePolicy") or {}
    meta = meta_of(pod)
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    for i, rule in enumerate(policy.get("rules") or []):
        action = str(rule.get("action"))
        if rule.get("onExitCodes"):
            hit = _exit_code_matches(rule, pod)
            if hit is not None:
                return action, (f"Container {hit[0]} for pod {where} failed with exit code "
                                f"{hit[1]} matching {action} rule at index {i}")
        for pattern in rule.get("onPodConditions") or []:
            for cond in (pod.get("status") or {}).get("conditions") or []:
                if cond.get("type") == pattern.get("type") and \
                        cond.get("status") == (pattern.get("status") or "True"):
                    return action, (f"Pod {where} has condition {cond.get('type')} matching "
                                    f"{action} rule at index {i}")
    return None


def new_pod(job: Mapping[str, Any], index: int | None, index_failures: int = 0) -> Obj:
    """The pod the Job creates (for ``index`` in Indexed mode)."""
    meta = meta_of(job)
    name, uid = str(meta.get("name")), str(meta.get("uid"))
    template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    for k in (CONTROLLER_UID, "controller-uid"):
        labels.setdefault(k, uid)
    for k in (JOB_NAME, "job-name"):
        labels.setdefault(k, name)
    annotations = dict(tmeta.get("annotations") or {})
    spec = template.get("spec") or {}
    generate = f"{name}-"
    if index is not None:
        annotations[COMPLETION_INDEX] = str(index)
        labels[COMPLETION_INDEX] = str(index)
        generate = f"{name}-{index}-"
        if (job.get("spec") or {}).get("backoffLimitPerIndex") is not None:
            annotations[INDEX_FAILURE_COUNT] = str(index_failures)
        spec.setdefault("hostname", f"{name}-{index}")
        for group in ("initContainers", "containers"):
            for c in spec.get(group) or []:
                env = c.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
    pod_meta: Obj = {
        "generateName": generate,
        "namespace": meta.get("namespace"),
        "labels": labels,
        "finalizers": [TRACKING_FINALIZER],
        "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True,
        }],
    }
    if annotations:
        pod_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """Sort key: the pods to delete first come first (unscheduled, pending, not ready, newer)."""
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    created = str(meta_of(pod).get("creationTimestamp") or "")
    inverted = "".join(chr(0x10FFFF - ord(ch)) for ch in created)
    return scheduled, _PHASE_RANK.get(phase(pod), 3), 1 if is_ready(pod) else 0, inverted
