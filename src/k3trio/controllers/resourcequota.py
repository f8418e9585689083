"""The resource quota controller: recomputes ``status.used`` of every ResourceQuota.

``compute_used`` (pure) sums, over a namespace's objects of each kind the quota can
constrain, what each object costs (``k3trio.apiserver.admission.quota_usage.usage``, the
same evaluators the admission plugin charges with), for the names in ``spec.hard`` only,
honouring the quota's scopes (``quota_matches``). Names absent from usage are reported as 0.

``sync(namespace/name)`` writes ``status.hard`` (a copy of ``spec.hard``) and ``status.used``
when they differ. Quotas are recomputed when they change, when an object of a tracked kind
(pods, services, persistentvolumeclaims, configmaps, secrets, replicationcontrollers,
resourcequotas) changes in their namespace, and every 5 minutes (``count/<resource>.<group>``
of other kinds is counted by listing them through the API at sync time).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import trio

from ..api.quantity import Quantity
from ..apiserver.admission.quota_usage import matching_resources, quota_matches, usage
from ..client import ClientError, Conflict, NotFound
from ..client.cache import Lister
from ..client.resource import Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import CONFIGMAPS, PODS, PVCS, RESOURCEQUOTAS, SECRETS, SERVICES

__all__ = ["ResourceQuotaController", "compute_used"]

log = logging.getLogger("k3trio.controllers.resourcequota")

RCS = Resource("", "v1", "replicationcontrollers", "ReplicationController", True)
TRACKED = (PODS, SERVICES, PVCS, CONFIGMAPS, SECRETS, RCS, RESOURCEQUOTAS)
#: Kinds whose usage is a count: their informers hold metadata only (and are shared with the
#: garbage collector's monitors), so no secret or configmap data is cached here.
COUNTED_ONLY = (CONFIGMAPS, SECRETS, RCS)
RESYNC = 300.0
ZERO = Quantity.from_int(0)


def compute_used(quota: Mapping[str, Any], objects: Mapping[tuple[str, str], list[Obj]],
                 now: datetime | None = None) -> dict[str, str]:
    """``status.used`` for ``quota`` given ``{(resource, group): objects}`` of its namespace."""
    hard = sorted(((quota.get("spec") or {}).get("hard") or {}).keys())
    used: dict[str, Quantity] = {name: ZERO for name in hard}
    for (resource, group), objs in objects.items():
        names = matching_resources(resource, group, hard)
        if not names:
            continue
        for obj in objs:
            if not quota_matches(quota, resource, group, obj):
                continue
            cost = usage(resource, group, obj, now)
            for name in names:
                if name in cost:
                    used[name] = used[name] + cost[name]
    return {name: str(q) for name, q in used.items()}


def _count_target(name: str) -> tuple[str, str] | None:
    """``(resource, group)`` of a ``count/<resource>[.<group>]`` name."""
    if not name.startswith("count/"):
        return None
    resource, _, group = name[len("count/"):].partition(".")
    return resource, group


class ResourceQuotaController(Controller):
    name = "resourcequota"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.listers: dict[tuple[str, str], Lister] = {}
        for res in TRACKED:
            handlers: dict[str, Any] = {
                "on_add": self._object_changed, "on_delete": self._object_changed,
                "on_update": lambda o, n: self._object_changed(n)}
            if res is RESOURCEQUOTAS:
                handlers = {"on_add": self.enqueue, "on_delete": self.enqueue,
                            "on_update": self._quota_updated}
            inf = self.informer(res, metadata_only=res in COUNTED_ONLY, **handlers)
            self.listers[(res.resource, res.group)] = inf.lister
        self.quotas = self.listers[("resourcequotas", "")]

    def _quota_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}) != (new.get("spec") or {}) or \
                (new.get("status") or {}).get("hard") != (new.get("spec") or {}).get("hard"):
            self.enqueue(new)

    def _object_changed(self, obj: Any) -> None:
        ns = meta_of(getattr(obj, "obj", obj)).get("namespace")
        if ns:
            for quota in self.quotas.list(str(ns)):
                self.enqueue(quota)

    async def background(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._resync)

    async def _resync(self) -> None:
        while True:
            await trio.sleep(RESYNC)
            for quota in self.quotas.list():
                self.enqueue(quota)

    async def sync(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        quota = self.quotas.get(name, namespace)
        if quota is None:
            return
        hard = (quota.get("spec") or {}).get("hard") or {}
        objects = {k: lister.list(namespace) for k, lister in self.listers.items()}
        for hname in hard:
            target = _count_target(hname)
            if target is None or target in objects:
                continue
            objects[target] = await self._list_other(namespace, *target)
        used = compute_used(quota, objects, self.now())
        status = quota.get("status") or {}
        if status.get("hard") == hard and status.get("used") == used:
            return
        new = copy.deepcopy(quota)
        new["status"] = {"hard": dict(hard), "used": used}
        try:
            await self.client.update_status(RESOURCEQUOTAS, new)
        except NotFound:
            return
        except Conflict:
            self.enqueue_rate_limited(key)

    async def _list_other(self, namespace: str, resource: str, group: str) -> list[Obj]:
        try:
            for res in await self.client.discovery.resources():
                if res.resource == resource and res.group == group and res.namespaced:
                    items, _ = await self.client.list_all(res, namespace=namespace)
                    return items
        except ClientError as exc:
            log.warning("quota: cannot count %s.%s: %s", resource, group, exc)
        return []
