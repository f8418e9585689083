"""Many hollow nodes in one process, sharing one client and one pair of informers.

    HollowCluster(client, configs).run()
    ├── register every Node (at most ``REGISTER_CONCURRENCY`` at a time)
    ├── per node: Lease renewal and status heartbeat (``HollowNode.run``), an event recorder
    ├── informers: all Nodes (podCIDR assignments), all Pods indexed by ``spec.nodeName``
    └── ``workers`` tasks over one de-duplicating work queue of pod keys

A kubelet watches its own pods with a ``spec.nodeName`` field selector; a hundred of those
would be a hundred watches, so the hollow nodes share one watch of all pods and file them by
node. Handlers only enqueue keys of pods bound to a hollow node (and keys of deleted pods so
their IPs are freed); ``sync`` hands the key to the node that owns the pod. The queue never
gives one key to two workers at once, so a pod's steps are serial.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import trio

from ..agent.node import NodeConfig
from ..client import (
    NODE_NAME_INDEX,
    Client,
    ClientError,
    DeletedFinalStateUnknown,
    EventRecorder,
    RateLimitingQueue,
    SharedInformerFactory,
    index_by_node_name,
    object_key,
    run_workers,
)
from ..client.resource import NODES, PODS
from .node import HollowNode

__all__ = ["HollowCluster"]

log = logging.getLogger("k3trio.hollow")

Obj = dict[str, Any]

REGISTER_CONCURRENCY = 16


class HollowCluster:
    """Runs hollow nodes until cancelled. ``await nursery.start(cluster.run)``.

    Args:
        client: the client every node uses.
        configs: one ``NodeConfig`` per node (unique names).
        workers: concurrent pod syncs.
        events: record node events (``Starting``, ``NodeReady``...).
    """

    def __init__(
        self,
        client: Client,
        configs: Sequence[NodeConfig],
        *,
        workers: int = 32,
        events: bool = True,
        status_update_period: float = 10.0,
        lease_duration: int = 40,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ValueError("hollow node names must be unique")
        self.client = client
        self.workers = workers
        self.recorders: dict[str, EventRecorder] = {}
        self.nodes: dict[str, HollowNode] = {}
        for cfg in configs:
            recorder = EventRecorder(client, "kubelet", cfg.name) if events else None
            if recorder is not None:
                self.recorders[cfg.name] = recorder
            self.nodes[cfg.name] = HollowNode(client, cfg, recorder=recorder,
                                              wall_clock=wall_clock,
                                              status_update_period=status_update_period,
                                              lease_duration=lease_duration)
        self.queue: RateLimitingQueue[str] = RateLimitingQueue("hollow-pods")
        self.factory = SharedInformerFactory(client)
        self.pods = self.factory.informer(PODS, indexers={NODE_NAME_INDEX: index_by_node_name})
        self.node_informer = self.factory.informer(NODES)
        self._owner: dict[str, str] = {}  # pod key -> hollow node that has a record of it
        self.registered = trio.Event()

    # -- informer handlers (enqueue only) ---------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        key = object_key(pod)
        if node in self.nodes or key in self._owner:
            self.queue.add(key)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        self._on_pod(new)

    def _on_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)
        if key in self._owner:
            self.queue.add(key)

    def _on_node(self, node: Obj) -> None:
        name = (node.get("metadata") or {}).get("name")
        hollow = self.nodes.get(str(name))
        if hollow is not None and hollow.observe_node(node):
            for pod in self.pods.indexer.by_index(NODE_NAME_INDEX, hollow.name):
                self.queue.add(object_key(pod))

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        self._on_node(new)

    # -- work -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Hand one pod key to the node that owns the pod (or that had it)."""
        pod = self.pods.indexer.get(key)
        name = (pod.get("spec") or {}).get("nodeName") if pod else None
        previous = self._owner.get(key)
        if previous is not None and previous != name:
            self.nodes[previous].forget(key)
            del self._owner[key]
        node = self.nodes.get(str(name)) if name else None
        if node is None:
            return
        delay = await node.sync_pod(key, pod)
        if key in node.records:
            self._owner[key] = node.name
        else:
            self._owner.pop(key, None)
        if delay is not None:
            self.queue.add_after(key, delay)

    async def _register(self, node: HollowNode, limiter: trio.CapacityLimiter) -> None:
        delay = 0.5
        async with limiter:
            while True:
                try:
                    await node.register()
                    return
                except ClientError as exc:
                    log.warning("Unable to register node %s with API server: %s", node.name,
                                exc)
                await trio.sleep(delay)
                delay = min(delay * 2, 7.0)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Register all nodes, start informers and workers; started once pods are served."""
        async with trio.open_nursery() as nursery:
            for recorder in self.recorders.values():
                await nursery.start(recorder.run)
            limiter = trio.CapacityLimiter(REGISTER_CONCURRENCY)
            async with trio.open_nursery() as registering:
                for node in self.nodes.values():
                    registering.start_soon(self._register, node, limiter)
            self.registered.set()
            log.info("Registered %d hollow nodes", len(self.nodes))
            for node in self.nodes.values():
                nursery.start_soon(node.run)
            self.node_informer.add_event_handler(self._on_node, self._on_node_update)
            self.pods.add_event_handler(self._on_pod, self._on_pod_update, self._on_pod_delete)
            await nursery.start(self.factory.run)
            await self.factory.wait_for_cache_sync()
            await nursery.start(run_workers, self.queue, self.workers, self.sync)
            task_status.started()
