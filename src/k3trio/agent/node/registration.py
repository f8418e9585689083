"""The Node object a kubelet registers, and registering it.

``build_node`` is pure: from a ``NodeConfig`` (what the agent knows about its machine) and a
clock it returns the Node a kubelet v1.36 posts on first start: default labels
(``kubernetes.io/hostname|os|arch``, their ``beta.`` forms, and K3s's
``node.kubernetes.io/instance-type``), the controller-managed attach/detach annotation,
capacity and allocatable (memory and ephemeral-storage in ``Ki`` as the kubelet reports
them, hugepages at 0), addresses, nodeInfo, the daemon endpoint, runtime handlers and the
four kubelet-owned conditions (see ``status``).

``register_node`` posts it. As upstream's ``tryRegisterWithAPIServer``: when the Node
already exists (a restart), the kubelet keeps it (its UID, podCIDR, taints and user labels)
and only reconciles what the kubelet owns: its default labels, the annotation and the
status. A ``spec.podCIDR`` in the config is only set on create (it is immutable).
"""

from __future__ import annotations

import hashlib
import logging
import platform
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from ...api.quantity import parse_quantity
from ...client import AlreadyExists, Client
from ...client.resource import NODES
from ...version import GIT_VERSION
from .status import node_conditions

__all__ = [
    "KUBELET_PORT",
    "KUBELET_VERSION",
    "NodeConfig",
    "build_node",
    "default_labels",
    "go_arch",
    "host_os_image",
    "kubelet_resource",
    "register_node",
]

log = logging.getLogger("k3trio.agent.node")

Obj = dict[str, Any]

KUBELET_VERSION = GIT_VERSION
KUBELET_PORT = 10250
INSTANCE_TYPE = "k3s"
CMAD_ANNOTATION = "volumes.kubernetes.io/controller-managed-attach-detach"

_GO_ARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
    "riscv64": "riscv64", "i686": "386", "i386": "386",
}


def go_arch(machine: str | None = None) -> str:
    """``GOARCH`` spelling of the machine type (``x86_64`` -> ``amd64``)."""
    m = (machine or platform.machine()).lower()
    return _GO_ARCH.get(m, m)


def host_os_image(os_release: Path = Path("/etc/os-release")) -> str:
    """``PRETTY_NAME`` of os-release, as the kubelet reports ``osImage``."""
    try:
        for line in os_release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _stable_id(name: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}/{name}".encode()).hexdigest()[:32]


@attrs.frozen(slots=True, kw_only=True)
class NodeConfig:
    """What a kubelet reports about its node.

    Quantities are Kubernetes quantity strings (``"4"``, ``"16Gi"``). ``allocatable`` defaults
    to the capacity (no reservations). ``pod_cidr`` is only used when the agent assigns its
    own range; normally the node-ipam controller sets it.
    """

    name: str
    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110
    ephemeral_storage: str = "100Gi"
    internal_ip: str = "127.0.0.1"
    hostname: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    taints: Sequence[Mapping[str, Any]] = ()
    pod_cidr: str | None = None
    provider_id: str | None = None
    reserved: Mapping[str, str] = attrs.field(factory=dict)
    container_runtime_version: str = "containerd://2.1.4-k3trio1"
    kernel_version: str = attrs.field(factory=platform.release)
    os_image: str = attrs.field(factory=host_os_image)
    architecture: str = attrs.field(factory=go_arch)
    machine_id: str | None = None
    boot_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    kubelet_port: int = KUBELET_PORT


def kubelet_resource(name: str, value: str) -> str:
    """A resource value spelled as the kubelet reports it (memory and storage in ``Ki``).

    Raises:
        k3trio.api.quantity.QuantityError: not a quantity.
    """
    q = parse_quantity(str(value))
    if name in ("memory", "ephemeral-storage"):
        return f"{q.value() // 1024}Ki"
    return str(q)


def default_labels(cfg: NodeConfig) -> dict[str, str]:
    """The labels a kubelet owns on its Node (reconciled on every registration)."""
    arch = cfg.architecture
    return {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/instance-type": INSTANCE_TYPE,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": cfg.hostname or cfg.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": INSTANCE_TYPE,
    }


def _resources(cfg: NodeConfig) -> tuple[Obj, Obj]:
    capacity = {
        "cpu": kubelet_resource("cpu", cfg.cpu),
        "ephemeral-storage": kubelet_resource("ephemeral-storage", cfg.ephemeral_storage),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": kubelet_resource("memory", cfg.memory),
        "pods": str(cfg.pods),
    }
    allocatable = dict(capacity)
    for name, amount in cfg.reserved.items():
        if name in capacity:
            left = parse_quantity(capacity[name]) - parse_quantity(amount)
            if left.sign() < 0:
                left = parse_quantity("0")
            allocatable[name] = (f"{left.value() // 1024}Ki"
                                 if name in ("memory", "ephemeral-storage") else str(left))
    return capacity, allocatable


def node_info(cfg: NodeConfig) -> Obj:
    machine_id = cfg.machine_id or _stable_id(cfg.name, "machine-id")
    return {
        "architecture": cfg.architecture,
        "bootID": cfg.boot_id,
        "containerRuntimeVersion": cfg.container_runtime_version,
        "kernelVersion": cfg.kernel_version,
        "kubeProxyVersion": "",
        "kubeletVersion": KUBELET_VERSION,
        "machineID": machine_id,
        "operatingSystem": "linux",
        "osImage": cfg.os_image,
        "systemUUID": str(uuid.UUID(_stable_id(cfg.name, "system-uuid"))),
    }


def node_addresses(cfg: NodeConfig) -> list[Obj]:
    return [
        {"type": "InternalIP", "address": cfg.internal_ip},
        {"type": "Hostname", "address": cfg.hostname or cfg.name},
    ]


def build_status(cfg: NodeConfig, *, ready: bool, not_ready_message: str, now: datetime,
                 old: Mapping[str, Any] | None = None) -> Obj:
    """The kubelet-owned part of ``status`` (conditions keep their transition times)."""
    capacity, allocatable = _resources(cfg)
    old_conditions = (old or {}).get("conditions") or []
    return {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": node_conditions(old_conditions, ready=ready,
                                      not_ready_message=not_ready_message, now=now),
        "addresses": node_addresses(cfg),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.kubelet_port}},
        "nodeInfo": node_info(cfg),
        "runtimeHandlers": [
            {"name": "", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
            {"name": "runc",
             "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
        ],
        "features": {"supplementalGroupsPolicy": True},
    }


def build_node(cfg: NodeConfig, *, ready: bool, not_ready_message: str, now: datetime) -> Obj:
    """The Node object posted on first registration."""
    spec: Obj = {}
    if cfg.pod_cidr:
        spec["podCIDR"] = cfg.pod_cidr
        spec["podCIDRs"] = [cfg.pod_cidr]
    if cfg.provider_id:
        spec["providerID"] = cfg.provider_id
    if cfg.taints:
        spec["taints"] = [dict(t) for t in cfg.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": cfg.name,
            "labels": {**cfg.labels, **default_labels(cfg)},
            "annotations": {
                **cfg.annotations,
                CMAD_ANNOTATION: "true",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": spec,
        "status": build_status(cfg, ready=ready, not_ready_message=not_ready_message, now=now),
    }


def reconcile_existing(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> Obj | None:
    """A merge patch bringing an existing Node's kubelet-owned metadata up to date, or None."""
    meta = existing.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    want_meta = wanted["metadata"]
    label_patch = {k: v for k, v in want_meta["labels"].items() if labels.get(k) != v}
    ann_patch = {k: v for k, v in want_meta["annotations"].items()
                 if k == CMAD_ANNOTATION and annotations.get(k) != v}
    patch: Obj = {}
    if label_patch:
        patch.setdefault("metadata", {})["labels"] = label_patch
    if ann_patch:
        patch.setdefault("metadata", {})["annotations"] = ann_patch
    return patch or None


async def register_node(client: Client, node: Mapping[str, Any]) -> Obj:
    """Create the Node, or adopt the existing one; return the Node as stored.

    The caller posts the status next (``status.NodeStatusReporter``): the server may or may
    not keep a status given on create, and an adopted Node carries the previous run's.

    Raises:
        k3trio.client.ApiError: the API refused the Node (e.g. Forbidden, Invalid).
    """
    name = node["metadata"]["name"]
    try:
        stored = await client.create(NODES, node)
        log.info("Successfully registered node %s", name)
        return stored
    except AlreadyExists:
        pass
    existing = await client.get(NODES, name)
    patch = reconcile_existing(existing, node)
    log.info("Node %s was previously registered", name)
    return await client.patch(NODES, name, patch) if patch else existing
