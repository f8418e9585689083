"""The API server's ASGI application: request in, response out.

Pipeline per request: health/version (anonymous) -> authenticate -> RequestInfo ->
authorize -> discovery/OpenAPI -> resource handler by verb. Meaning lives in
``k3trio.api``, state in the store behind :class:`~.storage.resource.ResourceStorage`.
Every failure is an ``APIError`` turned into a ``Status`` response in exactly one place
(``__call__``).
"""

from __future__ import annotations

import json
import logging
import platform
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .. import version
from ..api.errors import APIError, Forbidden, InternalError, MethodNotSupported, NotFound, Unauthorized
from ..api.registry import BUILTIN, Registry
from ..store import StoreError
from .handlers.common import Request, send_bytes, send_error
from .handlers.read import handle_get, handle_list
from .handlers.watch import handle_watch
from .handlers.write import handle_create, handle_delete, handle_deletecollection, handle_patch, handle_update
from .health import Check, render_health
from .interfaces import ANONYMOUS, AuthorizationAttributes, Authenticator, Authorizer, UserInfo
from .negotiation import negotiate_output
from .request_info import request_info
from .serve import PEER_KEY

if TYPE_CHECKING:
    from .factory import StorageSet

log = logging.getLogger("k3trio.apiserver")

#: Paths anyone may read without credentials.
PUBLIC_PATHS = frozenset(
    ("/healthz", "/livez", "/readyz", "/version", "/.well-known/openid-configuration", "/openid/v1/jwks")
)

HealthSource = Callable[[str], Sequence[Check]]
#: Extra non-resource handlers: path -> async fn(scope, receive, send, user).
ExtraHandler = Callable[..., Any]


def version_info() -> dict[str, str]:
    """The ``version.Info`` object served on ``/version``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return {
        "major": version.KUBERNETES_MAJOR,
        "minor": version.KUBERNETES_MINOR,
        "emulationMajor": version.KUBERNETES_MAJOR,
        "emulationMinor": version.KUBERNETES_MINOR,
        "minCompatibilityMajor": version.KUBERNETES_MAJOR,
        "minCompatibilityMinor": str(int(version.KUBERNETES_MINOR) - 1),
        "gitVersion": version.GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}"
        f".{sys.version_info.micro}",
        "compiler": sys.implementation.name,
        "platform": f"linux/{arch}",
    }


def _peer_user(peer: Any) -> UserInfo | None:
    if peer is None:
        return None
    groups = tuple(peer.groups)
    if "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return UserInfo(peer.user, groups=groups)


class APIServerApp:
    """The ASGI app.

    Args:
        health: checks for ``healthz``/``livez``/``readyz``.
        storages: the resource storages (None: only health/version are served).
        authenticators: tried in order after the client certificate.
        authorizer: None allows every authenticated request.
        extra_paths: non-resource handlers (e.g. OIDC discovery) by exact path.
        virtual: handlers of the resources that are never stored (``handlers.virtual``).
    """

    def __init__(
        self,
        health: HealthSource,
        storages: StorageSet | None = None,
        *,
        authenticators: Sequence[Authenticator] = (),
        authorizer: Authorizer | None = None,
        extra_paths: dict[str, ExtraHandler] | None = None,
        server_address: str | None = None,
        virtual: Any = None,
    ) -> None:
        self.health = health
        self.storages = storages
        self.authenticators = list(authenticators)
        self.authorizer = authorizer
        self.extra_paths = dict(extra_paths or {})
        self.server_address = server_address
        #: ``VirtualResources`` (TokenRequest, reviews) or None.
        self.virtual = virtual
        self._version_body = json.dumps(version_info(), indent=2).encode()

    @property
    def registry(self) -> Registry:
        return self.storages.registry if self.storages is not None else BUILTIN

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            await self._dispatch(scope, receive, send)
        except APIError as exc:
            await send_error(send, exc)
        except StoreError as exc:
            log.warning("store error serving %s %s: %s", scope.get("method"), scope.get("path"), exc)
            await send_error(send, InternalError(str(exc)))
        except Exception as exc:
            log.exception("internal error serving %s %s", scope.get("method"), scope.get("path"))
            await send_error(send, InternalError(str(exc)))

    async def _authenticate(self, scope: dict[str, Any], headers: dict[str, str]) -> UserInfo | None:
        peer = scope.get(PEER_KEY)
        user = _peer_user(peer)
        if user is not None:
            return user
        for authn in self.authenticators:
            found = await authn.authenticate(headers, peer)
            if found is not None:
                return found
        return None

    def _impersonate(self, user: UserInfo, scope: dict[str, Any]) -> UserInfo:
        """Apply ``Impersonate-*`` headers (authorized part by part) when the request has any."""
        if self.authorizer is None:
            return user
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        if not any(k.lower().startswith("impersonate-") for k, _ in raw):
            return user
        from .authn.impersonation import apply_impersonation

        return apply_impersonation(user, raw, self.authorizer)

    def _authorize(self, user: UserInfo, info: Any) -> None:
        if self.authorizer is None or "system:masters" in user.groups:
            return
        decision = self.authorizer.authorize(AuthorizationAttributes.from_request(user, info))
        if decision.allowed:
            return
        if info.is_resource_request:
            raise Forbidden.for_request(
                user=user.name, verb=info.verb, resource=info.resource, group=info.api_group,
                namespace=info.namespace, name=info.name, subresource=info.subresource, reason=decision.reason,
            )
        raise Forbidden.for_path(user=user.name, verb=info.verb, path=info.path, reason=decision.reason)

    async def _dispatch(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        raw_query = scope.get("query_string", b"").decode()
        query = parse_qs(raw_query, keep_blank_values=True) if raw_query else {}
        head, _, rest = path.lstrip("/").partition("/")
        if head in ("healthz", "livez", "readyz"):
            checks = self.health(head)
            status, body = render_health(
                head, checks, verbose="verbose" in query, exclude=query.get("exclude", ()), only=rest or None,
            )
            await send_bytes(send, status, body.encode(), "text/plain; charset=utf-8")
            return
        if path == "/version":
            await send_bytes(send, 200, self._version_body, "application/json")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        user = await self._authenticate(scope, headers)
        if user is None:
            if path not in PUBLIC_PATHS:
                raise Unauthorized()
            user = ANONYMOUS
        else:
            user = self._impersonate(user, scope)
        method: str = scope["method"]
        info = request_info(method, path, query)
        self._authorize(user, info)
        extra = self.extra_paths.get(path)
        if extra is not None:
            await extra(scope, receive, send, user)
            return
        if not info.is_resource_request:
            await self._non_resource(path, raw_query, headers, send)
            return
        storages = self.storages
        if storages is None:
            raise _not_found()
        registry = storages.registry
        resource = registry.get(info.api_group, info.api_version, info.resource)
        if resource is None:
            raise _not_found()
        output = negotiate_output(headers.get("accept", ""))
        req = Request(scope, receive, send, info, user, query, headers, resource, output)
        virtual = self.virtual
        if virtual is not None and virtual.handles(req):
            await virtual.dispatch(req)
            return
        await storages.dispatch(req)

    async def _non_resource(self, path: str, raw_query: str, headers: dict[str, str], send: Any) -> None:
        from . import discovery

        resp = discovery.handle(
            path, self.registry, accept=headers.get("accept", ""), query=raw_query,
            if_none_match=headers.get("if-none-match", ""), server_address=self.server_address,
        )
        if resp is None:
            raise _not_found()
        await send_bytes(send, resp.status, resp.body, resp.content_type, extra=resp.headers)


def _not_found() -> APIError:
    return APIError("the server could not find the requested resource", code=404, reason="NotFound")


VERB_HANDLERS = {
    "get": handle_get,
    "list": handle_list,
    "watch": handle_watch,
    "create": handle_create,
    "update": handle_update,
    "patch": handle_patch,
    "delete": handle_delete,
    "deletecollection": handle_deletecollection,
}


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_ = (MethodNotSupported, NotFound)
