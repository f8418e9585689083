"""The node Lease: the kubelet's heartbeat in ``kube-node-lease``.

``build_lease``/``renewed`` are pure. ``NodeLease.run`` keeps the Lease renewed every
``renew_interval`` (a quarter of the 40 s duration, i.e. 10 s, as upstream). The Lease is
named after the node, held by it, owned by the Node object (so it is garbage-collected with
it) and ``renewTime`` is a MicroTime.

Failure handling as upstream's lease controller: when the Lease cannot be read or created,
retry with a backoff doubling from 200 ms to 7 s; a failed renewal is retried up to 5 times
at once (a Conflict re-reads the Lease first), then waits for the next interval. A node whose
renewals stop (process killed, network cut) is detected by the node lifecycle controller
from the stale ``renewTime``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import trio

from ...api.meta import format_micro_time
from ...client import AlreadyExists, ApiError, Client, ClientError, Conflict, NotFound
from ...client.resource import LEASES

__all__ = [
    "LEASE_DURATION_SECONDS",
    "NODE_LEASE_NAMESPACE",
    "NodeLease",
    "build_lease",
    "renewed",
]

log = logging.getLogger("k3trio.agent.node.lease")

Obj = dict[str, Any]

NODE_LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
UPDATE_RETRIES = 5
BACKOFF_START = 0.2
BACKOFF_CAP = 7.0


def _owner(node_name: str, node_uid: str | None) -> list[Obj]:
    if not node_uid:
        return []
    return [{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}]


def build_lease(node_name: str, node_uid: str | None, now: datetime,
                duration: int = LEASE_DURATION_SECONDS) -> Obj:
    """A new node Lease renewed at ``now``."""
    meta: Obj = {"name": node_name, "namespace": NODE_LEASE_NAMESPACE}
    owners = _owner(node_name, node_uid)
    if owners:
        meta["ownerReferences"] = owners
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": node_name,
            "leaseDurationSeconds": duration,
            "renewTime": format_micro_time(now),
        },
    }


def renewed(lease: Mapping[str, Any], node_name: str, node_uid: str | None, now: datetime,
            duration: int = LEASE_DURATION_SECONDS) -> Obj:
    """``lease`` renewed at ``now`` by this node (owner reference added when missing)."""
    out = copy.deepcopy(dict(lease))
    spec = out.setdefault("spec", {})
    spec["holderIdentity"] = node_name
    spec["leaseDurationSeconds"] = duration
    spec["renewTime"] = format_micro_time(now)
    meta = out.setdefault("metadata", {})
    if node_uid and not any(o.get("uid") == node_uid for o in meta.get("ownerReferences") or []):
        meta["ownerReferences"] = _owner(node_name, node_uid)
    return out


class NodeLease:
    """Renews one node's Lease. ``await nursery.start(lease.run)``.

    Args:
        client: the kubelet's client.
        node_name: the Lease's name and holder.
        node_uid: a callable returning the Node's UID once known (for the owner reference).
        duration: ``leaseDurationSeconds``; renewals happen every quarter of it.
    """

    def __init__(
        self,
        client: Client,
        node_name: str,
        *,
        node_uid: Callable[[], str | None] = lambda: None,
        duration: int = LEASE_DURATION_SECONDS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.node_uid = node_uid
        self.duration = duration
        self.renew_interval = duration / 4
        self._wall = wall_clock
        self.lease: Obj | None = None
        self.renewals = 0

    async def ensure(self) -> Obj:
        """Get the Lease, creating it when missing.

        Raises:
            k3trio.client.ApiError, ConnectionFailed: it could not be read or created.
        """
        try:
            self.lease = await self.client.get(LEASES, self.node_name,
                                               namespace=NODE_LEASE_NAMESPACE)
        except NotFound:
            lease = build_lease(self.node_name, self.node_uid(), self._wall(), self.duration)
            try:
                self.lease = await self.client.create(LEASES, lease,
                                                      namespace=NODE_LEASE_NAMESPACE)
                self.renewals += 1
            except AlreadyExists:
                self.lease = await self.client.get(LEASES, self.node_name,
                                                   namespace=NODE_LEASE_NAMESPACE)
        return self.lease

    async def renew(self) -> Obj:
        """Renew once, retrying up to 5 times; Conflict re-reads the Lease.

        Raises:
            k3trio.client.ClientError: the last attempt failed.
        """
        error: ClientError | None = None
        for _ in range(UPDATE_RETRIES):
            try:
                if self.lease is None:
                    await self.ensure()
                assert self.lease is not None
                lease = renewed(self.lease, self.node_name, self.node_uid(), self._wall(),
                                self.duration)
                self.lease = await self.client.update(LEASES, lease,
                                                      namespace=NODE_LEASE_NAMESPACE)
                self.renewals += 1
                return self.lease
            except Conflict as exc:
                error = exc
                self.lease = None
            except NotFound as exc:
                error = exc
                self.lease = None
            except (ApiError, ClientError) as exc:
                error = exc
        assert error is not None
        raise error

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Create or adopt the Lease, then renew it until cancelled."""
        delay = BACKOFF_START
        while True:
            try:
                await self.ensure()
                break
            except (ApiError, ClientError) as exc:
                log.warning("failed to ensure node lease exists for %s, will retry in %.1fs: %s",
                            self.node_name, delay, exc)
                await trio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
        task_status.started()
        assert self.lease is not None
        first = self.lease.get("spec", {}).get("holderIdentity") == self.node_name and self.renewals
        if not first:
            await self._renew_logged()
        while True:
            await trio.sleep(self.renew_interval)
            await self._renew_logged()

    async def _renew_logged(self) -> None:
        try:
            await self.renew()
        except (ApiError, ClientError) as exc:
            log.warning("failed to update lease of %s: %s", self.node_name, exc)
