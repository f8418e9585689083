"""The scheduler component: informers in, ``schedule_one`` in the middle, API writes out.

    await nursery.start(run_scheduler, client)

- Informer handlers only update the :class:`SchedulerCache` and the :class:`SchedulingQueue`
  (pending pods of this scheduler in, cluster events move unschedulable pods).
- One task pops pods and runs the synchronous decision (:meth:`Scheduler.schedule_one`) over
  the cache; a chosen node is *assumed* at once and the binding (``POST pods/binding``) is
  written in a separate task, so the next pod is scheduled while the write is in flight.
- An unschedulable pod gets a ``FailedScheduling`` event, a ``PodScheduled=False`` condition
  and, when preemption found room, ``status.nominatedNodeName``; victims get a
  ``DisruptionTarget`` condition, a ``Preempted`` event, and are deleted.
- A failed binding forgets the assumed pod and sends the pod to backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import trio

from k3trio.client import (
    Client,
    DeletedFinalStateUnknown,
    EventRecorder,
    SharedInformerFactory,
    drop_managed_fields,
)
from k3trio.client.errors import ApiError, ClientError, NotFound
from k3trio.client.resource import NODES, PODS, Resource
from k3trio.scheduler.cache import SchedulerCache
from k3trio.scheduler.framework import Scheduler, ScheduleResult, binding_for, unschedulable_condition
from k3trio.api.labels import Selector
from k3trio.scheduler.nodeinfo import PodInfo, build_spread_selectors, pod_key
from k3trio.scheduler.queue import QueuedPodInfo, SchedulingQueue

__all__ = ["DEFAULT_SCHEDULER_NAME", "SchedulerService", "run_scheduler"]

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
SERVICES = Resource("", "v1", "services", "Service", True)
RCS = Resource("", "v1", "replicationcontrollers", "ReplicationController", True)
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True)
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", False)
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", True)
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet", True)
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False)
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True)

Obj = Mapping[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


class SchedulerService:
    """Wires the pure scheduler to the API. Build, then ``await nursery.start(svc.run)``."""

    def __init__(self, client: Client, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 factory: SharedInformerFactory | None = None, recorder: EventRecorder | None = None,
                 seed: int | None = None) -> None:
        self.client = client
        self.name = scheduler_name
        self.factory = factory or SharedInformerFactory(client, transform=drop_managed_fields)
        self._own_factory = factory is None
        self.recorder = recorder or EventRecorder(client, scheduler_name)
        self._own_recorder = recorder is None
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue()
        self.scheduler = Scheduler(seed=seed)
        self.scheduled = 0
        self.failed = 0
        inf = self.factory.informer
        self.pods = inf(PODS)
        self.nodes = inf(NODES)
        self.namespaces = inf(NAMESPACES)
        self.services = inf(SERVICES)
        self.workloads = [inf(REPLICASETS), inf(STATEFULSETS), inf(RCS)]
        self.pvcs = inf(PVCS)
        self.pvs = inf(PVS)
        self.storage_classes = inf(STORAGECLASSES)
        self.pdbs = inf(PDBS)
        self.pods.add_event_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_event_handler(self._node_added, self._node_updated, self._node_deleted)
        for informer, kind in ((self.pvcs, "Pvc"), (self.pvs, "Pv"), (self.storage_classes, "StorageClass")):
            informer.add_event_handler(self._on_add(kind + "Add"), self._on_update(kind + "Update"))
        self.namespaces.add_event_handler(None, self._on_update("NamespaceUpdate"))
        self._spread_selectors: list[tuple[str, Selector]] | None = None
        for informer in (self.services, *self.workloads):
            informer.add_event_handler(self._invalidate_selectors, self._invalidate_selectors2,
                                       self._invalidate_selectors)

    def _invalidate_selectors(self, *_args: Any) -> None:
        self._spread_selectors = None

    def _invalidate_selectors2(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            self._spread_selectors = None

    def _on_add(self, event: str) -> Callable[[dict[str, Any]], None]:
        def handler(_obj: dict[str, Any]) -> None:
            self._event(event)
        return handler

    def _on_update(self, event: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
        def handler(_old: dict[str, Any], _new: dict[str, Any]) -> None:
            self._event(event)
        return handler

    # -- informer handlers --------------------------------------------------------------------
    def _responsible(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.name

    def _pending(self, pod: Obj) -> bool:
        """Unassigned, alive, and not held back by ``spec.schedulingGates`` (SchedulingGates)."""
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and not spec.get("schedulingGates")
                and _meta(pod).get("deletionTimestamp") is None
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))

    def _event(self, name: str) -> None:
        self.queue.move_all_to_active_or_backoff(name)

    def _pod_added(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.add_pod(pod)
            self._event("PodAdd")
        elif self._pending(pod) and self._responsible(pod) and not self.cache.is_assumed(pod):
            self.queue.add(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if (new.get("spec") or {}).get("nodeName"):
            was_assigned = bool((old.get("spec") or {}).get("nodeName"))
            self.queue.delete(new)
            self.cache.update_pod(new)
            if not was_assigned:
                self._event("PodAdd")
            elif (old.get("status") or {}).get("phase") != (new.get("status") or {}).get("phase") or \
                    _meta(old).get("labels") != _meta(new).get("labels"):
                self._event("PodUpdate")
        elif self.cache.is_assumed(new):
            pass  # binding in flight: the bound pod will arrive, or a failed bind requeues it
        elif self._pending(new) and self._responsible(new):
            self.queue.update(new)
        else:
            self.queue.delete(new)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if (pod.get("spec") or {}).get("nodeName") or self.cache.is_assumed(pod):
            self.cache.remove_pod(pod)
            self._event("PodDelete")
        self.queue.delete(pod)

    def _node_added(self, node: Obj) -> None:
        self.cache.add_node(node)
        self._event("NodeAdd")

    def _node_updated(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(new)
        if old.get("spec") != new.get("spec") or _meta(old).get("labels") != _meta(new).get("labels") or \
                (old.get("status") or {}).get("allocatable") != (new.get("status") or {}).get("allocatable"):
            self._event("NodeUpdate")

    def _node_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        node = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        self.cache.remove_node(node)
        self._event("NodeDelete")

    # -- the loop -----------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            if self._own_factory:
                await nursery.start(self.factory.run)
            if self._own_recorder:
                await nursery.start(self.recorder.run)
            await self.factory.wait_for_cache_sync()
            await nursery.start(self.queue.run)
            task_status.started()
            while True:
                qpi = await self.queue.pop()
                self.schedule_pod(qpi, nursery)
                await trio.lowlevel.checkpoint()

    def snapshot_extras(self) -> dict[str, Any]:
        if self._spread_selectors is None:
            workloads = [w for informer in self.workloads for w in informer.indexer.list()]
            self._spread_selectors = build_spread_selectors(self.services.indexer.list(), workloads)
        return {
            "nominated": self.queue.nominated_pods(),
            "namespaces": self.namespaces.indexer.list(),
            "pvcs": self.pvcs.indexer.list(),
            "pvs": self.pvs.indexer.list(),
            "storage_classes": self.storage_classes.indexer.list(),
            "spread_selectors": self._spread_selectors,
            "pdbs": self.pdbs.indexer.list(),
        }

    def schedule_pod(self, qpi: QueuedPodInfo, nursery: trio.Nursery) -> ScheduleResult | None:
        """One scheduling cycle (synchronous); starts the binding or failure writes in ``nursery``."""
        meta = _meta(qpi.pod)
        current = self.pods.lister.get(meta.get("name", ""), meta.get("namespace"))
        if (current is None or not self._pending(current) or not self._responsible(current)
                or self.cache.is_assumed(current)):
            self.queue.done(qpi.key)
            return None
        qpi.pod = current
        snapshot = self.cache.snapshot(**self.snapshot_extras())
        try:
            result = self.scheduler.schedule_one(current, snapshot)
        except Exception:  # a bug in a plugin must not stop scheduling of every other pod
            log.exception("scheduling %s failed", qpi.key)
            self.queue.add_unschedulable(qpi, error=True)
            return None
        if result.node is not None:
            assumed = self.cache.assume(current, result.node)
            self.queue.done(qpi.key)
            nursery.start_soon(self._bind, qpi, assumed, result.node)
        else:
            self.failed += 1
            self.queue.add_unschedulable(qpi, result.unschedulable_plugins)
            if result.nominated_node:
                self.queue.add_nominated(current, result.nominated_node)
            nursery.start_soon(self._record_failure, current, result)
        return result

    async def _bind(self, qpi: QueuedPodInfo, pod: Obj, node: str) -> None:
        meta = _meta(pod)
        try:
            await self.client.create(PODS, binding_for(pod, node), namespace=meta.get("namespace"),
                                     name=meta.get("name"), subresource="binding")
        except (ApiError, ClientError) as exc:
            self.cache.forget(pod)
            if isinstance(exc, NotFound):
                self.queue.done(qpi.key)
                return
            log.warning("binding %s to %s failed: %s", qpi.key, node, exc)
            self.queue.add_unschedulable(qpi, error=True)
            self.recorder.event(pod, "Warning", "FailedScheduling", f"Binding rejected: {exc}")
            return
        self.scheduled += 1
        self.recorder.event(pod, "Normal", "Scheduled",
                            f"Successfully assigned {meta.get('namespace')}/{meta.get('name')} to {node}")

    async def _record_failure(self, pod: Obj, result: ScheduleResult) -> None:
        self.recorder.event(pod, "Warning", "FailedScheduling", result.message)
        meta = _meta(pod)
        ns, name = meta.get("namespace"), meta.get("name", "")
        for victim in result.victims:
            await self._preempt_victim(victim, pod, result.nominated_node or "")
        for other in result.clear_nominations:
            await self._patch_status(other.pod, {"status": {"nominatedNodeName": None}})
        status: dict[str, Any] = {}
        old = next((c for c in (pod.get("status") or {}).get("conditions") or () if c.get("type") == "PodScheduled"), None)
        if old is None or old.get("status") != "False" or old.get("message") != result.message:
            cond = unschedulable_condition(result.message, _now())
            if old is not None and old.get("status") == "False":
                cond["lastTransitionTime"] = old.get("lastTransitionTime") or cond["lastTransitionTime"]
            status["conditions"] = [cond]
        if result.nominated_node and (pod.get("status") or {}).get("nominatedNodeName") != result.nominated_node:
            status["nominatedNodeName"] = result.nominated_node
        if status:
            await self._patch_status(pod, {"status": status})
        log.debug("%s/%s unschedulable: %s", ns, name, result.message)

    async def _preempt_victim(self, victim: PodInfo, preemptor: Obj, node: str) -> None:
        meta = _meta(victim.pod)
        cond = {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                "message": f"{self.name}: preempting to accommodate a higher priority pod",
                "lastTransitionTime": _now()}  # fmt: skip
        await self._patch_status(victim.pod, {"status": {"conditions": [cond]}})
        try:
            await self.client.delete(PODS, meta.get("name", ""), namespace=meta.get("namespace"),
                                     uid=meta.get("uid"))
        except NotFound:
            return
        except (ApiError, ClientError) as exc:
            log.warning("preempting %s failed: %s", victim.key, exc)
            return
        self.recorder.event(victim.pod, "Normal", "Preempted",
                            f"Preempted by pod {_meta(preemptor).get('uid', '')} on node {node}")

    async def _patch_status(self, pod: Obj, patch: dict[str, Any]) -> None:
        meta = _meta(pod)
        try:
            await self.client.patch(PODS, meta.get("name", ""), patch, patch_type="strategic",
                                    namespace=meta.get("namespace"), subresource="status")
        except NotFound:
            pass
        except (ApiError, ClientError) as exc:
            log.warning("updating status of %s failed: %s", pod_key(pod), exc)


async def run_scheduler(client: Client, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                        task_status: trio.TaskStatus[SchedulerService] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the default scheduler until cancelled; ``started`` hands back the service."""
    service = SchedulerService(client, scheduler_name=scheduler_name)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        task_status.started(service)
        await trio.sleep_forever()
