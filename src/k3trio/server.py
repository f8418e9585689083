"""``k3trio server``: build the components and run them under one supervisor.

Start-up order (the supervisor derives it from ``requires``)::

    store ──> apiserver ──> kubeconfig (oneshot)
                        ├──> controllers, scheduler
                        └──> agent (unless --disable-agent): containerd, node, kubelet

PKI material is created (or loaded) before anything starts: it is needed to listen at all.
SIGTERM or SIGINT shuts the components down in reverse order within ``SHUTDOWN_GRACE``
seconds and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import socket
from functools import partial
from typing import Any

import trio

from .config import ServerConfig
from .logs import setup_logging
from .netutil import primary_ipv4
from .supervisor import Component, Context, Supervisor

log = logging.getLogger("k3trio.server")

SHUTDOWN_GRACE = 8.0


def run_server(cfg: ServerConfig) -> int:
    """Run the server until a signal stops it; returns the exit status."""
    setup_logging(cfg.debug)
    return trio.run(partial(serve, cfg))


async def serve(cfg: ServerConfig, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED) -> int:
    """The server's main task: PKI, then the supervisor, until SIGTERM/SIGINT."""
    from . import version
    from .pki import ServingNames, ensure_server_pki

    log.info("Starting k3trio %s", version.version_line())
    node_ip = cfg.node_ip or primary_ipv4()
    pki = await trio.to_thread.run_sync(
        partial(
            ensure_server_pki,
            cfg.data_dir,
            sans=ServingNames(
                hostname=socket.gethostname(),
                node_ips=(node_ip,),
                advertise_address=cfg.advertise_address,
                tls_sans=cfg.tls_san,
            ),
            cluster_domain=cfg.cluster_domain,
            service_ip=cfg.first_service_ip(),
            node_name=cfg.node_name,
            token=cfg.token,
        )
    )
    supervisor = Supervisor(build_components(cfg, pki))
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            nursery.start_soon(_freeze_startup_objects, supervisor)
            task_status.started(supervisor)
            async for signum in signals:
                log.info("Received %s, shutting down", signal.Signals(signum).name)
                break
            await supervisor.shutdown(grace=SHUTDOWN_GRACE)
            nursery.cancel_scope.cancel()
    log.info("k3trio server stopped")
    return 0


def build_components(cfg: ServerConfig, pki: Any) -> list[Component]:
    """The server's components, wired to each other by name."""

    async def store(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .store import open_backend

        async with open_backend(cfg.datastore_endpoint, cfg.data_dir) as backend:
            task_status.started(backend)
            await trio.sleep_forever()

    async def apiserver(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .apiserver.assemble import build_default_api
        from .apiserver.serve import serve_https

        api = build_default_api(ctx.get("store"), pki, cfg, partial(_health_checks, ctx.supervisor))
        async with trio.open_nursery() as nursery:
            await nursery.start(api.run)
            await serve_https(
                api.app,
                pki.server_ssl_context(),
                host=cfg.bind_address,
                port=cfg.https_listen_port,
                task_status=task_status,
            )

    async def kubeconfig(ctx: Context) -> str:
        port = ctx.get("apiserver")
        path = cfg.kubeconfig_path()
        await trio.to_thread.run_sync(
            partial(
                pki.write_kubeconfig,
                path,
                server_url=f"https://127.0.0.1:{port}",
                mode=cfg.kubeconfig_mode(),
            )
        )
        log.info("Wrote kubeconfig %s", path)
        return str(path)

    def component_client(ctx: Context, role: str, component: str) -> Any:
        """A client for an in-process component, as ``role``'s certificate identity."""
        from .client import Client, ClientConfig

        config = ClientConfig.from_pki(
            pki, role, f"https://127.0.0.1:{ctx.get('apiserver')}", component=component
        ).evolve(namespace="kube-system")
        return Client(config)

    async def controllers(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .controllers.manager import run_controller_manager

        async with component_client(ctx, "controller", "kube-controller-manager") as client:
            await run_controller_manager(client, disabled=cfg.disable, task_status=task_status)

    async def scheduler(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .scheduler.service import run_scheduler

        async with component_client(ctx, "scheduler", "kube-scheduler") as client:
            async with trio.open_nursery() as nursery:
                await nursery.start(run_scheduler, client)
                task_status.started()

    async def agent(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .agent.run import run_agent

        async with component_client(ctx, "kubelet", "kubelet") as client:
            await run_agent(client, cfg.agent(), cluster_dns=(cfg.cluster_dns,),
                            cluster_domain=cfg.cluster_domain,
                            should_stop=lambda: ctx.supervisor.shutting_down,
                            task_status=task_status)

    async def kube_proxy(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .agent.proxy.run import run_proxy

        async with component_client(ctx, "kube-proxy", "kube-proxy") as client:
            await run_proxy(client, cfg.node_name, cluster_cidr=cfg.cluster_cidr,
                            task_status=task_status)

    async def kube_proxy_cleanup(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .agent.proxy.run import cleanup

        await cleanup()

    components = [
        Component("store", store),
        Component("apiserver", apiserver, requires=("store",)),
        Component("kubeconfig", kubeconfig, requires=("apiserver",), oneshot=True),
    ]
    if "controllers" not in cfg.disable:
        components.append(Component("controllers", controllers, requires=("apiserver",)))
    if "scheduler" not in cfg.disable:
        components.append(Component("scheduler", scheduler, requires=("apiserver",)))
    if not cfg.disable_agent:
        components.append(Component("agent", agent, requires=("apiserver",)))
        if "kube-proxy" not in cfg.disable:
            components.append(Component("kube-proxy", kube_proxy, requires=("apiserver",)))
        else:
            components.append(Component("kube-proxy-cleanup", kube_proxy_cleanup, oneshot=True))
    return components


async def _freeze_startup_objects(supervisor: Supervisor) -> None:
    """Once the API is served, move what start-up built (schemas, registry, bootstrap policy)
    out of the garbage collector's view (``gc.freeze``): those objects live as long as the
    process, and every full collection would otherwise walk them again (tens of ms each)."""
    import gc

    while not all(h.ready for h in supervisor.health() if h.name in API_COMPONENTS):
        await trio.sleep(0.2)
    await trio.sleep(1.0)  # let the controllers' first lists land
    gc.collect()
    gc.freeze()
    log.debug("Froze %d start-up objects", gc.get_freeze_count())


#: Components whose readiness is the API server's readiness (``/readyz``), as upstream:
#: kube-apiserver's readyz does not wait for the scheduler, controllers or kubelet.
API_COMPONENTS = ("store", "apiserver", "kubeconfig")


def _health_checks(supervisor: Supervisor, endpoint: str) -> list[tuple[str, str | None]]:
    """Checks for ``/healthz``, ``/livez`` and ``/readyz`` from the supervisor's view.

    ``/readyz`` checks that the API is served (store, API server, kubeconfig written);
    ``/livez`` and ``/healthz`` list every component and fail while one crash-loops.
    """
    checks: list[tuple[str, str | None]] = [("ping", None), ("log", None)]
    for h in supervisor.health():
        if endpoint == "readyz":
            if h.name not in API_COMPONENTS:
                continue
            failure = None if h.ready else (h.last_error or h.state.value)
        else:
            failure = h.last_error if h.crash_looping else None
        checks.append((h.name, failure))
    if endpoint == "readyz":
        checks.append(("shutdown", "shutting down" if supervisor.shutting_down else None))
    return checks
