"""The EndpointSlice controller: ``discovery.k8s.io/v1`` slices for every Service with a
selector.

Desired state (``desired_slices``, pure): one endpoint per matching pod that has an IP of the
Service's address family and is not terminal, with conditions ``ready`` (Ready and not
terminating, or always with ``publishNotReadyAddresses``), ``serving`` (Ready) and
``terminating`` (being deleted), ``nodeName``, ``zone`` (the node's
``topology.kubernetes.io/zone``), ``hostname`` (pods with ``subdomain`` = the Service name)
and a ``targetRef``. Endpoints with the same resolved ports (named target ports resolve per
pod) share slices of at most 100 endpoints, sorted by address.

Reconciliation: the Service's existing slices (labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``) are matched to
desired slices with the same ports and address type and updated in place when different;
missing ones are created with ``generateName: <service>-`` and a controller owner reference
to the Service; left-over ones are deleted. Slices of deleted Services are removed by the
garbage collector through their owner reference.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from typing import Any

from ..client import AlreadyExists, ApiError, NotFound
from .base import Controller, ControllerContext, Obj, meta_of
from .endpoints import (
    TRIGGER_TIME,
    matching_pods,
    pod_in_endpoints,
    pod_ready,
    resolve_port,
    service_labels,
)
from .handles import ENDPOINTSLICES, NODES, PODS, SERVICES
from .timeutil import format_time

__all__ = ["MANAGED_BY", "SERVICE_NAME", "EndpointSliceController", "desired_slices"]

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS = 100


def address_types(svc: Mapping[str, Any]) -> list[str]:
    families = (svc.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    return ["IPv6" if f == "IPv6" else "IPv4" for f in families]


def _pod_ip(pod: Mapping[str, Any], address_type: str) -> str | None:
    status = pod.get("status") or {}
    ips = [i.get("ip") for i in status.get("podIPs") or []] or [status.get("podIP")]
    for ip in ips:
        try:
            version = ipaddress.ip_address(str(ip)).version
        except ValueError:
            continue
        if (version == 6) == (address_type == "IPv6"):
            return str(ip)
    return None


def _endpoint(pod: Mapping[str, Any], svc: Mapping[str, Any], ip: str,
              zones: Mapping[str, str]) -> Obj:
    meta, spec = meta_of(pod), pod.get("spec") or {}
    terminating = bool(meta.get("deletionTimestamp"))
    serving = pod_ready(pod)
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    ep: Obj = {
        "addresses": [ip],
        "conditions": {"ready": publish or (serving and not terminating),
                       "serving": publish or serving, "terminating": terminating},
    }
    if spec.get("hostname") and spec.get("subdomain") == meta_of(svc).get("name"):
        ep["hostname"] = spec["hostname"]
    ep["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace"),
                       "name": meta.get("name"), "uid": meta.get("uid")}
    node = spec.get("nodeName")
    if node:
        ep["nodeName"] = node
        if zones.get(node):
            ep["zone"] = zones[node]
    return ep


PortKey = tuple[tuple[str, int, str, str], ...]


def _ports(key: PortKey) -> list[Obj]:
    return [{k: v for k, v in (("name", n), ("port", p), ("protocol", pr), ("appProtocol", ap))
             if not (k == "appProtocol" and v == "")} for n, p, pr, ap in key]


def desired_slices(svc: Mapping[str, Any], pods: list[Obj],
                   zones: Mapping[str, str] | None = None) -> list[tuple[str, list[Obj], list[Obj]]]:
    """``(addressType, ports, endpoints)`` of every slice the Service should have."""
    spec = svc.get("spec") or {}
    zones = zones or {}
    out: list[tuple[str, list[Obj], list[Obj]]] = []
    for atype in address_types(svc):
        groups: dict[PortKey, list[Obj]] = {}
        for pod in matching_pods(svc, pods):
            if not pod_in_endpoints(pod, True):
                continue
            ip = _pod_ip(pod, atype)
            if ip is None:
                continue
            ports = []
            for sp in spec.get("ports") or []:
                number = resolve_port(pod, sp)
                if number is not None:
                    ports.append((str(sp.get("name") or ""), number,
                                  str(sp.get("protocol") or "TCP"), str(sp.get("appProtocol") or "")))
            groups.setdefault(tuple(sorted(ports)), []).append(_endpoint(pod, svc, ip, zones))
        for key in sorted(groups):
            eps = sorted(groups[key], key=lambda e: (_ip_sort(e["addresses"][0]),
                                                     e["targetRef"]["uid"] or ""))
            for i in range(0, len(eps), MAX_ENDPOINTS):
                out.append((atype, _ports(key), eps[i: i + MAX_ENDPOINTS]))
    if not out:
        # A Service without endpoints keeps one empty placeholder slice.
        out.append((address_types(svc)[0], [], []))
    return out


def _ip_sort(ip: str) -> tuple[int, int]:
    try:
        a = ipaddress.ip_address(ip)
        return a.version, int(a)
    except ValueError:
        return 9, 0


class EndpointSliceController(Controller):
    name = "endpointslice"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.services = self.informer(SERVICES, on_add=self.enqueue,
                                      on_update=lambda o, n: self.enqueue(n),
                                      on_delete=self.enqueue)
        self.pods = self.informer(PODS, on_add=self._pod_changed,
                                  on_update=lambda o, n: self._pod_changed(n, o),
                                  on_delete=self._pod_changed)
        self.nodes = self.informer(NODES)
        self.slices = self.informer(ENDPOINTSLICES, on_update=lambda o, n: self._slice_changed(n),
                                    on_delete=self._slice_changed)

    def _pod_changed(self, pod: Any, old: Any = None) -> None:
        pods = [p for p in (getattr(pod, "obj", pod), old) if isinstance(p, dict)]
        ns = meta_of(pods[0]).get("namespace")
        for svc in self.services.lister.list(ns):
            if (svc.get("spec") or {}).get("selector") and matching_pods(svc, pods):
                self.enqueue(svc)

    def _slice_changed(self, obj: Any) -> None:
        s = getattr(obj, "obj", obj)
        labels = meta_of(s).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME):
            self.enqueue(f"{meta_of(s).get('namespace')}/{labels[SERVICE_NAME]}")

    def _zones(self) -> dict[str, str]:
        return {str(meta_of(n).get("name")): str((meta_of(n).get("labels") or {})[ZONE_LABEL])
                for n in self.nodes.lister.list()
                if ZONE_LABEL in (meta_of(n).get("labels") or {})}

    def _existing(self, namespace: str, name: str) -> list[Obj]:
        return [s for s in self.slices.lister.list(namespace)
                if (meta_of(s).get("labels") or {}).get(SERVICE_NAME) == name
                and (meta_of(s).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY]

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        svc = self.services.lister.get(name, namespace)
        if svc is None or not (svc.get("spec") or {}).get("selector"):
            return  # owned slices go with the Service (garbage collector)
        desired = desired_slices(svc, self.pods.lister.list(namespace), self._zones())
        existing = sorted(self._existing(namespace, name),
                          key=lambda s: str(meta_of(s).get("name")))
        labels = service_labels(svc)
        labels[SERVICE_NAME] = name
        labels[MANAGED_BY_LABEL] = MANAGED_BY
        stamp = format_time(self.now())
        unused = list(existing)
        for atype, ports, eps in desired:
            match = next((s for s in unused if s.get("addressType") == atype
                          and (s.get("ports") or []) == ports), None)
            if match is None:
                match = next((s for s in unused if s.get("addressType") == atype), None)
            if match is not None:
                unused.remove(match)
                if (match.get("endpoints") or []) == eps and (match.get("ports") or []) == ports \
                        and (meta_of(match).get("labels") or {}) == labels:
                    continue
                obj = copy.deepcopy(match)
                obj["metadata"]["labels"] = labels
                obj["metadata"].setdefault("annotations", {})[TRIGGER_TIME] = stamp
                obj["endpoints"], obj["ports"] = eps, ports
                try:
                    await self.client.update(ENDPOINTSLICES, obj)
                except NotFound:
                    self.enqueue_rate_limited(key)
                continue
            obj = {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{name}-", "namespace": namespace, "labels": labels,
                    "annotations": {TRIGGER_TIME: stamp},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                         "uid": meta_of(svc).get("uid"), "controller": True,
                                         "blockOwnerDeletion": True}],
                },
                "addressType": atype, "endpoints": eps, "ports": ports,
            }
            try:
                await self.client.create(ENDPOINTSLICES, obj)
            except AlreadyExists:
                self.enqueue_rate_limited(key)
            except ApiError as exc:
                self.recorder.event(svc, "Warning", "FailedToUpdateEndpointSlices",
                                    f"Error updating Endpoint Slices for Service {key}: {exc}")
                raise
        for stale in unused:
            try:
                await self.client.delete(ENDPOINTSLICES, str(meta_of(stale).get("name")),
                                         namespace=namespace)
            except NotFound:
                pass
