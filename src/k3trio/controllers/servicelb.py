"""ServiceLB (K3s's klipper-lb behaviour): LoadBalancer Services are exposed on the nodes.

For every Service of type ``LoadBalancer`` without ``spec.loadBalancerClass``, the
controller sets ``status.loadBalancer.ingress`` to the addresses of the ready nodes that
carry load balancers: the nodes labelled ``svccontroller.k3s.cattle.io/enablelb=true`` when
any node has that label, otherwise every node. Each node contributes its ``InternalIP`` and
``ExternalIP`` addresses of the Service's IP families, sorted, with ``ipMode: VIP``; the
service proxy then makes the Service's ports answer on those addresses. The status follows
nodes as they come, go or change readiness, and is cleared when the Service stops being a
load balancer handled here.

``desired_ingress`` is the pure decision; ``sync`` writes ``services/status`` only when it
differs from what is stored.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from ..client import Conflict, NotFound
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import NODES, SERVICES

__all__ = ["ENABLE_LB_LABEL", "ServiceLBController", "desired_ingress", "lb_nodes"]

ENABLE_LB_LABEL = "svccontroller.k3s.cattle.io/enablelb"


def _ready(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def lb_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ready nodes that carry load balancers (labelled ones if any node is labelled)."""
    nodes = list(nodes)
    labelled = [n for n in nodes if ENABLE_LB_LABEL in (meta_of(n).get("labels") or {})]
    pool = ([n for n in labelled if meta_of(n)["labels"][ENABLE_LB_LABEL] == "true"]
            if labelled else nodes)
    return [n for n in pool if _ready(n) and not meta_of(n).get("deletionTimestamp")]


def handled(svc: Mapping[str, Any]) -> bool:
    """Whether the Service is a load balancer this controller serves."""
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def desired_ingress(svc: Mapping[str, Any], nodes: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """``status.loadBalancer.ingress`` for the Service given every node."""
    if not handled(svc):
        return []
    families = (svc.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    versions = {6 if f == "IPv6" else 4 for f in families}
    ips: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for node in lb_nodes(nodes):
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") not in ("InternalIP", "ExternalIP"):
                continue
            try:
                ip = ipaddress.ip_address(str(addr.get("address")))
            except ValueError:
                continue
            if ip.version in versions:
                ips.add(ip)
    return [{"ip": str(ip), "ipMode": "VIP"} for ip in sorted(ips, key=lambda i: (i.version, i))]


class ServiceLBController(Controller):
    name = "servicelb"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.services = self.informer(SERVICES, on_add=self.enqueue,
                                      on_update=lambda o, n: self.enqueue(n),
                                      on_delete=None)
        self.nodes = self.informer(NODES, on_add=self._nodes_changed,
                                   on_update=self._node_updated,
                                   on_delete=self._nodes_changed)

    def _node_updated(self, old: Any, new: Any) -> None:
        def view(n: Any) -> Any:
            n = getattr(n, "obj", n)
            return (meta_of(n).get("labels"), _ready(n), (n.get("status") or {}).get("addresses"),
                    meta_of(n).get("deletionTimestamp"))
        if view(old) != view(new):
            self._nodes_changed()

    def _nodes_changed(self, *_: Any) -> None:
        for svc in self.services.lister.list():
            if handled(svc) or ((svc.get("status") or {}).get("loadBalancer") or {}).get(
                    "ingress"):
                self.enqueue(svc)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        svc = self.services.lister.get(name, namespace)
        if svc is None:
            return
        lb = (svc.get("status") or {}).get("loadBalancer") or {}
        if not handled(svc) and (svc.get("spec") or {}).get("type") == "LoadBalancer":
            return  # another load-balancer implementation owns its status
        want = desired_ingress(svc, self.nodes.lister.list())
        if (lb.get("ingress") or []) == want:
            return
        obj = copy.deepcopy(svc)
        obj.setdefault("status", {})["loadBalancer"] = {"ingress": want} if want else {}
        try:
            await self.client.update_status(SERVICES, obj)
        except NotFound:
            return
        except Conflict:
            self.enqueue_rate_limited(key)
            return
        if want:
            self.recorder.event(svc, "Normal", "UpdatedIngressIP",
                                "LoadBalancer Ingress IP addresses updated: "
                                + ", ".join(i["ip"] for i in want))
