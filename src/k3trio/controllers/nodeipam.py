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
    NotFound,
    SharedInformerFactory,
    object_key,
)
from ..client.resource import NODES
from .base import Controller, ControllerContext

__all__ = ["NAME", "NodeIpamController", "run_nodeipam"]

log = logging.getLogger("k3trio.controllers.nodeipam")

NAME = "node-ipam-controller"
DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
DEFAULT_NODE_CIDR_MASK_SIZE = 24

Obj = dict[str, Any]


def _pod_cidr(node: Obj) -> str:
    return str((node.get("spec") or {}).get("podCIDR") or "")


class NodeIpamController(Controller):
    """Assigns pod CIDRs to Nodes.

    The cluster CIDR and mask come from ``ctx.cluster_cidr``/``ctx.node_cidr_mask_size``
    when the context carries them, else from the K3s defaults (``10.42.0.0/16``, 24).

    Raises:
        ValueError: an invalid CIDR or mask size.
    """

    name = NAME
    workers = 4

    def __init__(self, ctx: ControllerContext, *, cluster_cidr: str | None = None,
                 node_cidr_mask_size: int | None = None) -> None:
        super().__init__(ctx)
        self.recorder = ctx.recorder("cidrAllocator")
        cluster_cidr = str(cluster_cidr or getattr(ctx, "cluster_cidr", "")
                           or DEFAULT_CLUSTER_CIDR)
        mask = int(node_cidr_mask_size or getattr(ctx, "node_cidr_mask_size", 0)
                   or DEFAULT_NODE_CIDR_MASK_SIZE)
        self.cidrs = CidrSet(cluster_cidr, mask)
        self.nodes = self.informer(NODES, on_add=self._enqueue, on_update=self._on_update,
                                   on_delete=self._on_delete)
        self._pending: dict[str, str] = {}  # node name -> CIDR patched but not yet seen
        self._owned: dict[str, str] = {}    # node name -> CIDR it holds
        self._occupied = False

    def _enqueue(self, node: Obj) -> None:
        self.queue.add(object_key(node))

    def _on_update(self, old: Obj, new: Obj) -> None:
        if not _pod_cidr(new) or _pod_cidr(old) != _pod_cidr(new):
            self._enqueue(new)

    def _on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.enqueue(obj)

    def occupy_existing(self) -> None:
        """Mark every range the cached Nodes hold as used (before any allocation)."""
        self._occupied = True
        for node in self.nodes.indexer.list():
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
        if not self._occupied:
            self.occupy_existing()
        node = self.nodes.indexer.get(name)
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
        name = object_key(node)
        self.recorder.event({"kind": "Node", "name": name, "uid": name}, "Normal", reason,
                            message)



async def run_nodeipam(
    client: Client,
    *,
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
    node_cidr_mask_size: int = DEFAULT_NODE_CIDR_MASK_SIZE,
    task_status: trio.TaskStatus[NodeIpamController] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the controller on its own, outside the controller-manager (tests, tools)."""
    factory = SharedInformerFactory(client)
    controller = NodeIpamController(ControllerContext(client, factory),
                                    cluster_cidr=cluster_cidr,
                                    node_cidr_mask_size=node_cidr_mask_size)
    async with trio.open_nursery() as nursery:
        await nursery.start(factory.run)
        await nursery.start(controller.run)
        task_status.started(controller)
