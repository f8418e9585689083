"""The node agent: containerd, images, node registration, pod network, kubelet.

    run_agent
    ├── trio-asyncio loop (one per process; the CRI client runs in it)
    ├── containerd        our own supervised child (``agent.containerd``), or the runtime at
    │                     ``--container-runtime-endpoint``
    ├── images            the built-in pause image, then every tarball of
    │                     ``<data-dir>/agent/images`` imported into ``k8s.io``
    ├── CRI               wait until containerd answers CRI ``Version``
    ├── node              register (``agent.node``), Lease renewal, status heartbeat; NotReady
    │                     until the pod network is up
    ├── network           wait for the Node's podCIDR (node-ipam), write the bridge conflist,
    │                     wait for CRI ``NetworkReady``
    └── kubelet           pod workers (``agent.kubelet``)

Started (``task_status.started``) once the kubelet runs. Host facts for the Node (CPUs,
memory, disk) are read from the machine.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import trio
import trio_asyncio  # type: ignore[import-untyped]

from ..client import ApiError, Client, ClientError, EventRecorder
from ..client.resource import NODES
from ..config import AgentConfig
from ..netutil import primary_ipv4
from .cni import write_conflist
from .containerd import Containerd, ContainerdPaths
from .images import PAUSE_IMAGE, ensure_builtin, import_dir
from .kubelet import Kubelet
from .kubelet.specs import parse_resolv_conf
from .node import (
    NETWORK_NOT_READY,
    NodeConfig,
    NodeLease,
    NodeStatusReporter,
    build_node,
    register_node,
)

__all__ = ["AgentState", "host_node_config", "run_agent", "sandbox_image"]

log = logging.getLogger("k3trio.agent")

CRI_WAIT = 60.0


def sandbox_image(cfg: AgentConfig) -> str:
    """The configured sandbox image (by default the built-in ``PAUSE_IMAGE``)."""
    return cfg.pause_image


def _memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 1 << 30


def _parse_taint(text: str) -> dict[str, str]:
    key_value, _, effect = text.partition(":")
    key, _, value = key_value.partition("=")
    out = {"key": key, "effect": effect or "NoSchedule"}
    if value:
        out["value"] = value
    return out


def host_node_config(cfg: AgentConfig, internal_ip: str, runtime_version: str) -> NodeConfig:
    """The Node description of this machine."""
    disk = shutil.disk_usage(cfg.data_dir if cfg.data_dir.exists() else "/")
    labels = dict(label.partition("=")[::2] for label in cfg.node_label)
    return NodeConfig(
        name=cfg.node_name,
        cpu=str(os.cpu_count() or 1),
        memory=str(_memory_bytes()),
        ephemeral_storage=str(disk.total),
        internal_ip=internal_ip,
        labels=labels,
        taints=tuple(_parse_taint(t) for t in cfg.node_taint),
        container_runtime_version=runtime_version,
        kubelet_port=cfg.kubelet_port(),
    )


@attrs.define
class AgentState:
    """What the running agent exposes (for health checks and tests)."""

    socket: Path | None = None
    runtime_version: str = ""
    pod_cidrs: list[str] = attrs.field(factory=list)
    network_ready: bool = False
    kubelet: Kubelet | None = None
    containerd: Containerd | None = None


async def _wait_cri(cri: Any) -> str:
    from .cri import CriError

    with trio.fail_after(CRI_WAIT):
        while True:
            try:
                name, version = await cri.version()
                return f"{name}://{version}"
            except CriError:
                await trio.sleep(0.1)


async def _network(client: Client, cri: Any, node_name: str, conf_dir: Path, ipam_dir: Path,
                   state: AgentState, reporter: NodeStatusReporter) -> None:
    """Wait for the podCIDR, write the conflist, wait for CRI NetworkReady; keep it current."""
    while True:
        try:
            node = await client.get(NODES, node_name)
            spec = node.get("spec") or {}
            cidrs = list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR")
                                                  else []))
            if cidrs and cidrs != state.pod_cidrs:
                write_conflist(conf_dir, cidrs, ipam_dir=ipam_dir)
                state.pod_cidrs = cidrs
                log.info("Pod network of %s: %s", node_name, ", ".join(cidrs))
            if cidrs:
                ready, why = await cri.network_ready()
                if ready != state.network_ready:
                    state.network_ready = ready
                    reporter.poke()
                    if not ready:
                        log.warning("pod network not ready: %s", why)
        except (ApiError, ClientError) as exc:
            log.warning("Unable to read node %s: %s", node_name, exc)
        await trio.sleep(0.5 if not state.network_ready else 10.0)


async def run_agent(
    client: Client,
    cfg: AgentConfig,
    *,
    cluster_dns: tuple[str, ...] = (),
    cluster_domain: str = "cluster.local",
    should_stop: Callable[[], bool] = lambda: True,
    state: AgentState | None = None,
    task_status: trio.TaskStatus[AgentState] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the node agent until cancelled (see module doc).

    Raises:
        k3trio.agent.containerd.RuntimeMissing: containerd/runc/CNI plugins are missing.
    """
    from .cri.grpc import open_cri

    state = state if state is not None else AgentState()
    agent_dir = cfg.data_dir / "agent"
    paths = ContainerdPaths.under(agent_dir)
    image = sandbox_image(cfg)
    internal_ip = cfg.node_ip or primary_ipv4()
    async with trio_asyncio.open_loop(), trio.open_nursery() as nursery:
        if cfg.container_runtime_endpoint:
            socket = Path(cfg.container_runtime_endpoint.removeprefix("unix://"))
        else:
            containerd = Containerd(paths, sandbox_image=image, should_stop=should_stop,
                                    debug=cfg.debug)
            state.containerd = containerd
            socket = await nursery.start(containerd.run)
        state.socket = socket
        images_dir = agent_dir / "images"
        if image == PAUSE_IMAGE:
            await trio.to_thread.run_sync(ensure_builtin, images_dir, image)
        await import_dir(images_dir, socket)
        async with open_cri(socket) as cri:
            state.runtime_version = await _wait_cri(cri)
            node_cfg = host_node_config(cfg, internal_ip, state.runtime_version)
            recorder = EventRecorder(client, "kubelet", cfg.node_name)
            await nursery.start(recorder.run)
            stored = None
            delay = 0.2
            while stored is None:
                try:
                    stored = await register_node(client, build_node(
                        node_cfg, ready=False, not_ready_message=NETWORK_NOT_READY,
                        now=trio_now()))
                except (ApiError, ClientError) as exc:
                    log.warning("Unable to register node %s: %s", cfg.node_name, exc)
                    await trio.sleep(delay)
                    delay = min(delay * 2, 7.0)
            node_uid = str((stored.get("metadata") or {}).get("uid") or "") or None
            reporter = NodeStatusReporter(
                client, node_cfg, recorder=recorder,
                readiness=lambda: None if state.network_ready else NETWORK_NOT_READY)
            lease = NodeLease(client, cfg.node_name, node_uid=lambda: node_uid)
            await nursery.start(lease.run)
            await nursery.start(reporter.run, stored)
            nursery.start_soon(_network, client, cri, cfg.node_name, paths.cni_conf_dir,
                               agent_dir / "cni" / "networks", state, reporter)
            resolv: tuple[list[str], list[str], list[str]] = ([], [], [])
            try:
                resolv = parse_resolv_conf(Path("/etc/resolv.conf").read_text())
            except OSError:
                pass
            kubelet = Kubelet(
                client, cri, cri, node_name=cfg.node_name, host_ip=internal_ip,
                network_ready=lambda: state.network_ready, cluster_dns=cluster_dns,
                cluster_domain=cluster_domain, host_resolv=resolv, recorder=recorder,
                pods_root=agent_dir / "pods")
            state.kubelet = kubelet
            await nursery.start(kubelet.run)
            from .kubelet.server import run_kubelet_api

            await nursery.start(
                partial(run_kubelet_api, port=cfg.kubelet_port()), cfg.data_dir, kubelet, cri, client
            )
            log.info("Node agent of %s running (%s)", cfg.node_name, state.runtime_version)
            task_status.started(state)
            await trio.sleep_forever()


def trio_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
