"""The API objects volumes and env vars are made of, read through the node's client.

``ObjectCache.get`` answers ConfigMaps, Secrets, PersistentVolumeClaims and PersistentVolumes
by GET, keeping each answer (found or not) for ``ttl`` seconds so the many containers and
volumes of one sync share one read, while a resync after ``ttl`` sees updates: that is how
ConfigMap and Secret changes reach running pods (upstream's TTL cache strategy).
"""

from __future__ import annotations

from typing import Any

import trio

from ....client import Client, NotFound
from ....client.resource import CONFIGMAPS, SECRETS, Resource

__all__ = ["CONFIGMAPS", "PVCS", "PVS", "SECRETS", "SERVICEACCOUNTS", "ObjectCache"]

Obj = dict[str, Any]

PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True)
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", False)
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True,
                           subresources=("token",))


class ObjectCache:
    """GET with a short per-object memory (see module doc)."""

    def __init__(self, client: Client, ttl: float = 5.0) -> None:
        self.client = client
        self.ttl = ttl
        self._entries: dict[tuple[str, str, str], tuple[float, Obj | None]] = {}

    async def get(self, res: Resource, namespace: str, name: str) -> Obj | None:
        """The object, or None when it does not exist.

        Raises:
            ApiError, ClientError: the read failed for another reason.
        """
        key = (res.resource, namespace, name)
        now = trio.current_time()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        try:
            obj: Obj | None = await self.client.get(
                res, name, namespace=namespace if res.namespaced else None)
        except NotFound:
            obj = None
        self._entries[key] = (trio.current_time(), obj)
        if len(self._entries) > 4096:
            cutoff = now - self.ttl
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= cutoff}
        return obj

    def invalidate(self) -> None:
        self._entries.clear()
