"""The root-CA publisher: a ``kube-root-ca.crt`` ConfigMap in every active namespace.

The ConfigMap holds ``ca.crt``, the CA bundle that verifies the API server's serving
certificate (the controller-manager's own trust anchor unless given explicitly), and the
upstream description annotation. A namespace event, or a change/deletion of the ConfigMap,
queues the namespace; ``sync`` creates the ConfigMap or puts ``ca.crt`` and the annotation
back when they differ, leaving other keys and labels alone.
"""

from __future__ import annotations

import copy
from typing import Any

from ..client import AlreadyExists, Forbidden, NotFound
from .base import Controller, ControllerContext, meta_of
from .handles import CONFIGMAPS, NAMESPACES

__all__ = ["CONFIGMAP_NAME", "DESCRIPTION", "RootCACertPublisher"]

CONFIGMAP_NAME = "kube-root-ca.crt"
DESCRIPTION_KEY = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    workers = 5

    def __init__(self, ctx: ControllerContext, *, ca_pem: bytes | None = None) -> None:
        super().__init__(ctx)
        ca = ca_pem if ca_pem is not None else (ctx.client.config.ca_pem or b"")
        self.ca = ca.decode() if isinstance(ca, bytes) else str(ca)
        self.namespaces = self.informer(NAMESPACES, on_add=self.enqueue,
                                        on_update=lambda o, n: self.enqueue(n))
        self.configmaps = self.informer(CONFIGMAPS, field_selector=f"metadata.name={CONFIGMAP_NAME}",
                                        on_update=lambda o, n: self._cm_changed(n),
                                        on_delete=self._cm_changed)

    def _cm_changed(self, obj: Any) -> None:
        cm = getattr(obj, "obj", obj)
        if meta_of(cm).get("name") == CONFIGMAP_NAME:
            self.enqueue(str(meta_of(cm).get("namespace")))

    async def sync(self, key: str) -> None:
        if not self.ca:
            return
        ns = self.namespaces.lister.get(key)
        if ns is None or meta_of(ns).get("deletionTimestamp"):
            return
        cm = self.configmaps.lister.get(CONFIGMAP_NAME, key)
        try:
            if cm is None:
                await self.client.create(CONFIGMAPS, {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": CONFIGMAP_NAME, "namespace": key,
                                 "annotations": {DESCRIPTION_KEY: DESCRIPTION}},
                    "data": {"ca.crt": self.ca}}, namespace=key)
                return
            if (cm.get("data") or {}).get("ca.crt") == self.ca and \
                    (meta_of(cm).get("annotations") or {}).get(DESCRIPTION_KEY) == DESCRIPTION:
                return
            new = copy.deepcopy(cm)
            new.setdefault("data", {})["ca.crt"] = self.ca
            new["metadata"].setdefault("annotations", {})[DESCRIPTION_KEY] = DESCRIPTION
            await self.client.update(CONFIGMAPS, new)
        except AlreadyExists:
            self.enqueue_rate_limited(key)
        except NotFound:
            return
        except Forbidden as exc:
            if "being terminated" in str(exc):
                return
            raise
