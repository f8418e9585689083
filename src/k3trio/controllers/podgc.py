"""The pod garbage collector: every 20 seconds, removes pods nothing else will.

``gc_decisions`` (pure) picks, from the cached pods and nodes:

1. terminated pods (Succeeded/Failed) beyond ``terminated_threshold`` (12500 as upstream's
   ``--terminated-pod-gc-threshold``), oldest first — deleted;
2. pods bound to a node that does not exist — marked Failed with a ``DisruptionTarget``
   condition (``DeletionByPodGC``, "PodGC: node no longer exists") and force-deleted, once
   the node has been missing for the 40 s quarantine and an API lookup confirms it is gone;
3. terminating pods never scheduled to a node — force-deleted;
4. terminating pods on nodes tainted ``node.kubernetes.io/out-of-service`` that are not
  ready — marked and force-deleted (``DeletionByPodGC``, "PodGC: node is out of service").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from ..client import ApiError, Conflict, NotFound
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import NODES, PODS
from .timeutil import format_time

__all__ = ["Decisions", "PodGCController", "gc_decisions"]

log = logging.getLogger("k3trio.controllers.podgc")

GC_PERIOD = 20.0
QUARANTINE = 40.0
TERMINATED_THRESHOLD = 12500
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


def _terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _ready_node(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


@attrs.define
class Decisions:
    terminated: list[Obj] = attrs.Factory(list)
    orphaned: list[Obj] = attrs.Factory(list)  # candidates: their node must be confirmed gone
    unscheduled: list[Obj] = attrs.Factory(list)
    out_of_service: list[Obj] = attrs.Factory(list)


def gc_decisions(pods: list[Obj], nodes: list[Obj],
                 terminated_threshold: int = TERMINATED_THRESHOLD) -> Decisions:
    out = Decisions()
    node_by_name = {str(meta_of(n).get("name")): n for n in nodes}
    terminated = [p for p in pods if _terminal(p) and not meta_of(p).get("deletionTimestamp")]
    excess = len(terminated) - terminated_threshold if terminated_threshold > 0 else 0
    if excess > 0:
        terminated.sort(key=lambda p: (str(meta_of(p).get("creationTimestamp") or ""),
                                       str(meta_of(p).get("name"))))
        out.terminated = terminated[:excess]
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        deleting = bool(meta_of(pod).get("deletionTimestamp"))
        if not node_name:
            if deleting:
                out.unscheduled.append(pod)
            continue
        node = node_by_name.get(str(node_name))
        if node is None:
            out.orphaned.append(pod)
            continue
        taints = (node.get("spec") or {}).get("taints") or []
        if deleting and not _terminal(pod) and not _ready_node(node) and \
                any(t.get("key") == OUT_OF_SERVICE for t in taints):
            out.out_of_service.append(pod)
    return out


class PodGCController(Controller):
    name = "podgc"
    workers = 1

    def __init__(self, ctx: ControllerContext, *,
                 terminated_threshold: int = TERMINATED_THRESHOLD) -> None:
        super().__init__(ctx)
        self.threshold = terminated_threshold
        self.pods = self.informer(PODS)
        self.nodes = self.informer(NODES)
        self._missing_since: dict[str, float] = {}

    async def background(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._loop)

    async def _loop(self) -> None:
        while True:
            self.queue.add("gc")
            await trio.sleep(GC_PERIOD)

    async def sync(self, key: str) -> None:
        decisions = gc_decisions(self.pods.lister.list(), self.nodes.lister.list(),
                                 self.threshold)
        for pod in decisions.terminated:
            await self._delete(pod, force=False)
        now = trio.current_time()
        missing = {str((p.get("spec") or {}).get("nodeName")) for p in decisions.orphaned}
        self._missing_since = {n: self._missing_since.get(n, now) for n in missing}
        gone: set[str] = set()
        for node in missing:
            if now - self._missing_since[node] < QUARANTINE:
                continue
            try:
                await self.client.get(NODES, node)
            except NotFound:
                gone.add(node)
        for pod in decisions.orphaned:
            if str((pod.get("spec") or {}).get("nodeName")) in gone:
                await self._mark_failed(pod, "PodGC: node no longer exists")
                await self._delete(pod, force=True)
        for pod in decisions.unscheduled:
            await self._delete(pod, force=True)
        for pod in decisions.out_of_service:
            await self._mark_failed(pod, "PodGC: node is out of service")
            await self._delete(pod, force=True)

    async def _mark_failed(self, pod: Obj, message: str) -> None:
        if _terminal(pod):
            return
        stamp = format_time(self.now())
        status = {"phase": "Failed", "conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
            "message": message, "lastTransitionTime": stamp}]}
        try:
            await self.client.patch(PODS, str(meta_of(pod).get("name")), {"status": status},
                                    patch_type="strategic", subresource="status",
                                    namespace=meta_of(pod).get("namespace"))
        except (NotFound, Conflict):
            pass
        except ApiError as exc:
            log.warning("podgc: cannot mark %s failed: %s", meta_of(pod).get("name"), exc)

    async def _delete(self, pod: Obj, *, force: bool) -> None:
        meta = meta_of(pod)
        try:
            await self.client.delete(PODS, str(meta.get("name")), namespace=meta.get("namespace"),
                                     grace_period_seconds=0 if force else None,
                                     uid=str(meta.get("uid")))
        except (NotFound, Conflict):
            pass
