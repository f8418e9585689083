"""Assembling the API server: storages, watch caches, plug-ins, the ASGI app, background work.

``build_api(store=..., pki=..., config=...)`` returns an :class:`APIServer` whose ``app``
is served by :func:`~.serve.serve_https` and whose ``run()`` owns the background tasks
(one watch cache per stored resource, the CRD controller, bootstrap). Start ``run`` with
``await nursery.start(api.run)`` before serving: it reports ready once the caches of the
built-in resources are filled and bootstrap objects exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import trio

from ..api.errors import MethodNotSupported
from ..api.registry import BUILTIN, Registry, ResourceInfo
from ..store import Backend
from .handlers.common import Request
from .handlers.read import handle_get, handle_list
from .handlers.subresources import handle_binding, handle_eviction, handle_scale
from .handlers.watch import handle_watch
from .handlers.write import handle_create, handle_delete, handle_deletecollection, handle_patch, handle_update
from .interfaces import Authenticator, Authorizer, FieldManager, MutatingAdmission, ValidatingAdmission
from .storage.context import Plugins
from .storage.resource import ResourceStorage
from .storage.strategy import CustomResourceStrategy, strategy_for
from .watchcache import CacheSet, WatchCache

log = logging.getLogger("k3trio.apiserver")

__all__ = ["APIServer", "StorageSet", "build_api"]

_MAIN_VERBS = {
    "get": handle_get,
    "list": handle_list,
    "watch": handle_watch,
    "create": handle_create,
    "update": handle_update,
    "patch": handle_patch,
    "delete": handle_delete,
    "deletecollection": handle_deletecollection,
}
_STATUS_VERBS = {"get": handle_get, "update": handle_update, "patch": handle_patch}


class StorageSet:
    """The live registry snapshot and one storage + watch cache per stored resource."""

    def __init__(self, store: Backend, plugins: Plugins, registry: Registry = BUILTIN) -> None:
        self.store = store
        self.plugins = plugins
        self.registry = registry
        self._storages: dict[tuple[str, str], ResourceStorage] = {}
        self._caches: dict[str, WatchCache] = {}
        self._nursery: trio.Nursery | None = None
        self.objects = CacheSet(self._cache_for_name)
        #: TLS context for dialing kubelets (``handlers.podproxy.kubelet_client_context``).
        self.kubelet_tls: Any = None

    # -- lookups -------------------------------------------------------------------------------
    def _cache_for_name(self, resource: str) -> WatchCache | None:
        name, _, group = resource.partition(".")
        for info in self.registry.resources:
            if info.group == group and info.resource == name and info.stored:
                return self._caches.get(info.storage_prefix)
        return None

    def _storage_info(self, info: ResourceInfo) -> ResourceInfo:
        """The version objects are stored at (the storage talks in that version)."""
        if info.storage_version and info.storage_version != info.api_version:
            group, _, version = info.storage_version.rpartition("/")
            stored = self.registry.get(group, version, info.resource)
            if stored is not None:
                return stored
        return info

    def storage(self, info: ResourceInfo) -> ResourceStorage:
        key = (info.group, info.resource)
        existing = self._storages.get(key)
        if existing is not None:
            return existing
        sinfo = self._storage_info(info)
        if sinfo.custom:
            strategy: Any = CustomResourceStrategy(sinfo, _crd_schema(sinfo))
        else:
            strategy = strategy_for(sinfo)
        cache = self._caches.get(sinfo.storage_prefix)
        if cache is None:
            cache = WatchCache(self.store, sinfo.storage_list_prefix(""))
            self._caches[sinfo.storage_prefix] = cache
            if self._nursery is not None:
                self._nursery.start_soon(cache.run)
        namespaces = None if (info.group, info.resource) == ("", "namespaces") else self._namespaces()
        if sinfo.custom:
            cache.set_on_decode(strategy.on_read)
        storage = ResourceStorage(sinfo, self.store, strategy, self.plugins, namespaces=namespaces, cache=cache)
        self._storages[key] = storage
        return storage

    def set_registry(self, registry: Registry, changed: tuple[str, str] | None = None) -> None:
        """Serve ``registry`` from now on; storages of ``changed`` (group, resource) are rebuilt
        on next use (their schema or versions changed). Watch caches are kept."""
        self.registry = registry
        if changed is not None:
            self._storages.pop(changed, None)

    def _namespaces(self) -> ResourceStorage | None:
        info = self.registry.get("", "v1", "namespaces")
        return None if info is None else self.storage(info)

    def cache(self, info: ResourceInfo) -> WatchCache:
        cache = self.storage(info).cache
        assert cache is not None
        return cache

    # -- dispatch ------------------------------------------------------------------------------
    async def dispatch(self, req: Request) -> None:
        info = req.resource
        ri = req.info
        sub = ri.subresource
        if not info.stored:
            raise MethodNotSupported(info.resource, ri.verb, info.group)
        if info.custom and ri.verb == "create" and ((info.crd or {}).get("metadata") or {}).get("deletionTimestamp"):
            from ..api.errors import APIError

            raise APIError(
                "create not allowed while custom resource definition is terminating", code=405, reason="MethodNotAllowed",
            )
        storage = self.storage(info)
        if not sub:
            handler = _MAIN_VERBS.get(ri.verb)
            if handler is None or (ri.verb not in info.verbs and not (ri.verb == "watch" and "watch" in info.verbs)):
                raise MethodNotSupported(info.resource, ri.verb, info.group)
            await handler(req, storage)
            return
        if info.group == "" and info.resource == "pods" and sub in ("log", "exec", "attach", "portforward"):
            # Served by the pod's kubelet (handlers.podproxy).
            from .handlers.podproxy import handle_pod_subresource

            await handle_pod_subresource(req, self)
            return
        if ri.verb not in ("get", "update", "patch", "create"):
            raise MethodNotSupported(f"{info.resource}/{sub}", ri.verb, info.group)
        subinfo = info.subresource(sub)
        if subinfo is None:
            raise _not_found()
        if sub in ("status", "finalize", "ephemeralcontainers", "resize", "approval"):
            handler = _STATUS_VERBS.get(ri.verb)
            if handler is None:
                raise MethodNotSupported(f"{info.resource}/{sub}", ri.verb, info.group)
            await handler(req, storage)
            return
        if sub == "scale":
            await handle_scale(req, storage)
            return
        if sub == "binding" and ri.verb == "create":
            await handle_binding(req, storage)
            return
        if sub == "eviction" and ri.verb == "create":
            await handle_eviction(req, storage)
            return
        raise MethodNotSupported(f"{info.resource}/{sub}", ri.verb, info.group)

    # -- background ----------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every watch cache (built-in stored resources start at once)."""
        async with trio.open_nursery() as nursery:
            for info in self.registry.preferred():
                if info.stored:
                    self.storage(info)
            for cache in list(self._caches.values()):
                await nursery.start(cache.run)
            # Caches created from now on (custom resources) start as they are made.
            self._nursery = nursery
            task_status.started()


def _crd_schema(info: ResourceInfo) -> dict[str, Any] | None:
    crd = info.crd
    if not crd:
        return None
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("name") == info.version:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, dict) else None
    return None


def _not_found() -> Exception:
    from ..api.errors import APIError

    return APIError("the server could not find the requested resource", code=404, reason="NotFound")


class APIServer:
    """The assembled server: ``app`` (ASGI) and ``run`` (background tasks).

    ``post_start`` hooks (``async hook(api)``) run once the caches are filled, in order;
    ``tasks`` (``async task(api)``) then start and run until cancelled, each
    restarted with backoff when it fails so one broken loop never takes the server down.
    """

    def __init__(
        self,
        app: Any,
        storages: StorageSet,
        post_start: Sequence[Callable[..., Any]] = (),
        tasks: Sequence[Callable[..., Any]] = (),
    ) -> None:
        self.app = app
        self.storages = storages
        self.post_start = list(post_start)
        self.tasks = list(tasks)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.storages.run)
            for hook in self.post_start:
                await hook(self)
            for task in self.tasks:
                await nursery.start(self._keep_running, task)
            task_status.started()

    async def _keep_running(self, task: Callable[..., Any], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        delay = 0.5
        while True:
            try:
                await task(self)
                return
            except Exception:
                log.exception("API server background task %s failed; restarting", getattr(task, "__name__", task))
            await trio.sleep(delay)
            delay = min(delay * 2, 30.0)


def build_api(
    *,
    store: Backend,
    health: Callable[[str], Any],
    config: Any = None,
    pki: Any = None,
    registry: Registry = BUILTIN,
    authenticators: Sequence[Authenticator] = (),
    authorizer: Authorizer | None = None,
    mutating: Sequence[MutatingAdmission] = (),
    validating: Sequence[ValidatingAdmission] = (),
    field_manager: FieldManager | None = None,
    service_allocator: Any = None,
    server_address: str | None = None,
    bootstrap: bool = True,
) -> APIServer:
    """Build the API server over ``store``.

    ``config`` (a ``ServerConfig``) gives the service CIDR, node-port range and addresses for
    bootstrap; ``pki`` is kept for the parts that sign tokens.
    """
    from .app import APIServerApp

    plugins = Plugins(
        mutating=list(mutating), validating=list(validating), field_manager=field_manager,
        service_allocator=service_allocator,
    )
    storages = StorageSet(store, plugins, registry)
    app = APIServerApp(
        health, storages, authenticators=authenticators, authorizer=authorizer, server_address=server_address,
    )
    hooks: list[Callable[..., Any]] = []
    if bootstrap:
        from .bootstrap import bootstrap as _bootstrap

        async def post_start(api: APIServer) -> None:
            await _bootstrap(api.storages, config)

        hooks.append(post_start)
    return APIServer(app, storages, hooks)
