"""The ``kube-proxy`` component: keep the service rules current from informers.

Any change to a Service or EndpointSlice (or this node) asks for a sync; syncs are batched
(``batch_delay`` after the first change) and no closer together than ``min_sync_period``, as
kube-proxy's ``minSyncPeriod``; a full resync also runs every ``resync_period``. Each sync
rebuilds the whole payload and applies it only when it changed. When the component stops,
every rule and chain it added is removed.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ...client import Client, SharedInformerFactory
from ...client.resource import SERVICES, Resource
from .iptables import Applier, remove_all
from .rules import NodeInfo

__all__ = ["cleanup", "run_proxy"]

log = logging.getLogger("k3trio.agent.proxy")

ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)


async def cleanup() -> None:
    """Remove the service proxy's leftovers (``--disable kube-proxy``, uninstall)."""
    await remove_all()


async def run_proxy(
    client: Client,
    node_name: str,
    *,
    cluster_cidr: str = "10.42.0.0/16",
    batch_delay: float = 0.1,
    min_sync_period: float = 1.0,
    resync_period: float = 60.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the service proxy of ``node_name`` until cancelled, then remove its rules."""
    factory = SharedInformerFactory(client)
    services = factory.informer(SERVICES)
    slices = factory.informer(ENDPOINTSLICES)
    node = NodeInfo(node_name, cluster_cidr)
    wake = trio.Event()

    def changed(*_: Any) -> None:
        wake.set()

    for inf in (services, slices):
        inf.add_event_handler(changed, lambda o, n: changed(), changed)
    applier = Applier()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(factory.run)
            await factory.wait_for_cache_sync()
            await applier.start()
            await _sync(applier, services, slices, node)
            log.info("Service proxy of %s running", node_name)
            task_status.started()
            while True:
                with trio.move_on_after(resync_period):
                    await wake.wait()
                await trio.sleep(batch_delay)
                wake = trio.Event()
                try:
                    await _sync(applier, services, slices, node)
                except Exception:  # noqa: BLE001 - retried at the next change or resync
                    log.exception("Service proxy sync failed")
                    wake.set()
                await trio.sleep(max(0.0, min_sync_period - batch_delay))
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(20):
            await remove_all()


async def _sync(applier: Applier, services: Any, slices: Any, node: NodeInfo) -> None:
    start = trio.current_time()
    payload = applier.payload(services.lister.list(), slices.lister.list(), node)
    if await applier.sync(payload):
        log.debug("Service rules applied in %.0f ms (%d lines)",
                  (trio.current_time() - start) * 1000, payload.count("\n"))

