"""The node lifecycle controller: node health from heartbeats, condition taints, pod eviction.

Every 5 s (``MONITOR_PERIOD``) each node is looked at (``sync("node/<name>")``):

1. **health**: a heartbeat is a change of the node's Lease ``spec.renewTime`` in
   ``kube-node-lease`` or of its Ready condition's ``lastHeartbeatTime``; the controller
   remembers when it last saw one (a new node counts from when it was first seen). After
   ``GRACE`` (40 s) without one, the Ready, MemoryPressure, DiskPressure and PIDPressure
   conditions become ``Unknown`` (``NodeStatusUnknown``, "Kubelet stopped posting node
   status."; ``NodeStatusNeverUpdated``, "Kubelet never posted node status." for conditions
   the kubelet never wrote);
2. **taints**: ``node.kubernetes.io/not-ready`` (Ready False) or ``unreachable`` (Ready
   Unknown) with effect NoExecute, and the NoSchedule taints by condition (not-ready,
   unreachable, memory-pressure, disk-pressure, pid-pressure, network-unavailable,
   unschedulable) are kept in ``spec.taints`` (``desired_taints``, pure); other taints stay;
3. when Ready stops being True, the node's pods get ``Ready=False`` and ``NodeNotReady``
   events;
4. **taint manager**: a pod on a node with NoExecute taints it does not tolerate is evicted at
   once; one tolerating them for ``tolerationSeconds`` is evicted that long after the taint
   was added (``eviction_time``, pure); eviction adds a ``DisruptionTarget`` condition
   (``DeletionByTaintManager``) and deletes the pod (``TaintManagerEviction`` event).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
import trio

from ..client import ApiError, Conflict, NotFound
from ..client.cache import NODE_NAME_INDEX, index_by_node_name
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import LEASES, NODES, PODS
from .timeutil import format_time, parse_time

__all__ = ["NodeLifecycleController", "desired_taints", "eviction_time", "tolerates"]

log = logging.getLogger("k3trio.controllers.nodelifecycle")

MONITOR_PERIOD = 5.0
GRACE = 40.0
LEASE_NAMESPACE = "kube-node-lease"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
CONDITION_TAINTS = (
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
)
MANAGED_KEYS = {NOT_READY, UNREACHABLE, "node.kubernetes.io/unschedulable",
                *(t for _, _, t in CONDITION_TAINTS)}
WATCHED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def condition(node: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond  # type: ignore[no-any-return]
    return None


def ready_status(node: Mapping[str, Any]) -> str:
    cond = condition(node, "Ready")
    return str(cond.get("status")) if cond else "Unknown"


def desired_taints(node: Mapping[str, Any], now: datetime) -> list[Obj]:
    """The node's taints with the controller-managed ones recomputed from its conditions."""
    current = list((node.get("spec") or {}).get("taints") or [])
    want: list[tuple[str, str]] = []
    ready = ready_status(node) if condition(node, "Ready") else None
    if ready == "False":
        want += [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]
    elif ready == "Unknown":
        want += [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    for ctype, status, key in CONDITION_TAINTS:
        cond = condition(node, ctype)
        if cond is not None and cond.get("status") == status:
            want.append((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        want.append(("node.kubernetes.io/unschedulable", "NoSchedule"))
    out = [t for t in current if t.get("key") not in MANAGED_KEYS
           or (t.get("key"), t.get("effect")) in want]
    have = {(t.get("key"), t.get("effect")) for t in out}
    for key, effect in want:
        if (key, effect) not in have:
            taint: Obj = {"key": key, "effect": effect}
            if effect == "NoExecute":
                taint["timeAdded"] = format_time(now)
            out.append(taint)
    return out


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    op = toleration.get("operator") or "Equal"
    if not toleration.get("key"):
        return op == "Exists"
    if toleration.get("key") != taint.get("key"):
        return False
    return op == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_time(pod: Mapping[str, Any], taints: list[Mapping[str, Any]],
                  now: datetime) -> datetime | None:
    """When the pod must go because of NoExecute taints (None: never)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    when: datetime | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return now
        seconds = [t.get("tolerationSeconds") for t in matching]
        if any(s is None for s in seconds):
            continue
        added = parse_time(taint.get("timeAdded")) or now
        at = added + timedelta(seconds=max(min(int(s) for s in seconds if s is not None), 0))
        when = at if when is None or at < when else when
    return when


@attrs.define
class _Health:
    signature: tuple[str, str]
    probed: datetime


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    workers = 5

    def __init__(self, ctx: ControllerContext, *, grace: float = GRACE) -> None:
        super().__init__(ctx)
        self.grace = grace
        self.nodes = self.informer(NODES, on_add=self.enqueue,
                                   on_update=lambda o, n: self.enqueue(n))
        self.leases = self.informer(LEASES, namespace=LEASE_NAMESPACE,
                                    on_update=lambda o, n: self.enqueue(str(meta_of(n).get("name"))))
        self.pods = self.informer(PODS, indexers={NODE_NAME_INDEX: index_by_node_name},
                                  on_add=self._pod_changed,
                                  on_update=lambda o, n: self._pod_changed(n))
        self.health: dict[str, _Health] = {}

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and not meta_of(pod).get("deletionTimestamp"):
            n = self.nodes.lister.get(str(node))
            if n is not None and any(t.get("effect") == "NoExecute"
                                     for t in (n.get("spec") or {}).get("taints") or []):
                self.enqueue(str(node))

    async def background(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._monitor)

    async def _monitor(self) -> None:
        while True:
            await trio.sleep(MONITOR_PERIOD)
            for node in self.nodes.lister.list():
                self.enqueue(node)

    def _signature(self, node: Obj) -> tuple[str, str]:
        ready = condition(node, "Ready") or {}
        lease = self.leases.lister.get(str(meta_of(node).get("name")), LEASE_NAMESPACE)
        renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
        return str(ready.get("lastHeartbeatTime") or ""), renew

    async def sync(self, key: str) -> None:
        node = self.nodes.lister.get(key)
        if node is None:
            self.health.pop(key, None)
            return
        now = self.now()
        sig = self._signature(node)
        record = self.health.get(key)
        if record is None or record.signature != sig:
            record = _Health(sig, now)
            self.health[key] = record
        was_ready = ready_status(node) == "True"
        node = copy.deepcopy(node)
        if (now - record.probed).total_seconds() > self.grace:
            if self._mark_unknown(node, now):
                try:
                    node = await self.client.update_status(NODES, node)
                except (NotFound, Conflict):
                    return
                if was_ready:
                    self.recorder.event(node, "Normal", "NodeNotReady",
                                        f"Node {key} status is now: NodeNotReady")
                    await self._mark_pods_not_ready(key)
        taints = desired_taints(node, now)
        if taints != ((node.get("spec") or {}).get("taints") or []):
            node.setdefault("spec", {})["taints"] = taints
            if not taints:
                node["spec"].pop("taints")
            try:
                node = await self.client.update(NODES, node)
            except (NotFound, Conflict):
                self.enqueue_rate_limited(key)
                return
        await self._taint_manager(node, now)
        self.enqueue_after(key, MONITOR_PERIOD)

    def _mark_unknown(self, node: Obj, now: datetime) -> bool:
        status = node.setdefault("status", {})
        conds = status.setdefault("conditions", [])
        stamp = format_time(now)
        changed = False
        for ctype in WATCHED_CONDITIONS:
            cond = next((c for c in conds if c.get("type") == ctype), None)
            if cond is None:
                conds.append({"type": ctype, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                              "message": "Kubelet never posted node status.",
                              "lastHeartbeatTime": meta_of(node).get("creationTimestamp"),
                              "lastTransitionTime": stamp})
                changed = True
            elif cond.get("status") != "Unknown":
                cond.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.",
                            lastTransitionTime=stamp)
                changed = True
        return changed

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.indexer.by_index(NODE_NAME_INDEX, node_name):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            new = copy.deepcopy(pod)
            changed = False
            for cond in (new.get("status") or {}).get("conditions") or []:
                if cond.get("type") == "Ready" and cond.get("status") != "False":
                    cond["status"] = "False"
                    cond["lastTransitionTime"] = format_time(self.now())
                    changed = True
            if not changed:
                continue
            try:
                await self.client.update_status(PODS, new)
            except (NotFound, Conflict):
                continue
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def _taint_manager(self, node: Obj, now: datetime) -> None:
        taints = [t for t in (node.get("spec") or {}).get("taints") or []
                  if t.get("effect") == "NoExecute"]
        if not taints:
            return
        soonest: float | None = None
        for pod in self.pods.indexer.by_index(NODE_NAME_INDEX, str(meta_of(node).get("name"))):
            if meta_of(pod).get("deletionTimestamp"):
                continue
            when = eviction_time(pod, taints, now)
            if when is None:
                continue
            left = (when - now).total_seconds()
            if left > 0:
                soonest = left if soonest is None else min(soonest, left)
                continue
            await self._evict(pod, now)
        if soonest is not None:
            self.enqueue_after(str(meta_of(node).get("name")), soonest)

    async def _evict(self, pod: Obj, now: datetime) -> None:
        meta = meta_of(pod)
        self.recorder.event(pod, "Normal", "TaintManagerEviction",
                            f"Marking for deletion Pod {meta.get('namespace')}/{meta.get('name')}")
        cond = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint",
                "lastTransitionTime": format_time(now)}
        try:
            await self.client.patch(PODS, str(meta.get("name")),
                                    {"status": {"conditions": [cond]}}, patch_type="strategic",
                                    subresource="status", namespace=meta.get("namespace"))
            await self.client.delete(PODS, str(meta.get("name")), namespace=meta.get("namespace"),
                                     uid=str(meta.get("uid")))
        except (NotFound, Conflict):
            return
        except ApiError as exc:
            log.warning("taint manager: evicting %s failed: %s", meta.get("name"), exc)
