"""The CRD controller: serve custom resources as CustomResourceDefinitions come and go.

For every CRD (read from the watch cache, one name at a time, latest state):

1. Names: the plural, singular, kind, list kind and short names must not clash with the
   accepted names of another CRD of the same group (nor a built-in resource). On success
   ``status.acceptedNames`` is the spec's names and ``NamesAccepted`` is True
   (``NoConflicts``); otherwise ``NamesAccepted`` is False (``NameConflict``) and the CRD is
   not served.
2. Established: once names are accepted, ``Established`` is True (``InitialNamesAccepted``)
   and the live registry snapshot is swapped for one serving the CRD's served versions
   (``Registry.with_crd``), so discovery, OpenAPI, storage and tables see it at once.
3. Deletion: a deleted CRD carries the ``customresourcecleanup.apiextensions.k8s.io``
   finalizer (added by the CRD strategy). The controller marks it
   ``Terminating``/``InstanceDeletionInProgress``, deletes every custom resource, and removes
   the finalizer once none is left; the store then drops the CRD and serving stops
   (``Registry.without``), closing open watches of its resources.

Invariants:
- The registry is only ever replaced, never mutated: readers holding a snapshot keep a
  consistent view.
- A CRD's storages are rebuilt whenever its served spec changes (new schema, versions,
  printer columns); the watch cache of its key prefix is kept.
- Status writes use the CRD's resourceVersion; a conflict just queues the name again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio

from ..api import meta as _meta
from ..api.errors import APIError, Conflict, NotFound
from .bootstrap import SYSTEM
from .storage.context import RequestContext
from .storage.strategy import CRD_CLEANUP_FINALIZER, set_crd_condition

if TYPE_CHECKING:
    from .factory import APIServer, StorageSet
    from .watchcache import WatchCache

log = logging.getLogger("k3trio.apiserver.crd")

__all__ = ["CRDController", "accepted_names", "names_conflict"]

Obj = dict[str, Any]
GROUP = "apiextensions.k8s.io"
#: Seconds before re-checking a CRD whose custom resources are still being finalized.
CLEANUP_RETRY = 2.0


def accepted_names(crd: Obj) -> Obj:
    """The spec's names with upstream's defaults (singular, listKind) filled in."""
    names = dict((crd.get("spec") or {}).get("names") or {})
    kind = names.get("kind", "")
    names.setdefault("singular", kind.lower())
    if not names.get("singular"):
        names["singular"] = kind.lower()
    names.setdefault("listKind", kind + "List")
    return names


def _name_set(names: Obj) -> tuple[set[str], set[str]]:
    """(resource-ish names, kind names)."""
    resources = {names.get("plural", ""), names.get("singular", "")} | set(names.get("shortNames") or [])
    kinds = {names.get("kind", ""), names.get("listKind", "")}
    return {r for r in resources if r}, {k for k in kinds if k}


def names_conflict(crd: Obj, others: list[Obj], builtin_resources: set[tuple[str, str]]) -> str:
    """Why ``crd``'s names cannot be accepted ("" when they can)."""
    spec = crd.get("spec") or {}
    group = spec.get("group", "")
    names = accepted_names(crd)
    if (group, names.get("plural", "")) in builtin_resources:
        return f'"{names.get("plural")}" is already in use'
    mine_res, mine_kinds = _name_set(names)
    own = (crd.get("metadata") or {}).get("name")
    for other in others:
        if (other.get("metadata") or {}).get("name") == own:
            continue
        if (other.get("spec") or {}).get("group") != group:
            continue
        theirs = (other.get("status") or {}).get("acceptedNames") or {}
        if not theirs:
            continue
        res, kinds = _name_set(theirs)
        for value in sorted(mine_res & res):
            return f'"{value}" is already in use'
        for value in sorted(mine_kinds & kinds):
            return f'"{value}" is already in use'
    return ""


def _now() -> str:
    return _meta.format_time(datetime.now(UTC))


class CRDController:
    """Keeps the served registry in line with the stored CRDs (see the module docstring)."""

    def __init__(self, storages: StorageSet) -> None:
        self.storages = storages
        self._dirty: set[str] = set()
        self._wake = trio.Event()
        #: name -> the CRD spec currently served.
        self._served: dict[str, Obj] = {}
        self._builtin = {(i.group, i.resource) for i in storages.registry.resources if not i.custom}

    # -- wiring --------------------------------------------------------------------------------
    def _info(self) -> Any:
        info = self.storages.registry.get(GROUP, "v1", "customresourcedefinitions")
        assert info is not None
        return info

    def _cache(self) -> WatchCache:
        return self.storages.cache(self._info())

    def _ctx(self) -> RequestContext:
        return RequestContext(user=SYSTEM, field_manager="kube-apiserver")

    async def load(self, api: APIServer | None = None) -> None:
        """Serve the CRDs already stored (a post-start hook, before requests are served)."""
        cache = self._cache()
        await cache.wait_ready()
        for obj in list(cache.items()):
            await self._sync_safe(obj.name)

    async def run(self, api: APIServer | None = None) -> None:
        """Watch CRDs and sync each changed one until cancelled."""
        cache = self._cache()
        await cache.wait_ready()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._worker)
            while True:
                watcher, _ = cache.watch(resource_version=None)
                with watcher:
                    # Start from a full pass: anything may have changed while unwatched.
                    for obj in cache.items():
                        self.enqueue(obj.name)
                    async for event in watcher.receive:
                        self.enqueue(event.obj.name)
                await trio.sleep(0.2)

    def enqueue(self, name: str) -> None:
        self._dirty.add(name)
        self._wake.set()

    async def _worker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            while self._dirty:
                name = self._dirty.pop()
                await self._sync_safe(name)

    async def _sync_safe(self, name: str) -> None:
        try:
            await self.sync(name)
        except (Conflict, NotFound):
            await trio.sleep(0.05)  # the cache catches up with our own write
            self.enqueue(name)
        except APIError as exc:
            log.warning("CRD %s: %s", name, exc.message)

    # -- one CRD -------------------------------------------------------------------------------
    async def sync(self, name: str) -> None:
        """Bring one CRD's status and serving in line with its stored state."""
        cache = self._cache()
        found = cache.peek(self._info().storage_key("", name))
        if found is None:
            self._stop_serving(name)
            return
        crd = found.obj
        meta = crd.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            if CRD_CLEANUP_FINALIZER in (meta.get("finalizers") or []):
                await self._cleanup(crd)
            return
        others = [o.obj for o in cache.items()]
        conflict = names_conflict(crd, others, self._builtin)
        if conflict:
            await self._write_status(name, lambda c: self._reject_names(c, conflict))
            self._stop_serving(name)
            return
        stored = await self._write_status(name, self._accept)
        self._serve(stored if stored is not None else crd)

    def _accept(self, crd: Obj) -> bool:
        now = _now()
        status = crd.setdefault("status", {})
        changed = False
        names = accepted_names(crd)
        if status.get("acceptedNames") != names:
            status["acceptedNames"] = names
            changed = True
        changed |= set_crd_condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now)
        changed |= set_crd_condition(
            crd, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted", now
        )
        return changed

    def _reject_names(self, crd: Obj, why: str) -> bool:
        now = _now()
        changed = set_crd_condition(crd, "NamesAccepted", "False", "NameConflict", why, now)
        changed |= set_crd_condition(crd, "Established", "False", "NotAccepted", "not all names are accepted", now)
        return changed

    async def _write_status(self, name: str, change: Any) -> Obj | None:
        """Apply ``change(crd) -> changed`` to the stored status; the stored CRD (None: no-op)."""
        storage = self.storages.storage(self._info())
        current = await storage.get_or_none("", name)
        if current is None:
            return None
        obj = current.mutable()
        if not change(obj):
            return current.obj

        def updater(old: Obj | None) -> Obj:
            if old is None:
                raise storage.not_found(name)
            old["status"] = obj.get("status") or {}
            old["metadata"]["resourceVersion"] = str(current.rv)
            return old

        stored, _ = await storage.update("", name, updater, self._ctx(), subresource="status")
        return stored.obj

    # -- serving -------------------------------------------------------------------------------
    def _serve(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        spec = crd.get("spec") or {}
        served = self._served.get(name)
        current = self.storages.registry.get(spec.get("group", ""), _first_served(crd), (spec.get("names") or {}).get("plural", ""))
        if served == spec and current is not None:
            return
        if served is not None and _plural_group(served) != _plural_group(spec):
            self.storages.set_registry(self.storages.registry.without(*_plural_group(served)), _plural_group(served))
        self.storages.set_registry(self.storages.registry.with_crd(crd), _plural_group(spec))
        self._served[name] = spec
        log.info("serving custom resource %s", name)

    def _stop_serving(self, name: str) -> None:
        spec = self._served.pop(name, None)
        if spec is None:
            return
        group, plural = _plural_group(spec)
        info = next((i for i in self.storages.registry.resources if i.group == group and i.resource == plural), None)
        self.storages.set_registry(self.storages.registry.without(group, plural), (group, plural))
        if info is not None and info.stored:
            cache = self.storages._caches.get(info.storage_prefix)
            if cache is not None:
                cache._close_watchers()
        log.info("stopped serving custom resource %s", name)

    # -- deletion ------------------------------------------------------------------------------
    async def _cleanup(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        now = _now()
        await self._write_status(
            name,
            lambda c: set_crd_condition(
                c, "Terminating", "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress", now
            ),
        )
        remaining = await self._delete_instances(crd)
        if remaining:
            await self._write_status(
                name,
                lambda c: set_crd_condition(
                    c, "Terminating", "True", "InstanceDeletionCheck",
                    f"could not confirm zero CustomResources remaining: {remaining} remaining", _now(),
                ),
            )
            await trio.sleep(CLEANUP_RETRY)
            self.enqueue(name)
            return
        storage = self.storages.storage(self._info())

        def updater(old: Obj | None) -> Obj:
            if old is None:
                raise storage.not_found(name)
            meta = old["metadata"]
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CRD_CLEANUP_FINALIZER]
            if not meta["finalizers"]:
                del meta["finalizers"]
                # This write removes the CRD: stop serving first, so nobody sees its
                # resources served after the CRD itself is gone.
                self._stop_serving(name)
            set_crd_condition(old, "Terminating", "True", "InstanceDeletionCompleted", "removed all instances", _now())
            return old

        await storage.update("", name, updater, self._ctx())

    async def _delete_instances(self, crd: Obj) -> int:
        """Delete every custom resource of ``crd``; how many are still there afterwards."""
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        info = next((i for i in self.storages.registry.resources if i.group == group and i.resource == plural), None)
        if info is None:
            # Not served (names never accepted): delete straight from the store prefix.
            prefix = f"/registry/{group}/{plural}/"
            result = await self.storages.store.list(prefix)
            for kv in result.kvs:
                try:
                    await self.storages.store.delete(kv.key)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            return 0
        storage = self.storages.storage(info)
        page = await storage.list("")
        remaining = 0
        for obj in page.items:
            try:
                _, deleted = await storage.delete(obj.namespace, obj.name, {}, self._ctx())
            except NotFound:
                continue
            except APIError as exc:
                log.warning("deleting %s %s/%s: %s", plural, obj.namespace, obj.name, exc.message)
                remaining += 1
                continue
            if not deleted:
                remaining += 1
        return remaining


def _plural_group(spec: Obj) -> tuple[str, str]:
    return spec.get("group", ""), (spec.get("names") or {}).get("plural", "")


def _first_served(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("served"):
            return str(v.get("name", ""))
    return ""
