"""Resources that are answered, never stored: TokenRequest, the review APIs, ComponentStatus.

- ``POST .../serviceaccounts/<name>/token``: a TokenRequest, answered with a signed bound
  token (:func:`k3trio.apiserver.tokens.handle_token_request`); 404 when the service account
  does not exist.
- ``POST`` of TokenReview, SelfSubjectReview, SubjectAccessReview, SelfSubjectAccessReview,
  LocalSubjectAccessReview and SelfSubjectRulesReview: the request object with ``status``
  filled in (:func:`k3trio.apiserver.reviews.handle_review`), 201 Created as upstream.
- ``GET componentstatuses[/<name>]``: the deprecated health summary kubectl still shows.

Every handler runs after authentication and authorization of the request itself; the
bodies go through the same negotiation as stored resources.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...api.errors import BadRequest, MethodNotSupported, NotAcceptable, NotFound
from ..interfaces import Authorizer, ObjectSource
from ..negotiation import decode_body
from ..storage.objects import dumps
from .common import Request, read_body, send_bytes

if TYPE_CHECKING:
    from ..factory import StorageSet

__all__ = ["VirtualResources", "COMPONENTS"]

Obj = dict[str, Any]

_REVIEWS = {
    ("authentication.k8s.io", "tokenreviews"): "TokenReview",
    ("authentication.k8s.io", "selfsubjectreviews"): "SelfSubjectReview",
    ("authorization.k8s.io", "subjectaccessreviews"): "SubjectAccessReview",
    ("authorization.k8s.io", "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    ("authorization.k8s.io", "localsubjectaccessreviews"): "LocalSubjectAccessReview",
    ("authorization.k8s.io", "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
}

#: Components reported by ``componentstatuses`` (name -> health check name on /healthz).
COMPONENTS = ("scheduler", "controller-manager", "etcd-0")


def _now() -> datetime:
    return datetime.now(UTC)


async def _decoded_body(req: Request) -> Obj:
    body = decode_body(await read_body(req.receive), req.content_type)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("the body of the request was not a JSON object")
    return body


def _require_plain_output(req: Request) -> None:
    """Reviews and token requests have no Table or metadata-only form: 406, as upstream."""
    if req.output.as_:
        raise NotAcceptable(
            "only the following media types are accepted: application/json, application/yaml, "
            "application/vnd.kubernetes.protobuf"
        )


class VirtualResources:
    """The handlers of non-stored resources for one server.

    Args:
        storages: the storage set (service accounts are read from it consistently).
        objects: the watch-cache view (bound pods, secrets and nodes for TokenRequest).
        authenticator: the server's ``UnionAuthenticator`` (``authenticate_token``), or None.
        authorizer: the server's authorizer, or None (reviews then answer 404).
        token_issuer: a ``k3trio.apiserver.tokens.TokenIssuer``, or None.
        health: ``endpoint -> [(name, failure or None)]`` for componentstatuses.
    """

    def __init__(
        self,
        storages: StorageSet,
        objects: ObjectSource,
        *,
        authenticator: Any = None,
        authorizer: Authorizer | None = None,
        token_issuer: Any = None,
        health: Callable[[str], Any] | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.storages = storages
        self.objects = objects
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.token_issuer = token_issuer
        self.health = health
        self.now = now

    def handles(self, req: Request) -> bool:
        info = req.resource
        if info.group == "" and info.resource == "serviceaccounts" and req.info.subresource == "token":
            return True
        return not info.stored

    async def dispatch(self, req: Request) -> None:
        info = req.resource
        ri = req.info
        key = (info.group, info.resource)
        if info.group == "" and info.resource == "serviceaccounts":
            if ri.verb != "create":
                raise MethodNotSupported("serviceaccounts/token", ri.verb)
            _require_plain_output(req)
            await self._token_request(req)
            return
        kind = _REVIEWS.get(key)
        if kind is not None:
            if ri.verb != "create" or ri.subresource:
                raise MethodNotSupported(info.resource, ri.verb, info.group)
            _require_plain_output(req)
            await self._review(req, kind)
            return
        if key == ("", "componentstatuses"):
            if ri.verb not in ("get", "list") or ri.subresource:
                raise MethodNotSupported(info.resource, ri.verb, info.group)
            await self._component_statuses(req)
            return
        if key == ("", "bindings") and ri.verb == "create":
            from .subresources import handle_binding

            pods = self.storages.registry.get("", "v1", "pods")
            assert pods is not None
            await handle_binding(req, self.storages.storage(pods))
            return
        raise MethodNotSupported(info.resource, ri.verb, info.group)

    # -- TokenRequest --------------------------------------------------------------------------
    async def _token_request(self, req: Request) -> None:
        from ..tokens import handle_token_request

        if self.token_issuer is None:
            raise NotFound("serviceaccounts/token", req.info.name)
        body = await _decoded_body(req)
        kind = body.get("kind") or "TokenRequest"
        if kind != "TokenRequest":
            raise BadRequest(f"Object '{kind}' does not match kind 'TokenRequest'")
        sa_storage = self.storages.storage(req.resource)
        sa = await sa_storage.get(req.info.namespace, req.info.name)
        result = handle_token_request(sa.obj, body, self.objects, self.token_issuer, now=self.now())
        if req.flag("dryRun") or req.query.get("dryRun"):
            result["status"] = {"token": "", "expirationTimestamp": result["status"]["expirationTimestamp"]}
        await send_bytes(req.send, 201, dumps(result), "application/json", req.warnings)

    # -- reviews -------------------------------------------------------------------------------
    async def _review(self, req: Request, kind: str) -> None:
        from ..reviews import handle_review

        if self.authorizer is None and kind != "SelfSubjectReview" and kind != "TokenReview":
            raise NotFound(req.resource.resource, "", req.resource.group)
        body = await _decoded_body(req)
        got_kind = body.get("kind")
        if got_kind and got_kind != kind:
            raise BadRequest(f"Object '{got_kind}' does not match kind '{kind}'")
        result = await handle_review(
            kind,
            body,
            user=req.user,
            authenticator=self.authenticator,
            authorizer=self.authorizer,  # type: ignore[arg-type]
            namespace=req.info.namespace,
            now=self.now(),
        )
        await send_bytes(req.send, 201, dumps(result), "application/json", req.warnings)

    # -- componentstatuses ---------------------------------------------------------------------
    def _component(self, name: str, failures: dict[str, str | None]) -> Obj:
        failure = failures.get(name)
        condition: Obj = {"type": "Healthy", "status": "True" if failure is None else "False"}
        if failure is None:
            condition["message"] = "ok"
        else:
            condition["error"] = failure
        return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name}, "conditions": [condition]}

    async def _component_statuses(self, req: Request) -> None:
        failures: dict[str, str | None] = {}
        if self.health is not None:
            for name, failure in self.health("healthz"):
                failures[name] = failure
        if req.info.name:
            if req.info.name not in COMPONENTS:
                raise NotFound("componentstatuses", req.info.name)
            out: Obj = self._component(req.info.name, failures)
        else:
            out = {
                "kind": "ComponentStatusList",
                "apiVersion": "v1",
                "metadata": {},
                "items": [self._component(n, failures) for n in COMPONENTS],
            }
        if req.output.as_ == "Table":
            from ...api.tables import build_table

            items = out["items"] if "items" in out else [out]
            table = build_table("", "componentstatuses", items, now=self.now(), include_object=req.param("includeObject") or "Metadata")
            table["apiVersion"] = f"meta.k8s.io/{req.output.version}"
            await send_bytes(req.send, 200, dumps(table), req.output.content_type)
            return
        await send_bytes(req.send, 200, dumps(out), "application/json")
