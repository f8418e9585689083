"""The controller-manager: every registered controller as one Trio task, while leader.

    controller-manager
    └── run_when_leader(Lease kube-system/kube-controller-manager)
        └── nursery
            ├── SharedInformerFactory.run     one cache per resource, shared by all controllers
            ├── <controller>.run              recorder + workers (one task per controller)
            └── ...

Only the holder of the ``kube-controller-manager`` Lease runs controllers (identity
``<hostname>_<uuid>`` as upstream). Losing the lease cancels every controller and the
informers at once; a new term starts from fresh caches.

Registration: ``CONTROLLERS`` is the list of ``ControllerSpec`` the manager runs. A spec names
its factory either directly (a callable taking a ``ControllerContext``) or as an import path
``"k3trio.controllers.module:ClassName"`` resolved only when the manager starts, so modules are
imported only when their controller is enabled. Add a controller by appending one spec line.

Selection: ``disabled`` names controllers not to run (``--disable replicaset``); a spec with
``enabled_by_default=False`` runs only when named in ``enabled``.

A controller whose ``run`` crashes takes the manager down with it (as a panic in upstream's
process would), and the supervisor restarts the whole component with backoff; a failing
``sync`` is not a crash — it is retried by the work queue.
"""

from __future__ import annotations

import importlib
import logging
import socket
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs
import trio

from ..client import (
    ApiLeaseLock,
    Client,
    LeaderElectionConfig,
    SharedInformerFactory,
    drop_managed_fields,
    run_when_leader,
)
from .base import Controller, ControllerContext
from .credentials import ServiceAccountTokens

__all__ = [
    "CONTROLLERS",
    "LEASE_NAME",
    "LEASE_NAMESPACE",
    "ControllerSpec",
    "build_controllers",
    "run_controller_manager",
    "run_controllers",
]

log = logging.getLogger("k3trio.controllers.manager")

LEASE_NAME = "kube-controller-manager"
LEASE_NAMESPACE = "kube-system"

Factory = Callable[[ControllerContext], Controller]


@attrs.frozen
class ControllerSpec:
    """One controller the manager can run.

    Attributes:
        name: as in ``kube-controller-manager --controllers`` (``deployment``, ``job``...).
        factory: a callable ``(ControllerContext) -> Controller`` or ``"module:Class"``.
        enabled_by_default: run unless disabled (False: only when explicitly enabled).
    """

    name: str
    factory: Factory | str
    enabled_by_default: bool = True
    #: the kube-system service account the controller acts as (default ``<name>-controller``,
    #: bound by the bootstrap policy to ``system:controller:<account>``).
    service_account: str = ""

    @property
    def account(self) -> str:
        return self.service_account or f"{self.name}-controller"

    def load(self) -> Factory:
        """The factory callable (imports its module when given as a path)."""
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attr = self.factory.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj  # type: ignore[no-any-return]


_P = "k3trio.controllers."

#: Every controller the manager knows, in start order.
CONTROLLERS: list[ControllerSpec] = [
    ControllerSpec("replicaset", _P + "replicaset:ReplicaSetController"),
    ControllerSpec("replicationcontroller", _P + "replicaset:ReplicationControllerController",
                   service_account="replication-controller"),
    ControllerSpec("deployment", _P + "deployment:DeploymentController"),
    ControllerSpec("statefulset", _P + "statefulset:StatefulSetController"),
    ControllerSpec("daemonset", _P + "daemonset:DaemonSetController",
                   service_account="daemon-set-controller"),
    ControllerSpec("node-ipam-controller", _P + "nodeipam:NodeIpamController",
                   service_account="node-controller"),
    ControllerSpec("job", _P + "job:JobController"),
    ControllerSpec("cronjob", _P + "cronjob:CronJobController"),
    ControllerSpec("endpoint", _P + "endpoints:EndpointsController"),
    ControllerSpec("endpointslice", _P + "endpointslice:EndpointSliceController"),
    ControllerSpec("servicelb", _P + "servicelb:ServiceLBController",
                   service_account="service-controller"),
    ControllerSpec("namespace", _P + "namespace:NamespaceController"),
    ControllerSpec("garbagecollector", _P + "garbagecollector:GarbageCollector",
                   service_account="generic-garbage-collector"),
    ControllerSpec("serviceaccount", _P + "serviceaccount:ServiceAccountsController",
                   service_account="service-account-controller"),
    ControllerSpec("root-ca-cert-publisher", _P + "rootcacert:RootCACertPublisher",
                   service_account="root-ca-cert-publisher"),
    ControllerSpec("nodelifecycle", _P + "nodelifecycle:NodeLifecycleController",
                   service_account="node-controller"),
    ControllerSpec("podgc", _P + "podgc:PodGCController",
                   service_account="pod-garbage-collector"),
    ControllerSpec("ttl-after-finished", _P + "ttlafterfinished:TTLAfterFinishedController"),
    ControllerSpec("resourcequota", _P + "resourcequota:ResourceQuotaController"),
    ControllerSpec("disruption", _P + "disruption:DisruptionController"),
    ControllerSpec("persistentvolume-binder", _P + "pvbinder:PersistentVolumeBinder",
                   service_account="persistent-volume-binder"),
    ControllerSpec("horizontalpodautoscaling", _P + "hpa:HPAController",
                   service_account="horizontal-pod-autoscaler"),
]


def selected(
    specs: Collection[ControllerSpec],
    *,
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
) -> list[ControllerSpec]:
    """The specs to run: enabled by default or named in ``enabled``, and not ``disabled``."""
    return [
        s for s in specs
        if (s.enabled_by_default or s.name in enabled) and s.name not in disabled
    ]


def build_controllers(
    ctx: ControllerContext,
    *,
    specs: Collection[ControllerSpec] | None = None,
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
) -> list[Controller]:
    """Construct the selected controllers (they request their informers from ``ctx``).

    A spec whose module cannot be imported is logged and skipped, so one missing optional
    controller does not stop the others.
    """
    out: list[Controller] = []
    for spec in selected(CONTROLLERS if specs is None else specs, disabled=disabled,
                         enabled=enabled):
        try:
            factory = spec.load()
        except (ImportError, AttributeError):
            log.exception("controller %s: cannot load %s; skipping", spec.name, spec.factory)
            continue
        out.append(factory(ctx))
    return out


async def run_controllers(
    client: Client,
    *,
    specs: Collection[ControllerSpec] | None = None,
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
    workers: Mapping[str, int] | None = None,
    host: str = "",
    service_account_credentials: bool = False,
    task_status: trio.TaskStatus[list[Controller]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the selected controllers over one shared informer factory until cancelled.

    The informers read with ``client``; with ``service_account_credentials`` each controller
    writes as its own ``kube-system`` service account (upstream
    ``--use-service-account-credentials``, as K3s runs it). Reports the controllers as
    ``started`` once every one of them has synced its caches.
    """
    # Controllers never read managedFields: trimming them keeps every cached object smaller.
    factory = SharedInformerFactory(client, transform=drop_managed_fields)
    ctx = ControllerContext(client, factory, recorder_host=host, workers=dict(workers or {}))
    chosen = selected(CONTROLLERS if specs is None else specs, disabled=disabled, enabled=enabled)
    async with trio.open_nursery() as nursery:
        if service_account_credentials:
            tokens = ServiceAccountTokens(client)
            ctx.clients = {s.name: await tokens.client_for(s.account) for s in chosen}
            nursery.start_soon(tokens.refresh_forever)
        controllers = build_controllers(ctx, specs=chosen)
        await nursery.start(factory.run)
        for controller in controllers:
            await nursery.start(controller.run)
        log.info("Started %d controllers: %s", len(controllers),
                 ", ".join(c.name for c in controllers))
        task_status.started(controllers)


async def run_controller_manager(
    client: Client,
    *,
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
    leader_elect: bool = True,
    identity: str | None = None,
    lease_config: LeaderElectionConfig | None = None,
    workers: Mapping[str, int] | None = None,
    service_account_credentials: bool = True,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The ``controllers`` component: run the controllers while holding the lease.

    Args:
        client: the client of the ``system:kube-controller-manager`` identity.
        disabled, enabled: controller selection by name (see ``selected``).
        leader_elect: compete for the Lease (False: run at once, e.g. tests).
        identity: the lease holder identity (default ``<hostname>_<uuid>``).
    """
    host = socket.gethostname()
    ident = identity or f"{host}_{uuid.uuid4()}"

    async def work() -> None:
        await run_controllers(client, disabled=disabled, enabled=enabled, workers=workers,
                              host=host, service_account_credentials=service_account_credentials)

    if not leader_elect:
        task_status.started()
        await work()
        return
    lock = ApiLeaseLock(client, LEASE_NAME, LEASE_NAMESPACE)
    await run_when_leader(
        lock, ident, work, config=lease_config,
        on_started_leading=lambda: log.info("%s: leading; starting controllers", ident),
        on_stopped_leading=lambda: log.info("%s: no longer leading", ident),
        on_new_leader=lambda who: log.info("new leader elected: %s", who),
        task_status=task_status,
    )
