"""The CronJob controller: creates a Job for every scheduled time, as ``cronjob_controllerv2``.

``sync(key)`` for one CronJob:

1. reconcile ``status.active`` with the Jobs it controls: finished Jobs leave the list
   (``SawCompletedJob``), their completion moves ``status.lastSuccessfulTime`` forward;
   unfinished owned Jobs missing from the list are reported (``UnexpectedJob``); listed Jobs
   that no longer exist are dropped (``MissingJob``);
2. remove the oldest finished Jobs beyond ``successfulJobsHistoryLimit`` /
   ``failedJobsHistoryLimit`` (``SuccessfulDelete``);
3. unless deleted or suspended, find the most recent unmet scheduled time (``most_recent``):
   none -> requeue at the next time; older than ``startingDeadlineSeconds`` -> ``MissSchedule``;
   already started (the Job of that time is active or ``lastScheduleTime`` equals it) ->
   requeue; ``Forbid`` with running Jobs -> ``JobAlreadyActive``; ``Replace`` deletes the
   running Jobs first; then creates ``<cronjob>-<minutes since epoch>`` from the template
   (``SuccessfulCreate``), adds it to ``status.active`` and sets ``lastScheduleTime``.

The scheduling decisions are the pure functions ``most_recent`` and ``job_for`` with the
wall clock passed in, so they are tested without servers or sleeps.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import attrs
import trio

from ..client import AlreadyExists, ApiError, Forbidden, NotFound, object_reference
from ..client.cache import OWNER_UID_INDEX, index_by_owner_uid
from .base import Controller, ControllerContext, Obj, meta_of
from .cron import CronError, Schedule, parse
from .handles import CRONJOBS, JOBS
from .timeutil import format_time, parse_time

__all__ = ["CronJobController", "MostRecent", "job_for", "job_name", "most_recent"]

log = logging.getLogger("k3trio.controllers.cronjob")

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100
NEXT_DELTA = 0.1


@attrs.frozen
class MostRecent:
    """The most recent unmet scheduled time (None: nothing due) and how many were missed."""

    time: datetime | None
    missed: int


def _controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in meta_of(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def earliest_time(cj: Mapping[str, Any]) -> datetime:
    status = cj.get("status") or {}
    last = parse_time(status.get("lastScheduleTime"))
    if last is not None:
        return last
    created = parse_time(meta_of(cj).get("creationTimestamp"))
    return created or datetime.fromtimestamp(0, UTC)


def most_recent(cj: Mapping[str, Any], sched: Schedule, now: datetime,
                include_deadline: bool = True) -> MostRecent:
    """The latest scheduled time in ``(earliest, now]`` (``mostRecentScheduleTime``)."""
    earliest = earliest_time(cj)
    sds = (cj.get("spec") or {}).get("startingDeadlineSeconds")
    if include_deadline and sds is not None:
        deadline = now - timedelta(seconds=int(sds))
        if deadline > earliest:
            earliest = deadline
    if earliest > now:
        return MostRecent(None, 0)
    first = sched.next(earliest)
    if first is None or first > now:
        return MostRecent(None, 0)
    # Count missed times (stopping past MAX_MISSED), then find the latest one quickly.
    missed, t = 1, first
    while missed <= MAX_MISSED:
        nxt = sched.next(t)
        if nxt is None or nxt > now:
            return MostRecent(t, missed)
        t, missed = nxt, missed + 1
    for window in (120, 7200, 172800, 5356800, 63158400, 252633600):
        start = max(earliest, now - timedelta(seconds=window))
        cand = sched.next(start)
        if cand is not None and cand <= now:
            while True:
                nxt = sched.next(cand)
                if nxt is None or nxt > now:
                    return MostRecent(cand, missed)
                cand = nxt
    return MostRecent(t, missed)


def next_schedule_delay(cj: Mapping[str, Any], sched: Schedule, now: datetime) -> float | None:
    """Seconds until the next scheduled time (plus a small delta), None if never."""
    nxt = sched.next(max(now, earliest_time(cj)))
    if nxt is None:
        return None
    return max((nxt - now).total_seconds(), 0.0) + NEXT_DELTA


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def job_for(cj: Mapping[str, Any], scheduled: datetime, sched: Schedule) -> Obj:
    """The Job to create for ``scheduled`` (``getJobFromTemplate2``)."""
    template = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    meta = meta_of(cj)
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = scheduled.astimezone(sched.zone).isoformat()
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(str(meta.get("name")), scheduled),
            "namespace": meta.get("namespace"),
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": meta.get("name"),
                "uid": meta.get("uid"), "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def job_finished(job: Mapping[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` once a True condition of that type exists, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def _start_key(job: Mapping[str, Any]) -> tuple[int, float, str]:
    start = parse_time((job.get("status") or {}).get("startTime"))
    name = str(meta_of(job).get("name"))
    return (1, 0.0, name) if start is None else (0, start.timestamp(), name)


def jobs_to_prune(cj: Mapping[str, Any], jobs: list[Obj]) -> list[Obj]:
    """Finished Jobs beyond the history limits, oldest first."""
    spec = cj.get("spec") or {}
    out: list[Obj] = []
    for kind, field in (("Complete", "successfulJobsHistoryLimit"),
                        ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(field)
        if limit is None:
            continue
        done = sorted((j for j in jobs if job_finished(j) == kind), key=_start_key)
        out.extend(done[: max(len(done) - int(limit), 0)])
    return out


class CronJobController(Controller):
    name = "cronjob"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.cronjobs = self.informer(CRONJOBS, on_add=self.enqueue,
                                      on_update=self._cj_updated, on_delete=self.enqueue)
        self.jobs = self.informer(JOBS, indexers={OWNER_UID_INDEX: index_by_owner_uid},
                                  on_add=self._job_event, on_delete=self._job_event,
                                  on_update=lambda old, new: self._job_event(new))

    def _cj_updated(self, old: Obj, new: Obj) -> None:
        self.enqueue(new)

    def _job_event(self, job: Any) -> None:
        obj = getattr(job, "obj", job)
        ref = _controller_ref(obj)
        if ref is None or ref.get("kind") != "CronJob":
            return
        self.enqueue(f"{meta_of(obj).get('namespace')}/{ref.get('name')}")

    def _owned_jobs(self, cj: Obj) -> list[Obj]:
        uid = meta_of(cj).get("uid")
        return [j for j in self.jobs.indexer.by_index(OWNER_UID_INDEX, str(uid))
                if (_controller_ref(j) or {}).get("uid") == uid]

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        cached = self.cronjobs.lister.get(name, namespace)
        if cached is None:
            return
        cj = copy.deepcopy(cached)
        jobs = self._owned_jobs(cj)
        original_status = copy.deepcopy(cj.get("status") or {})
        delay = await self._sync_cronjob(cj, jobs)
        status = cj.get("status") or {}
        if status != original_status:
            try:
                await self.client.update_status(CRONJOBS, cj)
            except NotFound:
                return
        await self._cleanup(cj, jobs)
        if delay is not None:
            self.enqueue_after(key, delay)

    async def _sync_cronjob(self, cj: Obj, jobs: list[Obj]) -> float | None:
        status = cj.setdefault("status", {})
        active = list(status.get("active") or [])
        active_uids = {a.get("uid") for a in active}
        children = {meta_of(j).get("uid") for j in jobs}
        for job in jobs:
            uid = meta_of(job).get("uid")
            finished = job_finished(job)
            jname = meta_of(job).get("name")
            if uid not in active_uids and finished is None:
                self.recorder.event(cj, "Warning", "UnexpectedJob",
                                    f"Saw a job that the controller did not create or forgot: {jname}")
            elif uid in active_uids and finished is not None:
                active = [a for a in active if a.get("uid") != uid]
                self.recorder.event(cj, "Normal", "SawCompletedJob",
                                    f"Saw completed job: {jname}, condition: {finished}")
            if finished == "Complete":
                done = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    status["lastSuccessfulTime"] = format_time(done)
        for ref in list(active):
            if ref.get("uid") in children:
                continue
            try:
                await self.client.get(JOBS, str(ref.get("name")),
                                      namespace=meta_of(cj).get("namespace"))
            except NotFound:
                self.recorder.event(cj, "Normal", "MissingJob",
                                    f"Active job went missing: {ref.get('name')}")
                active = [a for a in active if a.get("uid") != ref.get("uid")]
        _set_active(status, active)
        if meta_of(cj).get("deletionTimestamp"):
            return None
        spec = cj.get("spec") or {}
        try:
            sched = parse(str(spec.get("schedule") or ""), spec.get("timeZone"))
        except CronError as exc:
            if spec.get("timeZone") and "time zone" in str(exc):
                self.recorder.event(cj, "Warning", "UnknownTimeZone",
                                    f"invalid timeZone: {spec.get('timeZone')!r}: {exc}")
            else:
                self.recorder.event(cj, "Warning", "UnparseableSchedule",
                                    f"unparseable schedule: {spec.get('schedule')!r} : {exc}")
            return None
        if spec.get("suspend"):
            return None
        now = self.now()
        recent = most_recent(cj, sched, now)
        if recent.missed > MAX_MISSED:
            self.recorder.event(cj, "Warning", "TooManyMissedTimes",
                                f"too many missed start times: {recent.missed}. Set or decrease "
                                ".spec.startingDeadlineSeconds or check clock skew")
        delay = next_schedule_delay(cj, sched, now)
        scheduled = recent.time
        if scheduled is None:
            return delay
        sds = spec.get("startingDeadlineSeconds")
        if sds is not None and scheduled + timedelta(seconds=int(sds)) < now:
            self.recorder.event(cj, "Warning", "MissSchedule",
                                "Missed scheduled time to start a job: "
                                + format_datetime(scheduled.astimezone(UTC)).replace("-0000", "+0000"))
            return delay
        want = job_name(str(meta_of(cj).get("name")), scheduled)
        if any(a.get("name") == want for a in active) or \
                parse_time(status.get("lastScheduleTime")) == scheduled:
            return delay
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            self.recorder.event(cj, "Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and "
                                "concurrency policy is Forbid")
            return delay
        if policy == "Replace":
            for ref in list(active):
                await self._delete_job(cj, str(ref.get("name")))
                active = [a for a in active if a.get("uid") != ref.get("uid")]
            _set_active(status, active)
        job = job_for(cj, scheduled, sched)
        try:
            created = await self.client.create(JOBS, job)
        except AlreadyExists:
            existing = self.jobs.lister.get(want, meta_of(cj).get("namespace"))
            if existing is None or (_controller_ref(existing) or {}).get("uid") != meta_of(cj).get("uid"):
                raise
            created = existing
            if job_finished(existing) is not None:
                return delay
        except ApiError as exc:
            if isinstance(exc, Forbidden) and "being terminated" in exc.message:
                return None
            self.recorder.event(cj, "Warning", "FailedCreate", f"Error creating job: {exc}")
            raise
        else:
            self.recorder.event(cj, "Normal", "SuccessfulCreate", f"Created job {want}")
        ref = object_reference(created)
        ref.pop("resourceVersion", None)
        ref.setdefault("apiVersion", "batch/v1")
        ref.setdefault("kind", "Job")
        active.append(ref)
        _set_active(status, active)
        status["lastScheduleTime"] = format_time(scheduled)
        return delay

    async def _delete_job(self, cj: Obj, name: str) -> bool:
        try:
            await self.client.delete(JOBS, name, namespace=meta_of(cj).get("namespace"),
                                     propagation_policy="Background")
        except NotFound:
            return True
        except ApiError as exc:
            self.recorder.event(cj, "Warning", "FailedDelete", f"Deleted job: {exc}")
            return False
        self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")
        return True

    async def _cleanup(self, cj: Obj, jobs: list[Obj]) -> None:
        for job in jobs_to_prune(cj, jobs):
            await self._delete_job(cj, str(meta_of(job).get("name")))
        await trio.lowlevel.checkpoint()


def _set_active(status: Obj, active: list[Obj]) -> None:
    if active:
        status["active"] = active
    else:
        status.pop("active", None)
