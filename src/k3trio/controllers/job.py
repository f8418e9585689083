"""The Job controller: runs pods to completion and tracks them, as upstream's ``job_controller``.

``sync(key)``: for a Job that is not finished and is managed by ``kubernetes.io/job-controller``
(``spec.managedBy`` unset or that value):

1. count finished pods through ``status.uncountedTerminatedPods`` and the
   ``batch.kubernetes.io/job-tracking`` finalizer (``job_status.track``/``fold``);
2. decide conditions and pod writes (``job_status.plan``): terminal conditions
   (FailureTarget/Failed with ``BackoffLimitExceeded``, ``DeadlineExceeded``,
   ``PodFailurePolicy``, ``MaxFailedIndexesExceeded``, ``FailedIndexes``;
   SuccessCriteriaMet/Complete with ``CompletionsReached``/``SuccessPolicy``), suspension,
   and the pods to create or delete (with exponential backoff after failures);
3. create pods in slow-start batches (1, 2, 4, ...), delete surplus pods, record events
   (``SuccessfulCreate``, ``FailedCreate``, ``SuccessfulDelete``, ``Completed``...), write
   ``status`` when it changed, and requeue for backoff or ``activeDeadlineSeconds``.

Finished Jobs only get the tracking finalizer removed from their remaining pods. Pods are
found by their controller reference (owner UID index); expectations keep a sync from
creating pods twice before the informer shows the first batch.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import trio

from ..client import ApiError, Conflict, DeletedFinalStateUnknown, Forbidden, NotFound
from ..client.cache import OWNER_UID_INDEX, index_by_owner_uid
from . import job_pods as jp
from . import job_status as js
from .base import Controller, ControllerContext, Obj, meta_of
from .expectations import UIDTrackingExpectations
from .handles import JOBS, PODS

__all__ = ["JobController", "MANAGED_BY"]

log = logging.getLogger("k3trio.controllers.job")

MANAGED_BY = "kubernetes.io/job-controller"


def controller_ref(obj: Any) -> dict[str, Any] | None:
    for ref in meta_of(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


class JobController(Controller):
    name = "job"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.expectations = UIDTrackingExpectations()
        self.jobs = self.informer(JOBS, on_add=self.enqueue,
                                  on_update=lambda old, new: self.enqueue(new),
                                  on_delete=self._job_deleted)
        self.pods = self.informer(PODS, indexers={OWNER_UID_INDEX: index_by_owner_uid},
                                  on_add=self._pod_added, on_update=self._pod_updated,
                                  on_delete=self._pod_deleted)

    # -- handlers --------------------------------------------------------------------

    def _job_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        return f"{meta_of(pod).get('namespace')}/{ref.get('name')}"

    def _job_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else None
        self.enqueue(key or obj)

    def _pod_added(self, pod: Obj) -> None:
        key = self._job_key(pod)
        if key is None:
            return
        if meta_of(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        self.expectations.creation_observed(key)
        self.enqueue(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self._job_key(new)
        if key is None:
            return
        if meta_of(new).get("deletionTimestamp") and not meta_of(old).get("deletionTimestamp"):
            self.expectations.deletion_observed_of(key, str(meta_of(new).get("uid")))
        self.enqueue(key)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        key = self._job_key(pod)
        if key is None:
            return
        self.expectations.deletion_observed_of(key, str(meta_of(pod).get("uid")))
        self.enqueue(key)

    # -- sync ------------------------------------------------------------------------

    def _pods_of(self, job: Obj) -> list[Obj]:
        uid = meta_of(job).get("uid")
        return [p for p in self.pods.indexer.by_index(OWNER_UID_INDEX, str(uid))
                if (controller_ref(p) or {}).get("uid") == uid]

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        cached = self.jobs.lister.get(name, namespace)
        if cached is None:
            self.expectations.delete(key)
            return
        managed = (cached.get("spec") or {}).get("managedBy")
        if managed and managed != MANAGED_BY:
            return
        pods = self._pods_of(cached)
        if js.finished(cached):
            await self._release(pods)
            return
        job = copy.deepcopy(cached)
        original = copy.deepcopy(job.get("status") or {})
        now = self.now()
        tracked = js.track(job, pods)
        if tracked.changed:
            written = await self._write_status(job)
            if written is None:
                return
            job = written
        released = await self._release(tracked.release)
        with_finalizer = {str(meta_of(p).get("uid")) for p in pods
                          if jp.has_finalizer(p) and meta_of(p).get("uid") not in released}
        js.fold(job, with_finalizer)
        backoff = jp.backoff_remaining(job, pods, now)
        satisfied = self.expectations.satisfied(key)
        plan = js.plan(job, pods, tracked, now, backoff)
        if not satisfied:
            plan.create, plan.delete = [], []
        if plan.delete and (js.has_true(job, "FailureTarget") or
                            js.has_true(job, "SuccessCriteriaMet")):
            counted = await self._count_as_failed(job, plan.delete)
            if counted is None:
                return
            job = counted
        deleted = await self._delete_pods(key, job, plan.delete)
        plan.delete = deleted
        created = await self._create_pods(key, job, plan.create, pods)
        js.finalize_counts(job, pods, plan, created)
        for etype, reason, message in plan.events:
            self.recorder.event(job, etype, reason, message)
        if job.get("status") != original:
            await self._write_status(job)
        if plan.requeue is not None:
            self.enqueue_after(key, plan.requeue + 0.001)

    async def _count_as_failed(self, job: Obj, pods: list[Obj]) -> Obj | None:
        """A finishing Job counts the pods it is about to delete as failed (tracked through
        the uncounted list and the finalizer like any other finished pod)."""
        uids = [str(meta_of(p).get("uid")) for p in pods if jp.has_finalizer(p)]
        if not uids:
            return job
        unc = job.setdefault("status", {}).setdefault("uncountedTerminatedPods", {})
        failed = list(unc.get("failed") or [])
        failed.extend(u for u in uids if u not in failed and u not in (unc.get("succeeded") or []))
        unc["failed"] = failed
        conditions = copy.deepcopy(job["status"].get("conditions"))
        written = await self._write_status(job)
        if written is None:
            return None
        written.setdefault("status", {})["conditions"] = conditions
        released = await self._release(pods)
        js.fold(written, {u for u in uids if u not in released})
        return written

    async def _write_status(self, job: Obj) -> Obj | None:
        try:
            return await self.client.update_status(JOBS, job)
        except NotFound:
            return None

    async def _release(self, pods: list[Obj]) -> set[str]:
        """Remove the tracking finalizer from ``pods``; return the UIDs released."""
        done: set[str] = set()
        for pod in pods:
            fins = list(meta_of(pod).get("finalizers") or [])
            if jp.TRACKING_FINALIZER not in fins:
                continue
            fins.remove(jp.TRACKING_FINALIZER)
            patch = {"metadata": {"finalizers": fins or None,
                                  "resourceVersion": meta_of(pod).get("resourceVersion")}}
            try:
                await self.client.patch(PODS, str(meta_of(pod).get("name")), patch,
                                        namespace=meta_of(pod).get("namespace"))
            except NotFound:
                pass
            except Conflict:
                continue  # the pod changed meanwhile; its update event brings another sync
            done.add(str(meta_of(pod).get("uid")))
        return done

    async def _delete_pods(self, key: str, job: Obj, pods: list[Obj]) -> list[Obj]:
        if not pods:
            return []
        self.expectations.expect_deletions_of(key, [str(meta_of(p).get("uid")) for p in pods])
        deleted: list[Obj] = []
        for pod in pods:
            pname = str(meta_of(pod).get("name"))
            try:
                await self.client.delete(PODS, pname, namespace=meta_of(pod).get("namespace"))
            except NotFound:
                self.expectations.deletion_observed_of(key, str(meta_of(pod).get("uid")))
                continue
            except ApiError as exc:
                self.expectations.deletion_observed_of(key, str(meta_of(pod).get("uid")))
                self.recorder.event(job, "Warning", "FailedDelete", f"Error deleting: {exc}")
                raise
            deleted.append(pod)
            self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pname}")
        return deleted

    async def _create_pods(self, key: str, job: Obj, indexes: list[int | None],
                           pods: list[Obj]) -> int:
        if not indexes:
            return 0
        index_failures = js._index_failures(pods, job)
        self.expectations.expect_creations(key, len(indexes))
        created, batch, pos = 0, 1, 0
        while pos < len(indexes):
            chunk = indexes[pos: pos + batch]
            pos += len(chunk)
            errors: list[ApiError] = []

            async def one(index: int | None) -> None:
                nonlocal created
                pod = jp.new_pod(job, index, index_failures.get(index, 0) if index is not None else 0)
                try:
                    made = await self.client.create(PODS, pod)
                except Forbidden as exc:
                    self.expectations.creation_observed(key)
                    if "being terminated" in exc.message:
                        return  # the namespace is going away: nothing to do
                    self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {exc}")
                    errors.append(exc)
                    return
                except ApiError as exc:
                    self.expectations.creation_observed(key)
                    self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {exc}")
                    errors.append(exc)
                    return
                created += 1
                self.recorder.event(job, "Normal", "SuccessfulCreate",
                                    f"Created pod: {meta_of(made).get('name')}")

            async with trio.open_nursery() as nursery:
                for index in chunk:
                    nursery.start_soon(one, index)
            if errors:
                skipped = len(indexes) - pos
                self.expectations.lower(key, adds=skipped)
                raise errors[0]
            batch *= 2
        return created
