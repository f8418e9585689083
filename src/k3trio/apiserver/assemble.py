"""The production API server: every part wired together from the server's PKI and config.

:func:`build_default_api` is what ``k3trio server`` runs. It builds, over one
:class:`~.factory.StorageSet` (whose watch caches are the ``ObjectSource`` every plug-in
reads):

- authentication: client certificates, the node join secret as a static token,
  service-account JWTs (issuer ``https://kubernetes.default.svc.<cluster-domain>``, audiences
  that issuer and ``https://kubernetes.default.svc.cluster.local``), bootstrap tokens;
  ``Impersonate-*`` headers authorized by RBAC;
- authorization: RBAC over the watch caches, with the bootstrap policy created at start and
  ClusterRole aggregation kept current by a background task;
- admission: the default plug-in chain in upstream order;
- the Service IP / node-port allocator, rebuilt from the stored services at start;
- ``metadata.managedFields`` and server-side apply (custom kinds use their CRD schema);
- the never-stored resources (TokenRequest, reviews, componentstatuses) and OIDC discovery;
- the CRD controller that serves custom resources as CRDs come and go;
- the supervisor endpoints agents join through (``supervisor_api``), in front of the API.

Parts that have not landed yet are skipped with a log line (each has a named hook below),
so the server still starts with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..api.registry import BUILTIN, Registry
from ..store import Backend
from .factory import APIServer, StorageSet, _crd_schema
from .interfaces import UserInfo
from .storage.context import Plugins

log = logging.getLogger("k3trio.apiserver")

__all__ = ["build_default_api", "service_account_issuer", "api_audiences", "node_token_users"]

#: The audience K3s-style clients ask for regardless of the configured cluster domain.
STANDARD_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
#: The identity a node join secret authenticates as (may create CSRs and read what joining needs).
NODE_JOIN_USER = UserInfo("node", groups=("system:bootstrappers", "system:bootstrappers:k3trio"))


def service_account_issuer(cluster_domain: str) -> str:
    return f"https://kubernetes.default.svc.{cluster_domain or 'cluster.local'}"


def api_audiences(issuer: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((issuer, STANDARD_AUDIENCE)))


def node_token_users(token: str | None) -> dict[str, UserInfo]:
    """Static bearer tokens: the secret part of the join token (and the full token) -> node."""
    if not token:
        return {}
    from ..pki import parse_token

    try:
        parsed = parse_token(token)
    except Exception:  # a malformed stored token must not stop the server
        log.warning("the node join token is malformed; it will not authenticate API requests")
        return {}
    out = {token: NODE_JOIN_USER}
    if parsed.secret:
        out[parsed.secret] = NODE_JOIN_USER
    return out


def _node_port_range(config: Any) -> tuple[int, int]:
    text = str(getattr(config, "service_node_port_range", "") or "30000-32767")
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        return 30000, 32767


def _server_url(config: Any) -> str:
    address = getattr(config, "advertise_address", None) or getattr(config, "node_ip", None)
    if not address:
        from ..netutil import primary_ipv4

        address = primary_ipv4()
    port = int(getattr(config, "https_listen_port", 6443) or 6443)
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def build_default_api(
    store: Backend,
    pki: Any,
    config: Any,
    health: Callable[[str], Any],
    *,
    registry: Registry = BUILTIN,
    extra_static_tokens: Mapping[str, UserInfo] | None = None,
) -> APIServer:
    """The API server ``k3trio server`` runs.

    Args:
        store: the revisioned store backend.
        pki: the ``ServerPKI`` (service-account keys, join token).
        config: the ``ServerConfig`` (service CIDR, node-port range, cluster domain, addresses).
        health: ``endpoint -> checks`` for ``/healthz``, ``/livez``, ``/readyz``.
        extra_static_tokens: more token -> user entries (tests, loopback credentials).

    Returns:
        The :class:`APIServer`; ``await nursery.start(api.run)`` before serving ``api.app``.
    """
    from .app import APIServerApp
    from .handlers.virtual import VirtualResources

    plugins = Plugins()
    storages = StorageSet(store, plugins, registry)
    if pki is not None:
        from .handlers.podproxy import kubelet_client_context

        storages.kubelet_tls = kubelet_client_context(pki)
    objects = storages.objects
    issuer = service_account_issuer(getattr(config, "cluster_domain", "cluster.local"))
    static = dict(node_token_users(getattr(pki, "token", None)))
    static.update(extra_static_tokens or {})

    # -- authentication and authorization (hook: authn.setup.build_auth) -------------------------
    authenticator: Any = None
    authorizer: Any = None
    token_issuer: Any = None
    extra_paths: dict[str, Any] = {}
    try:
        from .authn.setup import build_auth
    except ImportError:  # pragma: no cover - authn package missing
        log.warning("authentication package unavailable: only client certificates are accepted")
    else:
        auth = build_auth(
            objects=objects,
            service_account_key_pem=pki.service_account_key_pem,
            service_account_public_pem=pki.service_account_public_pem,
            server_url=_server_url(config),
            issuer=issuer,
            api_audiences=api_audiences(issuer),
            static_tokens=static,
        )
        authenticator, authorizer, token_issuer = auth.authenticator, auth.authorizer, auth.token_issuer
        extra_paths = dict(auth.extra_paths)

    # -- admission (hook: admission.default_plugins) ---------------------------------------------
    try:
        from .admission import default_plugins
    except ImportError as exc:  # pragma: no cover - admission package missing or incomplete
        log.warning("admission plug-ins unavailable (%s): running without admission", exc)
    else:
        mutating, validating = default_plugins(
            objects,
            quota_writer=_quota_writer(storages),
            namespace_live_get=_namespace_live_get(storages),
        )
        plugins.mutating = mutating
        plugins.validating = validating

    # -- services (hook: allocators.ServiceAllocator) --------------------------------------------
    allocator: Any = None
    try:
        from .allocators import ServiceAllocator
    except ImportError:  # pragma: no cover
        log.warning("service allocator unavailable: services get no cluster IPs")
    else:
        allocator = ServiceAllocator(
            str(getattr(config, "service_cidr", "10.43.0.0/16")), _node_port_range(config), objects
        )
        plugins.service_allocator = allocator

    # -- managed fields and server-side apply (hook: api.ssa.FieldManager) -----------------------
    try:
        from ..api.ssa import FieldManager
    except ImportError:  # pragma: no cover
        log.warning("server-side apply unavailable")
    else:
        plugins.field_manager = FieldManager(
            schema_for=_crd_schema_provider(storages), reset_fields=_reset_fields(storages)
        )

    virtual = VirtualResources(
        storages, objects, authenticator=authenticator, authorizer=authorizer,
        token_issuer=token_issuer, health=health,
    )
    app = APIServerApp(
        health,
        storages,
        authenticators=[authenticator] if authenticator is not None else [],
        authorizer=authorizer,
        extra_paths=extra_paths,
        virtual=virtual,
        server_address=_server_url(config).removeprefix("https://"),
    )

    from .bootstrap import bootstrap as _bootstrap

    async def bootstrap_objects(api: APIServer) -> None:
        await _bootstrap(api.storages, config)

    async def rebuild_allocations(api: APIServer) -> None:
        if allocator is not None:
            allocator.rebuild()

    from .crd_controller import CRDController

    crds = CRDController(storages)
    # The agents' join endpoints (/cacerts, /v1-k3trio/...) answer in front of the API.
    from .supervisor_api import SupervisorAPI

    front = SupervisorAPI(app, storages, pki, config)
    return APIServer(
        front,
        storages,
        post_start=[crds.load, rebuild_allocations, bootstrap_objects],
        tasks=[crds.run, run_cluster_role_aggregation, front.passwords.release_deleted_nodes],
    )


# -- small adapters -------------------------------------------------------------------------------


def _crd_schema_provider(storages: StorageSet) -> Callable[[str, str, str], Any]:
    def schema_for(group: str, version: str, kind: str) -> Any:
        info = storages.registry.for_kind(group, version, kind)
        if info is None or not info.custom:
            return None
        return _crd_schema(info)

    return schema_for


def _reset_fields(storages: StorageSet) -> Callable[[str, str, str], list[tuple[str, ...]]]:
    """Fields nobody owns: status on main resources with a status subresource, spec on /status."""

    def reset(api_version: str, kind: str, subresource: str) -> list[tuple[str, ...]]:
        if subresource == "status":
            return [("spec",)]
        if subresource:
            return []
        info = storages.registry.for_api_version_kind(api_version, kind)
        if info is not None and info.subresource("status") is not None:
            return [("status",)]
        return []

    return reset


def _quota_writer(storages: StorageSet) -> Callable[..., Any]:
    """``async (quota, used) -> stored quota``: write ``status.used`` with a precondition."""
    from .bootstrap import SYSTEM
    from .storage.context import RequestContext

    async def write(quota: dict[str, Any], used: dict[str, str]) -> dict[str, Any] | None:
        info = storages.registry.get("", "v1", "resourcequotas")
        if info is None:
            return None
        meta = quota.get("metadata") or {}
        rv = str(meta.get("resourceVersion", ""))

        def updater(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise storages.storage(info).not_found(str(meta.get("name", "")))
            old.setdefault("status", {})["used"] = dict(used)
            old["metadata"]["resourceVersion"] = rv
            return old

        stored, _ = await storages.storage(info).update(
            str(meta.get("namespace", "")), str(meta.get("name", "")), updater,
            RequestContext(user=SYSTEM, field_manager="resourcequota-admission"), subresource="status",
        )
        return stored.obj

    return write


def _namespace_live_get(storages: StorageSet) -> Callable[[str], Any]:
    async def get(name: str) -> dict[str, Any] | None:
        info = storages.registry.get("", "v1", "namespaces")
        if info is None:
            return None
        found = await storages.storage(info).get_or_none("", name)
        return None if found is None else found.obj

    return get


# -- ClusterRole aggregation ----------------------------------------------------------------------


async def aggregate_cluster_roles(storages: StorageSet) -> int:
    """Bring every aggregated ClusterRole's rules up to date; returns how many changed."""
    try:
        from .rbac import aggregate_cluster_role
    except ImportError:  # pragma: no cover
        return 0
    from ..api.errors import APIError
    from .bootstrap import SYSTEM
    from .storage.context import RequestContext

    info = storages.registry.get("rbac.authorization.k8s.io", "v1", "clusterroles")
    if info is None:
        return 0
    storage = storages.storage(info)
    assert storage.cache is not None
    roles = [o.obj for o in storage.cache.items()]
    changed = 0
    for role in roles:
        if not role.get("aggregationRule"):
            continue
        rules = aggregate_cluster_role(role, roles)
        if rules is None:
            continue
        name = role["metadata"]["name"]

        def updater(old: dict[str, Any] | None, rules: list[dict[str, Any]] = rules) -> dict[str, Any]:
            if old is None:
                raise storage.not_found(name)
            old["rules"] = rules
            return old

        try:
            await storage.update("", name, updater, RequestContext(user=SYSTEM, field_manager="clusterrole-aggregation-controller"))
            changed += 1
        except APIError as exc:
            log.warning("aggregating cluster role %s: %s", name, exc.message)
    return changed


async def run_cluster_role_aggregation(api: APIServer) -> None:
    """Re-aggregate after every batch of ClusterRole changes (a watch on the cache)."""
    import trio

    storages = api.storages
    info = storages.registry.get("rbac.authorization.k8s.io", "v1", "clusterroles")
    if info is None:
        return
    cache = storages.cache(info)
    await cache.wait_ready()
    while True:
        watcher, _ = cache.watch(resource_version=cache.revision or 1)
        with watcher:
            await aggregate_cluster_roles(storages)
            async for _event in watcher.receive:
                # Coalesce a burst of changes into one pass.
                await trio.sleep(0.05)
                while True:
                    try:
                        watcher.receive.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                await aggregate_cluster_roles(storages)
        await trio.sleep(0.5)
