"""Pure decisions of the Job controller: counting finished pods and planning one sync.

Counting finished pods is two-phase, as upstream's finalizer-based tracking, so a pod is
counted exactly once even across restarts:

1. ``track``: a finished pod that still has the ``batch.kubernetes.io/job-tracking``
   finalizer and is not yet listed goes into ``status.uncountedTerminatedPods``
   (``succeeded``/``failed``); a succeeded index joins ``completedIndexes`` at once; a pod
   matching an ``Ignore`` podFailurePolicy rule is not counted at all, a ``FailJob`` rule
   makes the Job's failure target;
2. the controller writes that status, removes the finalizers, then ``fold`` moves uncounted
   UIDs whose pod has no finalizer any more (or is gone) into ``succeeded``/``failed``.

``plan`` then decides the rest from the counted state: the terminal condition path
(``FailureTarget`` -> pods deleted -> ``Failed`` once nothing is terminating;
``SuccessCriteriaMet`` -> ``Complete`` with ``completionTime``), suspension, and how many
pods (or which indexes) to create or delete, honouring the failure backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from . import job_pods as jp
from .base import Obj, meta_of
from .timeutil import format_time, parse_time

__all__ = ["Plan", "Tracked", "fold", "plan", "set_condition", "track"]

MAX_BATCH = 500

REASONS = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
    "MaxFailedIndexesExceeded": "Job has exceeded the specified maximal number of failed indexes",
    "FailedIndexes": "Job has failed indexes",
}


def spec_of(job: Mapping[str, Any]) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = job.get("spec") or {}
    return spec


def condition(job: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond  # type: ignore[no-any-return]
    return None


def has_true(job: Mapping[str, Any], ctype: str) -> bool:
    cond = condition(job, ctype)
    return cond is not None and cond.get("status") == "True"


def finished(job: Mapping[str, Any]) -> str | None:
    for ctype in ("Complete", "Failed"):
        if has_true(job, ctype):
            return ctype
    return None


def set_condition(status: Obj, ctype: str, value: str, reason: str, message: str,
                  now: datetime) -> bool:
    """Add or update a condition; the transition time changes only with the status."""
    stamp = format_time(now)
    conds = status.setdefault("conditions", [])
    for cond in conds:
        if cond.get("type") == ctype:
            if cond.get("status") == value and cond.get("reason") == reason and \
                    cond.get("message") == message:
                return False
            if cond.get("status") != value:
                cond["lastTransitionTime"] = stamp
            cond.update(status=value, reason=reason, message=message, lastProbeTime=stamp)
            return True
    conds.append({"type": ctype, "status": value, "lastProbeTime": stamp,
                  "lastTransitionTime": stamp, "reason": reason, "message": message})
    return True


def _uncounted(status: Obj) -> Obj:
    unc = status.get("uncountedTerminatedPods")
    if not isinstance(unc, dict):
        unc = {}
        status["uncountedTerminatedPods"] = unc
    return unc


def _completions(job: Mapping[str, Any]) -> int | None:
    c = spec_of(job).get("completions")
    return None if c is None else int(c)


def indexed(job: Mapping[str, Any]) -> bool:
    return spec_of(job).get("completionMode") == "Indexed"


@attrs.define
class Tracked:
    """What ``track`` found: pods whose finalizer can go, and a failure target if any."""

    release: list[Obj] = attrs.Factory(list)
    failure: tuple[str, str] | None = None
    changed: bool = False


def _index_failures(pods: list[Obj], job: Mapping[str, Any]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for pod in pods:
        idx = jp.pod_index(pod, _completions(job))
        if idx is None or not (jp.is_terminal(pod) and jp.is_failed(pod, job)):
            continue
        ann = (meta_of(pod).get("annotations") or {}).get(jp.INDEX_FAILURE_COUNT, "0")
        prior = int(ann) if str(ann).isdigit() else 0
        counts[idx] = max(counts.get(idx, 0), prior + 1)
    return counts


def track(job: Obj, pods: list[Obj]) -> Tracked:
    """Phase 1 (see module docstring); changes ``job['status']`` in place."""
    status = job.setdefault("status", {})
    unc = _uncounted(status)
    succ_uids, fail_uids = list(unc.get("succeeded") or []), list(unc.get("failed") or [])
    completions = _completions(job)
    done_idx = jp.parse_indexes(status.get("completedIndexes"), completions)
    failed_idx = jp.parse_indexes(status.get("failedIndexes"), completions)
    per_index = spec_of(job).get("backoffLimitPerIndex")
    index_failures = _index_failures(pods, job) if per_index is not None else {}
    out = Tracked()
    for pod in pods:
        if not jp.has_finalizer(pod):
            continue
        uid = str(meta_of(pod).get("uid"))
        succeeded = jp.phase(pod) == "Succeeded"
        failed = not succeeded and jp.is_failed(pod, job)
        if not (succeeded or failed):
            continue
        if (failed and not jp.is_terminal(pod) and jp.only_replace_failed(job)):
            continue
        out.release.append(pod)
        if uid in succ_uids or uid in fail_uids:
            continue
        idx = jp.pod_index(pod, completions) if indexed(job) else None
        if succeeded:
            if indexed(job) and (idx is None or idx in done_idx):
                continue  # duplicate or out-of-range index: not counted
            succ_uids.append(uid)
            if idx is not None:
                done_idx.add(idx)
            out.changed = True
            continue
        action: str | None = None
        if spec_of(job).get("podFailurePolicy") and jp.phase(pod) == "Failed":
            match = jp.match_failure_policy(job, pod)
            if match is not None:
                action = match[0]
                if action == "Ignore":
                    continue
                if action == "FailJob" and out.failure is None:
                    out.failure = ("PodFailurePolicy", match[1])
        fail_uids.append(uid)
        out.changed = True
        if idx is not None and per_index is not None and (
                action == "FailIndex" or index_failures.get(idx, 0) > int(per_index)):
            failed_idx.add(idx)
    unc["succeeded"], unc["failed"] = succ_uids, fail_uids
    for k in ("succeeded", "failed"):
        if not unc[k]:
            del unc[k]
    if indexed(job):
        status["completedIndexes"] = jp.format_indexes(done_idx)
        if per_index is not None:
            status["failedIndexes"] = jp.format_indexes(failed_idx)
    return out


def fold(job: Obj, pods_with_finalizer: set[str]) -> bool:
    """Phase 2: move uncounted UIDs whose pod lost its finalizer into the counters."""
    status = job.setdefault("status", {})
    unc = _uncounted(status)
    changed = False
    for key in ("succeeded", "failed"):
        keep = [u for u in unc.get(key) or [] if u in pods_with_finalizer]
        moved = len(unc.get(key) or []) - len(keep)
        if moved:
            status[key] = int(status.get(key) or 0) + moved
            changed = True
        if keep:
            unc[key] = keep
        else:
            unc.pop(key, None)
    return changed


@attrs.define
class Plan:
    """One sync's writes: pods to create (an index or None each), pods to delete, events,
    and when to look again."""

    create: list[int | None] = attrs.Factory(list)
    delete: list[Obj] = attrs.Factory(list)
    events: list[tuple[str, str, str]] = attrs.Factory(list)
    requeue: float | None = None


def _counts(job: Mapping[str, Any]) -> tuple[int, int]:
    status = job.get("status") or {}
    unc = status.get("uncountedTerminatedPods") or {}
    return (int(status.get("succeeded") or 0) + len(unc.get("succeeded") or []),
            int(status.get("failed") or 0) + len(unc.get("failed") or []))


def _failure_target(job: Mapping[str, Any], tracked: Tracked, now: datetime) -> tuple[str, str] | None:
    cond = condition(job, "FailureTarget")
    if cond is not None and cond.get("status") == "True":
        return str(cond.get("reason")), str(cond.get("message"))
    if tracked.failure is not None:
        return tracked.failure
    spec, status = spec_of(job), job.get("status") or {}
    _, failed = _counts(job)
    completions = _completions(job)
    if spec.get("backoffLimitPerIndex") is not None and indexed(job) and completions:
        failed_idx = jp.parse_indexes(status.get("failedIndexes"), completions)
        mfi = spec.get("maxFailedIndexes")
        if mfi is not None and len(failed_idx) > int(mfi):
            return "MaxFailedIndexesExceeded", REASONS["MaxFailedIndexesExceeded"]
        done = jp.parse_indexes(status.get("completedIndexes"), completions)
        if failed_idx and len(done | failed_idx) >= completions:
            return "FailedIndexes", REASONS["FailedIndexes"]
    elif failed > int(spec.get("backoffLimit", 6)):
        return "BackoffLimitExceeded", REASONS["BackoffLimitExceeded"]
    ads, start = spec.get("activeDeadlineSeconds"), parse_time(status.get("startTime"))
    if ads is not None and start is not None and not spec.get("suspend"):
        if now >= start + timedelta(seconds=int(ads)):
            return "DeadlineExceeded", REASONS["DeadlineExceeded"]
    return None


def _success(job: Mapping[str, Any], active: int) -> tuple[str, str] | None:
    cond = condition(job, "SuccessCriteriaMet")
    if cond is not None and cond.get("status") == "True":
        return str(cond.get("reason")), str(cond.get("message"))
    completions = _completions(job)
    succeeded, _ = _counts(job)
    status = job.get("status") or {}
    if indexed(job) and completions is not None:
        done = jp.parse_indexes(status.get("completedIndexes"), completions)
        for i, rule in enumerate((spec_of(job).get("successPolicy") or {}).get("rules") or []):
            want = jp.parse_indexes(rule.get("succeededIndexes"), completions) if \
                rule.get("succeededIndexes") else set(range(completions))
            count = rule.get("succeededCount")
            hit = len(done & want)
            if (count is not None and hit >= int(count)) or (count is None and want <= done):
                return "SuccessPolicy", f"Matched rules at index {i}"
        if len(done) >= completions:
            return "CompletionsReached", "Reached expected number of succeeded pods"
        return None
    if completions is None:
        if succeeded > 0 and active == 0:
            return "CompletionsReached", "Reached expected number of succeeded pods"
        return None
    if succeeded >= completions:
        return "CompletionsReached", "Reached expected number of succeeded pods"
    return None


def plan(job: Obj, pods: list[Obj], tracked: Tracked, now: datetime,
         backoff: float = 0.0) -> Plan:
    """Decide conditions (in ``job['status']``) and pod writes for one sync."""
    status = job.setdefault("status", {})
    spec = spec_of(job)
    out = Plan()
    active = [p for p in pods if jp.is_active(p)]
    terminating = [p for p in pods if jp.is_terminating(p)]
    unc = status.get("uncountedTerminatedPods") or {}
    pending_count = bool(unc.get("succeeded") or unc.get("failed"))
    suspended = bool(spec.get("suspend"))
    if not suspended and not status.get("startTime"):
        status["startTime"] = format_time(now)
    success = None if has_true(job, "FailureTarget") else _success(job, len(active))
    failure = None if success else _failure_target(job, tracked, now)
    if failure is not None:
        set_condition(status, "FailureTarget", "True", failure[0], failure[1], now)
        out.delete = sorted(active, key=jp.deletion_rank)
        if not active and not terminating and not pending_count:
            if set_condition(status, "Failed", "True", failure[0], failure[1], now):
                out.events.append(("Warning", failure[0], failure[1]))
        return out
    if success is not None:
        set_condition(status, "SuccessCriteriaMet", "True", success[0], success[1], now)
        out.delete = sorted(active, key=jp.deletion_rank)
        if not active and not terminating and not pending_count:
            if set_condition(status, "Complete", "True", success[0], success[1], now):
                status["completionTime"] = format_time(now)
                out.events.append(("Normal", "Completed", "Job completed"))
        return out
    if suspended:
        out.delete = sorted(active, key=jp.deletion_rank)
        if not has_true(job, "Suspended"):
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now)
            out.events.append(("Normal", "Suspended", "Job suspended"))
        return out
    if has_true(job, "Suspended"):
        set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
        status["startTime"] = format_time(now)
        out.events.append(("Normal", "Resumed", "Job resumed"))
    ads, start = spec.get("activeDeadlineSeconds"), parse_time(status.get("startTime"))
    if ads is not None and start is not None:
        out.requeue = max((start + timedelta(seconds=int(ads)) - now).total_seconds(), 0.0)
    _manage(job, active, terminating, out, backoff)
    return out


def _manage(job: Obj, active: list[Obj], terminating: list[Obj], out: Plan,
            backoff: float) -> None:
    spec, status = spec_of(job), job.get("status") or {}
    parallelism = int(spec.get("parallelism", 1) or 0)
    completions = _completions(job)
    succeeded, _ = _counts(job)
    replace_failed_only = jp.only_replace_failed(job)
    if indexed(job) and completions is not None:
        done = jp.parse_indexes(status.get("completedIndexes"), completions)
        failed_idx = jp.parse_indexes(status.get("failedIndexes"), completions)
        seen: dict[int, Obj] = {}
        for pod in sorted(active, key=jp.deletion_rank, reverse=True):
            idx = jp.pod_index(pod, completions)
            if idx is None or idx in done or idx in failed_idx or idx in seen:
                out.delete.append(pod)
            else:
                seen[idx] = pod
        busy = set(seen)
        if replace_failed_only:
            busy |= {i for p in terminating if (i := jp.pod_index(p, completions)) is not None}
        remaining = completions - len(done) - len(failed_idx)
        want = min(parallelism, remaining) - len(seen)
        pending = [i for i in range(completions) if i not in done and i not in failed_idx
                   and i not in busy]
        creates: list[int | None] = list(pending[: max(want, 0)])
    else:
        if completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(min(completions - succeeded, parallelism), 0)
        if len(active) > want:
            out.delete.extend(sorted(active, key=jp.deletion_rank)[: len(active) - want])
        diff = want - len(active)
        if replace_failed_only:
            diff -= len(terminating)
        creates = [None] * max(diff, 0)
    if creates:
        if backoff > 0:
            out.requeue = backoff if out.requeue is None else min(out.requeue, backoff)
        else:
            out.create = creates[:MAX_BATCH]


def finalize_counts(job: Obj, pods: list[Obj], plan_: Plan, created: int) -> None:
    """Write ``active``, ``ready``, ``terminating`` and the uncounted holder into the status."""
    status = job.setdefault("status", {})
    deleted = {meta_of(p).get("uid") for p in plan_.delete}
    active = [p for p in pods if jp.is_active(p) and meta_of(p).get("uid") not in deleted]
    terminating = sum(1 for p in pods if jp.is_terminating(p)) + len(deleted)
    _set_count(status, "active", len(active) + created)
    status["ready"] = sum(1 for p in active if jp.is_ready(p))
    status["terminating"] = terminating
    for key in ("succeeded", "failed"):
        _set_count(status, key, int(status.get(key) or 0))
    _uncounted(status)
    if not status.get("completedIndexes"):
        status.pop("completedIndexes", None)


def _set_count(status: Obj, key: str, value: int) -> None:
    if value:
        status[key] = value
    else:
        status.pop(key, None)
