"""``k3trio agent``: join a node to a cluster and run its node agent.

    k3trio agent --server https://HOST:6443 --token K10...
    ├── join            verify the server's CA against the token's hash, obtain this node's
    │                   client and serving certificates (``agent.join``); reused on restart
    └── Supervisor
        └── agent       containerd, images, node registration, pod network, kubelet
                        (``agent.run``), as the node's own identity system:node:<name>

The join runs before the supervisor: without credentials there is nothing to supervise. While
the server cannot be reached the join keeps trying for ``JOIN_WAIT`` seconds, then the
process exits 1 with one line on stderr (as for a malformed token, a CA that does not match
the token's hash, or a server that refuses the node). SIGTERM or SIGINT stops the components
within ``SHUTDOWN_GRACE`` seconds and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
from functools import partial
from typing import Any

import trio

from .config import AgentConfig, ConfigError
from .logs import setup_logging
from .supervisor import Component, Context, Supervisor

log = logging.getLogger("k3trio.agent")

SHUTDOWN_GRACE = 8.0
#: Seconds the join keeps retrying while the server cannot be reached.
JOIN_WAIT = 30.0


def check_agent_config(cfg: AgentConfig) -> None:
    """Raises ConfigError for a missing or malformed --server or --token."""
    from .agent.join import JoinError, check_server_url
    from .pki import TokenError, parse_token

    if not cfg.server:
        raise ConfigError("agent needs --server https://HOST:6443 (or K3TRIO_URL)")
    if not cfg.token:
        raise ConfigError("agent needs --token (or K3TRIO_TOKEN)")
    try:
        check_server_url(cfg.server)
    except JoinError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        parse_token(cfg.token)
    except TokenError as exc:
        raise ConfigError(f"invalid --token: {exc}") from exc


def run_agent(cfg: AgentConfig) -> int:
    """Run the agent until a signal stops it; returns the exit status.

    Raises:
        ConfigError: --server or --token missing or malformed.
    """
    from .agent.join import JoinError

    check_agent_config(cfg)
    setup_logging(cfg.debug)
    try:
        return trio.run(partial(serve_agent, cfg))
    except JoinError as exc:
        print(f"k3trio: {exc}", file=sys.stderr)
        return 1


async def serve_agent(cfg: AgentConfig, *, join_wait: float = JOIN_WAIT,
                      task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED) -> int:
    """The agent's main task: join, then the supervisor, until SIGTERM/SIGINT.

    Raises:
        k3trio.agent.join.JoinError: the node could not join.
    """
    from . import version
    from .agent.join import JoinError, join_cluster
    from .netutil import primary_ipv4

    assert cfg.server and cfg.token
    log.info("Starting k3trio agent %s", version.version_line())
    node_ip = cfg.node_ip or primary_ipv4()
    joined = None
    failure: JoinError | None = None
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        with trio.CancelScope() as join_scope:
            async with trio.open_nursery() as nursery:
                # A signal during the join (which may be waiting for the server) ends it.
                nursery.start_soon(_cancel_on_signal, signals, join_scope)
                try:
                    joined = await join_cluster(cfg.server, cfg.token, node_name=cfg.node_name,
                                                data_dir=cfg.data_dir, node_ips=(node_ip,),
                                                wait=join_wait)
                except JoinError as exc:
                    failure = exc  # raised below, outside the nursery (not in a group)
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if joined is None:
            log.info("k3trio agent stopped")
            return 0
        log.info("Node %s joined %s", joined.node_name, joined.server)
        supervisor = Supervisor(build_components(cfg, joined))
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            task_status.started(supervisor)
            async for signum in signals:
                log.info("Received %s, shutting down", signal.Signals(signum).name)
                break
            await supervisor.shutdown(grace=SHUTDOWN_GRACE)
            nursery.cancel_scope.cancel()
    log.info("k3trio agent stopped")
    return 0


async def _cancel_on_signal(signals: Any, scope: trio.CancelScope) -> None:
    async for signum in signals:
        log.info("Received %s while joining, stopping", signal.Signals(signum).name)
        scope.cancel()
        return


def build_components(cfg: AgentConfig, joined: Any) -> list[Component]:
    """The agent's components (one today: the node agent) over the joined identity."""

    async def agent(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .agent.run import run_agent as run_node_agent
        from .client import Client

        config = joined.client_config("kubelet").evolve(namespace="kube-system", http2=False)
        async with Client(config) as client:
            await run_node_agent(client, cfg, cluster_dns=(joined.settings.cluster_dns,),
                                 cluster_domain=joined.settings.cluster_domain,
                                 should_stop=lambda: ctx.supervisor.shutting_down,
                                 task_status=task_status)

    async def kube_proxy(ctx: Context, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        from .agent.proxy.run import run_proxy
        from .client import Client

        config = joined.proxy_client_config().evolve(http2=False)
        async with Client(config) as client:
            await run_proxy(client, joined.node_name, cluster_cidr=joined.settings.cluster_cidr,
                            task_status=task_status)

    return [Component("agent", agent), Component("kube-proxy", kube_proxy)]
