"""The node-ipam controller: gives each Node a ``spec.podCIDR`` out of ``--cluster-cidr``.

As kube-controller-manager's range allocator (``--allocate-node-cidrs`` with
``--node-cidr-mask-size`` 24, as K3s runs it):

- before the first allocation, every CIDR a Node already has is marked used, so a restart
  never hands out a range twice;
- a Node without ``podCIDR`` gets the next free ``/24`` via a patch of ``spec.podCIDR`` and
  ``spec.podCIDRs`` (immutable once set); when none is left the Node gets a
  ``CIDRNotAvailable`` event and is retried with backoff;
- a deleted Node's range is released;
- a Node with a CIDR outside the cluster CIDR is left alone (and logged).

Handlers only enqueue Node names; ``sync`` decides from the informer cache. In-flight
allocations are remembered in ``_pending`` so a Node seen again before the patch lands in
the cache keeps the range it was given.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ..agent.node.podcidr import CidrExhausted, CidrSet
from ..client import (
    Client,
    ClientError,
    DeletedFinalStateUnknown,
    EventRecorder,
    NotFound,
    RateLimitingQueue,
    SharedInformerFactory,
    object_key,
    run_workers,
)
from ..client.resource import NODES

__all__ = ["NAME", "NodeIpamController", "run_nodeipam"]

log = logging.getLogger("k3trio.controllers.nodeipam")

NAME = "node-ipam-controller"

Obj = dict[str, Any]


def _pod_cidr(node: Obj) -> str:
    return str((node.get("spec") or {}).get("podCIDR") or "")


class NodeIpamController:
    """Assigns pod CIDRs to Nodes. ``await nursery.start(controller.run)``.

    Args:
        client: the controller's client (needs ``patch nodes``).
        factory: the shared informer factory (its Node informer is used).
        cluster_cidr: the cluster's pod network, e.g. ``10.42.0.0/16``.
        node_cidr_mask_size: the size of each Node's range (24).
        recorder: where ``CIDRNotAvailable``/``CIDRAssignmentFailed`` events go.

    Raises:
        ValueError: an invalid CIDR or mask size.
    """

    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        cluster_cidr: str,
        *,
        node_cidr_mask_size: int = 24,
        recorder: EventRecorder | None = None,
        workers: int = 4,
    ) -> None:
        self.client = client
        self.cidrs = CidrSet(cluster_cidr, node_cidr_mask_size)
        self.recorder = recorder
        self.workers = workers
        self.informer = factory.informer(NODES)
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(NAME)
        self._pending: dict[str, str] = {}  # node name -> CIDR patched but not yet seen
        self._owned: dict[str, str] = {}    # node name -> CIDR it holds

    def _enqueue(self, node: Obj) -> None:
        self.queue.add(object_key(node))

    def _on_update(self, old: Obj, new: Obj) -> None:
        if not _pod_cidr(new) or _pod_cidr(old) != _pod_cidr(new):
            self._enqueue(new)

    def _on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.queue.add(obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj))

    def occupy_existing(self) -> None:
        """Mark every range the cached Nodes hold as used (before any allocation)."""
        for node in self.informer.indexer.list():
            self._occupy(object_key(node), _pod_cidr(node))

    def _occupy(self, name: str, cidr: str) -> None:
        if not cidr or self._owned.get(name) == cidr:
            return
        if self.cidrs.occupy(cidr):
            self._owned[name] = cidr
        else:
            log.warning("Node %s has CIDR %s, unable to occupy it in the cluster CIDR %s",
                        name, cidr, self.cidrs.network)

    async def sync(self, name: str) -> None:
        """Bring one Node's allocation in line with the cache.

        Raises:
            k3trio.client.ClientError: the patch failed (the queue retries with backoff).
        """
        node = self.informer.indexer.get(name)
        if node is None:
            cidr = self._owned.pop(name, None) or self._pending.pop(name, None)
            if cidr:
                self.cidrs.release(cidr)
                log.info("Released CIDR %s of deleted node %s", cidr, name)
            return
        have = _pod_cidr(node)
        if have:
            pending = self._pending.pop(name, None)
            if pending and pending != have:
                self.cidrs.release(pending)
            self._occupy(name, have)
            return
        cidr = self._pending.get(name)
        if cidr is None:
            try:
                cidr = self.cidrs.allocate()
            except CidrExhausted:
                self._event(node, "CIDRNotAvailable", f"Node {name} status is now: CIDRNotAvailable")
                raise
            self._pending[name] = cidr
        try:
            await self.client.patch(NODES, name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}},
                                    patch_type="strategic", field_manager=NAME)
        except NotFound:
            self._pending.pop(name, None)
            self.cidrs.release(cidr)
            return
        except ClientError as exc:
            self._event(node, "CIDRAssignmentFailed",
                        f"Node {name} status is now: CIDRAssignmentFailed")
            log.warning("Failed to update node %s PodCIDR to %s: %s", name, cidr, exc)
            raise
        log.info("Set node %s PodCIDR to [%s]", name, cidr)

    def _event(self, node: Obj, reason: str, message: str) -> None:
        if self.recorder is not None:
            name = object_key(node)
            self.recorder.event({"kind": "Node", "name": name, "uid": name}, "Normal", reason,
                                message)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Wait for the Node cache, occupy existing ranges, then allocate until cancelled."""
        self.informer.add_event_handler(self._enqueue, self._on_update, self._on_delete)
        await self.informer.wait_for_sync()
        self.occupy_existing()
        await run_workers(self.queue, self.workers, self.sync, task_status=task_status)


async def run_nodeipam(
    client: Client,
    *,
    cluster_cidr: str,
    node_cidr_mask_size: int = 24,
    task_status: trio.TaskStatus[NodeIpamController] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the controller with its own informer factory (for use outside a manager)."""
    factory = SharedInformerFactory(client)
    controller = NodeIpamController(client, factory, cluster_cidr,
                                    node_cidr_mask_size=node_cidr_mask_size)
    async with trio.open_nursery() as nursery:
        await nursery.start(factory.run)
        await nursery.start(controller.run)
        task_status.started(controller)
