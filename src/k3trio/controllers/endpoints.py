"""The Endpoints controller: ``v1/Endpoints`` of every Service with a selector.

For a Service ``s`` with ``spec.selector``, the Endpoints object ``s`` lists the pods the
selector matches in its namespace that have an IP and are not terminal (or being deleted,
unless the Service publishes not-ready addresses), as ``addresses`` (Ready pods, or every
pod with ``publishNotReadyAddresses``) and ``notReadyAddresses``. Each Service port becomes an
endpoint port whose number is the pod's ``targetPort`` (a named targetPort is resolved per
pod among its containers' ports; a pod without that name is left out of that port's subset).
Pods with the same resolved ports share one subset; addresses and ports are sorted so the
object only changes when the endpoints do.

Endpoints of a Service without a selector are the user's; an Endpoints object of a deleted
Service is deleted. Managed objects carry ``endpointslice.kubernetes.io/skip-mirror: "true"``
(the mirroring controller leaves them alone) and more than 1000 addresses are truncated with
``endpoints.kubernetes.io/over-capacity: truncated``.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from typing import Any

from ..api import labels as label_sel
from ..client import AlreadyExists, DeletedFinalStateUnknown, NotFound
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import ENDPOINTS, PODS, SERVICES
from .timeutil import format_time

__all__ = ["EndpointsController", "desired_subsets", "pod_in_endpoints", "resolve_port"]

SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS = "service.kubernetes.io/headless"
MAX_ADDRESSES = 1000


def pod_ready(pod: Mapping[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """Whether a pod belongs in a Service's endpoints at all."""
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    return include_terminating or not meta_of(pod).get("deletionTimestamp")


def resolve_port(pod: Mapping[str, Any], svc_port: Mapping[str, Any]) -> int | None:
    """The pod's port for a Service port (``FindPort``); None when a name does not resolve."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol") or "TCP"
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                return int(p["containerPort"])
    return None


def matching_pods(svc: Mapping[str, Any], pods: list[Obj]) -> list[Obj]:
    selector = (svc.get("spec") or {}).get("selector") or {}
    sel = label_sel.selector_from_set(selector)
    return [p for p in pods if sel.matches(meta_of(p).get("labels") or {})]


def _address(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> Obj:
    meta, spec = meta_of(pod), pod.get("spec") or {}
    addr: Obj = {"ip": (pod.get("status") or {}).get("podIP")}
    if spec.get("hostname") and spec.get("subdomain") == meta_of(svc).get("name"):
        addr["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    addr["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace"),
                         "name": meta.get("name"), "uid": meta.get("uid")}
    return addr


def _ip_key(addr: Mapping[str, Any]) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(str(addr.get("ip")))
        return ip.version, int(ip), str((addr.get("targetRef") or {}).get("uid", ""))
    except ValueError:
        return 9, 0, str(addr.get("ip"))


def desired_subsets(svc: Mapping[str, Any], pods: list[Obj]) -> tuple[list[Obj], bool]:
    """The subsets of a Service's Endpoints and whether they were truncated."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]] = {}
    for pod in matching_pods(svc, pods):
        if not pod_in_endpoints(pod, publish):
            continue
        ports: list[tuple[str, int, str, str]] = []
        for sp in spec.get("ports") or []:
            number = resolve_port(pod, sp)
            if number is None:
                continue
            ports.append((str(sp.get("name") or ""), number, str(sp.get("protocol") or "TCP"),
                          str(sp.get("appProtocol") or "")))
        if spec.get("ports") and not ports:
            continue
        key = tuple(sorted(ports))
        ready, not_ready = groups.setdefault(key, ([], []))
        (ready if publish or pod_ready(pod) else not_ready).append(_address(pod, svc))
    subsets: list[Obj] = []
    total = 0
    truncated = False
    for key in sorted(groups):
        ready, not_ready = groups[key]
        ready.sort(key=_ip_key)
        not_ready.sort(key=_ip_key)
        room = MAX_ADDRESSES - total
        if len(ready) + len(not_ready) > room:
            truncated = True
            ready = ready[:room]
            not_ready = not_ready[: max(room - len(ready), 0)]
        total += len(ready) + len(not_ready)
        subset: Obj = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if not subset:
            continue
        if key:
            subset["ports"] = [{k: v for k, v in (("name", n), ("port", p), ("protocol", pr),
                                                 ("appProtocol", ap)) if v != ""}
                               for n, p, pr, ap in key]
        subsets.append(subset)
    return subsets, truncated


def service_labels(svc: Mapping[str, Any]) -> dict[str, str]:
    out = dict(meta_of(svc).get("labels") or {})
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        out[HEADLESS] = ""
    return out


class EndpointsController(Controller):
    name = "endpoint"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.services = self.informer(SERVICES, on_add=self.enqueue,
                                      on_update=lambda o, n: self.enqueue(n),
                                      on_delete=self.enqueue)
        self.pods = self.informer(PODS, on_add=self._pod_changed,
                                  on_update=lambda o, n: self._pod_changed(n, o),
                                  on_delete=self._pod_changed)
        self.endpoints = self.informer(ENDPOINTS, on_delete=self._endpoints_deleted)

    def _pod_changed(self, pod: Any, old: Any = None) -> None:
        pods = [p for p in (getattr(pod, "obj", pod), old) if isinstance(p, dict)]
        ns = meta_of(pods[0]).get("namespace")
        for svc in self.services.lister.list(ns):
            if not (svc.get("spec") or {}).get("selector"):
                continue
            if matching_pods(svc, pods):
                self.enqueue(svc)

    def _endpoints_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.enqueue(obj)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        svc = self.services.lister.get(name, namespace)
        current = self.endpoints.lister.get(name, namespace)
        if svc is None:
            if current is not None and SKIP_MIRROR in (meta_of(current).get("labels") or {}):
                try:
                    await self.client.delete(ENDPOINTS, name, namespace=namespace)
                except NotFound:
                    pass
            return
        if not (svc.get("spec") or {}).get("selector"):
            return
        subsets, truncated = desired_subsets(svc, self.pods.lister.list(namespace))
        labels = service_labels(svc)
        labels[SKIP_MIRROR] = "true"
        if current is not None:
            cur_meta = meta_of(current)
            cur_ann = dict(cur_meta.get("annotations") or {})
            if (current.get("subsets") or []) == subsets and \
                    (cur_meta.get("labels") or {}) == labels and \
                    (OVER_CAPACITY in cur_ann) == truncated:
                return
            obj = copy.deepcopy(current)
        else:
            obj = {"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": name, "namespace": namespace}}
        meta = obj["metadata"]
        meta["labels"] = labels
        ann = {k: v for k, v in (meta.get("annotations") or {}).items() if k != OVER_CAPACITY}
        ann[TRIGGER_TIME] = format_time(self.now())
        if truncated:
            ann[OVER_CAPACITY] = "truncated"
        meta["annotations"] = ann
        obj["subsets"] = subsets
        if current is None:
            try:
                await self.client.create(ENDPOINTS, obj)
            except AlreadyExists:
                self.enqueue_rate_limited(key)
        else:
            await self.client.update(ENDPOINTS, obj)
