"""The garbage collector: deletes objects whose owners are gone, as upstream's
``garbagecollector``.

It watches every resource that can be listed, watched and deleted (found through discovery,
refreshed every 30 s so custom resources join) and keeps the ownership ``Graph``. Work items
are queue keys ``delete:<uid>`` and ``orphan:<uid>``:

``delete:<uid>`` (``attemptToDeleteItem``)
  - the object no longer exists (or has another UID): if it was only a virtual owner, its
    dependents are checked in turn;
  - it is deleting in the foreground (``foregroundDeletion`` finalizer): when none of its
    dependents that block owner deletion remain, the finalizer is removed; otherwise its
    dependents are deleted (in the foreground themselves if they have dependents);
  - otherwise its owner references are classified by looking each owner up (graph first,
    then the API): *solid* (exists, same UID, not deleting in the foreground),
    *dangling* (absent or another UID) or *waiting* (deleting in the foreground).
    With a solid owner, dangling and waiting references are removed by a patch; without
    one, the object is deleted: in the foreground when some owner waits in the foreground
    and the object has dependents of its own, else with the policy its finalizers ask for
    (``orphan`` -> Orphan, ``foregroundDeletion`` -> Foreground), else Background; the UID
    is a precondition.

``orphan:<uid>`` (``attemptToOrphan``)
  an owner being deleted with the ``orphan`` finalizer: its dependents lose their references
  to it, then the finalizer is removed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import trio

from ..client import ApiError, ClientError, Conflict, NotFound
from ..client.resource import Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .gc_graph import FOREGROUND, ORPHAN, Graph, Node, Work

__all__ = ["GarbageCollector", "IGNORED"]

log = logging.getLogger("k3trio.controllers.garbagecollector")

IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})
RESYNC_DISCOVERY = 30.0


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


class GarbageCollector(Controller):
    name = "garbagecollector"
    workers = 20

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.graph = Graph()
        self.monitored: dict[tuple[str, str], Resource] = {}
        self.kinds: dict[tuple[str, str], Resource] = {}  # (group, kind) -> resource

    # -- monitors ----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        delay = 1.0
        while True:
            try:
                await self._sync_monitors()
                break
            except ClientError as exc:
                log.warning("garbage collector: discovery failed (%s); retrying in %.0fs",
                            exc, delay)
                await trio.sleep(delay)
                delay = min(delay * 2, 30.0)
        await super().run(task_status=task_status)

    async def background(self, nursery: trio.Nursery) -> None:
        for node in list(self.graph.nodes.values()):
            if node.virtual:
                self._submit([Work("delete", d) for d in node.dependents])
        nursery.start_soon(self._discovery_loop)

    async def _discovery_loop(self) -> None:
        while True:
            await trio.sleep(RESYNC_DISCOVERY)
            try:
                await self._sync_monitors()
            except ClientError as exc:
                log.warning("garbage collector: discovery failed: %s", exc)

    async def _sync_monitors(self) -> None:
        resources = await self.client.discovery.resources(refresh=True)
        for res in resources:
            if res.kind:
                self.kinds.setdefault((res.group, res.kind), res)
            if not {"list", "watch", "delete"} <= set(res.verbs):
                continue
            key = (res.group, res.resource)
            if key in IGNORED or key in self.monitored:
                continue
            self.monitored[key] = res
            # Metadata is all the graph needs (owners, finalizers, deletion state), so the
            # monitors hold PartialObjectMetadata, as upstream's metadata informers do.
            self.informer(res, on_add=self._observed(res), on_update=self._updated(res),
                          on_delete=self._deleted, metadata_only=True)

    def _fill(self, res: Resource, obj: Obj) -> Obj:
        kind = obj.get("kind")
        if obj.get("apiVersion") and kind and kind != "PartialObjectMetadata":
            return obj
        return {**obj, "apiVersion": res.api_version, "kind": res.kind}

    def _observed(self, res: Resource) -> Any:
        def handler(obj: Obj) -> None:
            self._submit(self.graph.observe(self._fill(res, obj)))
        return handler

    def _updated(self, res: Resource) -> Any:
        def handler(old: Obj, new: Obj) -> None:
            self._submit(self.graph.observe(self._fill(res, new)))
        return handler

    def _deleted(self, obj: Any) -> None:
        self._submit(self.graph.forget(getattr(obj, "obj", obj)))

    def _submit(self, work: list[Work]) -> None:
        for item in work:
            self.queue.add(f"{item.action}:{item.uid}")

    # -- lookups -----------------------------------------------------------------------

    def resource_for(self, api_version: str, kind: str) -> Resource | None:
        group = _group_of(api_version)
        version = api_version.rpartition("/")[2]
        for res in self.monitored.values():
            if res.group == group and res.kind == kind and res.version == version:
                return res
        return self.kinds.get((group, kind))

    async def _live(self, node: Node) -> Obj | None:
        """The object of a node from the API (None: absent or replaced by another UID)."""
        ident = node.identity
        res = self.resource_for(ident.api_version, ident.kind)
        if res is None:
            return None
        try:
            obj = await self.client.get(res, ident.name,
                                        namespace=ident.namespace if res.namespaced else None)
        except NotFound:
            return None
        if meta_of(obj).get("uid") != ident.uid:
            return None
        return obj

    # -- work --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        action, _, uid = key.partition(":")
        node = self.graph.get(uid)
        if node is None:
            return
        if action == "orphan":
            await self._orphan(node)
        else:
            await self._attempt_delete(node)

    async def _attempt_delete(self, node: Node) -> None:
        obj = await self._live(node)
        if obj is None:
            if node.virtual:
                self._submit(self.graph.remove_virtual(node.identity.uid))
                if not node.dependents:
                    self.graph.nodes.pop(node.identity.uid, None)
            return
        meta = meta_of(obj)
        finalizers = list(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            if FOREGROUND in finalizers:
                await self._deleting_dependents(node, obj)
            return
        refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid")]
        if not refs:
            return
        solid: list[Mapping[str, Any]] = []
        dangling: list[Mapping[str, Any]] = []
        waiting: list[Mapping[str, Any]] = []
        for ref in refs:
            state = await self._owner_state(ref, node.identity.namespace)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[state].append(ref)
        if solid:
            gone = {r["uid"] for r in dangling + waiting}
            if gone:
                await self._patch_refs(node, obj, [r for r in refs if r["uid"] not in gone])
            return
        policy = "Background"
        if waiting and self.graph.dependents_of(node.identity.uid):
            policy = "Foreground"
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        await self._delete(node, policy)

    async def _owner_state(self, ref: Mapping[str, Any], namespace: str) -> str:
        owner = self.graph.get(str(ref["uid"]))
        if owner is not None and not owner.virtual:
            return "waiting" if owner.deleting_dependents else "solid"
        res = self.resource_for(str(ref.get("apiVersion")), str(ref.get("kind")))
        if res is None:
            return "solid"  # unknown kind: never delete on a guess
        try:
            obj = await self.client.get(res, str(ref.get("name")),
                                        namespace=namespace if res.namespaced else None)
        except NotFound:
            return "dangling"
        meta = meta_of(obj)
        if meta.get("uid") != ref.get("uid"):
            return "dangling"
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or []):
            return "waiting"
        return "solid"

    async def _patch_refs(self, node: Node, obj: Obj, keep: list[Mapping[str, Any]]) -> None:
        res = self.resource_for(node.identity.api_version, node.identity.kind)
        if res is None:
            return
        patch = {"metadata": {"ownerReferences": keep or None,
                              "resourceVersion": meta_of(obj).get("resourceVersion")}}
        try:
            await self.client.patch(res, node.identity.name, patch,
                                    namespace=node.identity.namespace or None)
        except NotFound:
            return
        except Conflict:
            self.queue.add_rate_limited(f"delete:{node.identity.uid}")

    async def _delete(self, node: Node, policy: str) -> None:
        res = self.resource_for(node.identity.api_version, node.identity.kind)
        if res is None:
            return
        try:
            await self.client.delete(res, node.identity.name,
                                     namespace=node.identity.namespace or None,
                                     propagation_policy=policy, uid=node.identity.uid)
        except (NotFound, Conflict):
            return

    async def _deleting_dependents(self, node: Node, obj: Obj) -> None:
        blocking = self.graph.blocking_dependents(node.identity.uid)
        if not blocking:
            await self._remove_finalizer(node, obj, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting:
                self.queue.add(f"delete:{dep.identity.uid}")

    async def _orphan(self, node: Node) -> None:
        obj = await self._live(node)
        if obj is None or not meta_of(obj).get("deletionTimestamp"):
            return
        if ORPHAN not in (meta_of(obj).get("finalizers") or []):
            return
        for dep in self.graph.dependents_of(node.identity.uid):
            if dep.virtual:
                continue
            live = await self._live(dep)
            if live is None:
                continue
            refs = [r for r in meta_of(live).get("ownerReferences") or []
                    if r.get("uid") != node.identity.uid]
            await self._patch_refs(dep, live, refs)
        await self._remove_finalizer(node, obj, ORPHAN)

    async def _remove_finalizer(self, node: Node, obj: Obj, finalizer: str) -> None:
        res = self.resource_for(node.identity.api_version, node.identity.kind)
        if res is None:
            return
        fins = [f for f in meta_of(obj).get("finalizers") or [] if f != finalizer]
        patch = {"metadata": {"finalizers": fins or None,
                              "resourceVersion": meta_of(obj).get("resourceVersion")}}
        try:
            await self.client.patch(res, node.identity.name, patch,
                                    namespace=node.identity.namespace or None)
        except NotFound:
            return
        except (Conflict, ApiError) as exc:
            if isinstance(exc, Conflict):
                self.queue.add_rate_limited(f"{'orphan' if finalizer == ORPHAN else 'delete'}:"
                                            f"{node.identity.uid}")
                return
            raise
