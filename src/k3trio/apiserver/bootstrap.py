"""Objects every cluster has from the start (kube-apiserver's post-start hooks).

- namespaces ``default``, ``kube-system``, ``kube-public``, ``kube-node-lease``;
- the ``kubernetes`` Service in ``default`` (first service IP, port 443 -> 6443) with its
  Endpoints and EndpointSlice pointing at the advertise address;
- the ``kubernetes`` ServiceCIDR holding the service IP ranges, marked Ready;
- the system priority classes;
- the RBAC bootstrap policy (``k3trio.apiserver.rbac.bootstrap_policy()``) when present.

Creating is idempotent: existing objects are kept; RBAC roles get missing rules added
unless annotated ``rbac.authorization.kubernetes.io/autoupdate: "false"``.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

import trio

from ..api.errors import AlreadyExists, APIError
from .interfaces import UserInfo
from .storage.context import RequestContext

if TYPE_CHECKING:
    from .factory import StorageSet

log = logging.getLogger("k3trio.apiserver.bootstrap")

SYSTEM = UserInfo("system:apiserver", groups=("system:masters", "system:authenticated"))
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PRIORITY_CLASSES = (
    ("system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."),
    ("system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
)


def _ctx() -> RequestContext:
    return RequestContext(user=SYSTEM, field_manager="kube-apiserver")


async def _ensure(storages: StorageSet, group: str, version: str, resource: str, obj: dict[str, Any]) -> None:
    info = storages.registry.get(group, version, resource)
    if info is None:
        return
    storage = storages.storage(info)
    meta = obj["metadata"]
    namespace = meta.get("namespace", "") if info.namespaced else ""
    if await storage.get_or_none(namespace, meta["name"]) is not None:
        return
    try:
        await storage.create(namespace, copy.deepcopy(obj), _ctx())
    except AlreadyExists:
        pass


def kubernetes_service(cluster_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv6" if ":" in cluster_ip else "IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
    }


def kubernetes_endpoints(address: str, port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
        },
        "addressType": "IPv6" if ":" in address else "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
    return endpoints, slice_


async def bootstrap(storages: StorageSet, config: Any) -> None:
    """Create the bootstrap objects that are missing. Errors are logged, never fatal."""
    for name in NAMESPACES:
        await _safe(_ensure(storages, "", "v1", "namespaces", {"metadata": {"name": name}}))
    for name, value, description in PRIORITY_CLASSES:
        await _safe(_ensure(storages, "scheduling.k8s.io", "v1", "priorityclasses", {
            "metadata": {"name": name}, "value": value, "description": description, "preemptionPolicy": "PreemptLowerPriority",
        }))
    if config is not None:
        try:
            cluster_ip = config.first_service_ip()
        except Exception:  # pragma: no cover - config without a service CIDR
            cluster_ip = ""
        address = getattr(config, "advertise_address", None) or getattr(config, "node_ip", None) or ""
        if not address:
            from ..netutil import primary_ipv4

            address = primary_ipv4()
        port = int(getattr(config, "https_listen_port", 6443) or 6443)
        if cluster_ip:
            await _safe(_ensure(storages, "", "v1", "services", kubernetes_service(cluster_ip)))
        cidrs = [c.strip() for c in str(getattr(config, "service_cidr", "") or "").split(",") if c.strip()]
        if cidrs:
            await _safe(_default_service_cidr(storages, cidrs))
        endpoints, slice_ = kubernetes_endpoints(address, port)
        await _safe(_ensure(storages, "", "v1", "endpoints", endpoints))
        await _safe(_ensure(storages, "discovery.k8s.io", "v1", "endpointslices", slice_))
    await _safe(_rbac(storages))


#: The ServiceCIDR kube-apiserver keeps for its ``--service-cluster-ip-range``.
DEFAULT_SERVICE_CIDR = "kubernetes"


async def _default_service_cidr(storages: StorageSet, cidrs: list[str]) -> None:
    """The ``kubernetes`` ServiceCIDR with the configured ranges, marked Ready."""
    info = storages.registry.get("networking.k8s.io", "v1", "servicecidrs")
    if info is None:
        return
    storage = storages.storage(info)
    if await storage.get_or_none("", DEFAULT_SERVICE_CIDR) is None:
        obj = {"metadata": {"name": DEFAULT_SERVICE_CIDR}, "spec": {"cidrs": cidrs}}
        try:
            await storage.create("", obj, _ctx())
        except AlreadyExists:
            pass
    from ..api import meta as _meta

    def ready(old: dict[str, Any] | None) -> dict[str, Any]:
        if old is None:
            raise storage.not_found(DEFAULT_SERVICE_CIDR)
        conditions = (old.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            old["status"] = {"conditions": [{
                "type": "Ready", "status": "True", "reason": "Ready",
                "message": "Kubernetes default Service CIDR is ready",
                "lastTransitionTime": _meta.format_time(storages.plugins.now()),
            }]}
        return old

    await storage.update("", DEFAULT_SERVICE_CIDR, ready, _ctx(), subresource="status")


async def _rbac(storages: StorageSet) -> None:
    try:
        from .rbac import bootstrap_policy
    except ImportError:
        return
    # The policy objects are independent of each other: reconcile them concurrently so the
    # store's group commit writes them in a few transactions instead of one fsync each.
    async with trio.open_nursery() as nursery:
        for obj in bootstrap_policy():
            group, _, version = obj["apiVersion"].rpartition("/")
            info = storages.registry.for_kind(group, version, obj["kind"])
            if info is None:
                continue
            nursery.start_soon(_safe, _reconcile(storages, info, obj))


async def _reconcile(storages: StorageSet, info: Any, obj: dict[str, Any]) -> None:
    storage = storages.storage(info)
    meta = obj["metadata"]
    namespace = meta.get("namespace", "") if info.namespaced else ""
    current = await storage.get_or_none(namespace, meta["name"])
    if current is None:
        try:
            await storage.create(namespace, copy.deepcopy(obj), _ctx())
        except AlreadyExists:
            pass
        return
    annotations = current.metadata.get("annotations") or {}
    if annotations.get("rbac.authorization.kubernetes.io/autoupdate") == "false":
        return
    if "rules" not in obj:
        return
    have = current.obj.get("rules") or []
    missing = [r for r in obj.get("rules") or [] if r not in have]
    if not missing:
        return

    def updater(old: dict[str, Any] | None) -> dict[str, Any]:
        assert old is not None
        old["rules"] = list(old.get("rules") or []) + missing
        return old

    await storage.update(namespace, meta["name"], updater, _ctx())


async def _safe(aw: Any) -> None:
    try:
        await aw
    except APIError as exc:
        log.warning("bootstrap: %s", exc.message)
