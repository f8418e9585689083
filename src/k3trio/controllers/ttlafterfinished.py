"""The TTL-after-finished controller: deletes finished Jobs ``ttlSecondsAfterFinished``
seconds after they finished.

A Job is finished when its ``Complete`` or ``Failed`` condition is True; it finished at its
``completionTime`` or, failing that, at that condition's ``lastTransitionTime``. ``sync``
deletes an expired Job with foreground propagation (its pods go first) and the Job's UID as
a precondition, after re-reading it from the API so a TTL just changed by the user is
honoured; a Job not yet expired is requeued for the moment it expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..client import Conflict, NotFound
from .base import Controller, ControllerContext, meta_of
from .handles import JOBS
from .timeutil import parse_time

__all__ = ["TTLAfterFinishedController", "expire_at", "finish_time"]


def finish_time(job: Mapping[str, Any]) -> datetime | None:
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            if cond.get("type") == "Complete" and status.get("completionTime"):
                return parse_time(status["completionTime"])
            return parse_time(cond.get("lastTransitionTime"))
    return None


def expire_at(job: Mapping[str, Any]) -> datetime | None:
    """When the Job should be deleted (None: no TTL, not finished or being deleted)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or meta_of(job).get("deletionTimestamp"):
        return None
    done = finish_time(job)
    return None if done is None else done + timedelta(seconds=int(ttl))


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.jobs = self.informer(JOBS, on_add=self._changed,
                                  on_update=lambda o, n: self._changed(n))

    def _changed(self, job: dict[str, Any]) -> None:
        if expire_at(job) is not None:
            self.enqueue(job)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        job = self.jobs.lister.get(name, namespace)
        if job is None or expire_at(job) is None:
            return
        try:
            fresh = await self.client.get(JOBS, name, namespace=namespace)
        except NotFound:
            return
        when = expire_at(fresh)
        if when is None:
            return
        left = (when - self.now()).total_seconds()
        if left > 0:
            self.enqueue_after(key, left)
            return
        try:
            await self.client.delete(JOBS, name, namespace=namespace,
                                     propagation_policy="Foreground",
                                     uid=str(meta_of(fresh).get("uid")))
        except (NotFound, Conflict):
            return
