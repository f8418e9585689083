"""The review APIs: create-only virtual resources that ask the authenticator or authorizer.

=============================  ====================================  =====================
kind                           group/version                         asks
=============================  ====================================  =====================
TokenReview                    authentication.k8s.io/v1              who is this token?
SelfSubjectReview              authentication.k8s.io/v1              who am I?
SubjectAccessReview            authorization.k8s.io/v1               may user X do Y?
LocalSubjectAccessReview       authorization.k8s.io/v1 (namespaced)  same, in a namespace
SelfSubjectAccessReview        authorization.k8s.io/v1               may I do Y?
SelfSubjectRulesReview         authorization.k8s.io/v1               what may I do in ns?
=============================  ====================================  =====================

:func:`handle_review` is the single entry point: the caller has authenticated and
authorized the ``create`` itself and passes the decoded body; the result is the response
object (the request with ``status`` filled in, as kube-apiserver returns it). Invalid
bodies raise ``Invalid``/``BadRequest`` with upstream's messages. Nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..api.errors import BadRequest, FieldError, InternalError, Invalid
from ..api.meta import format_time
from .authn.base import InvalidToken
from .interfaces import AuthorizationAttributes, Authorizer, UserInfo

__all__ = ["REVIEW_KINDS", "handle_review"]

AUTHN = "authentication.k8s.io"
AUTHZ = "authorization.k8s.io"
REVIEW_KINDS = {
    "TokenReview": AUTHN,
    "SelfSubjectReview": AUTHN,
    "SubjectAccessReview": AUTHZ,
    "LocalSubjectAccessReview": AUTHZ,
    "SelfSubjectAccessReview": AUTHZ,
    "SelfSubjectRulesReview": AUTHZ,
}


async def handle_review(
    kind: str,
    body: dict[str, Any],
    *,
    user: UserInfo,
    authenticator: Any,
    authorizer: Authorizer,
    namespace: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Answer one review ``create``.

    Args:
        kind: one of :data:`REVIEW_KINDS`.
        body: the decoded request object.
        user: the requesting user (the subject of the Self* reviews).
        authenticator: the server's ``UnionAuthenticator`` (TokenReview uses its
            ``authenticate_token``).
        authorizer: the server's authorizer.
        namespace: the request's namespace (LocalSubjectAccessReview only).

    Raises:
        Invalid, BadRequest: an invalid review body.
    """
    if kind not in REVIEW_KINDS:
        raise BadRequest(f"unknown review kind {kind!r}")
    if kind == "TokenReview":
        return await _token_review(body, authenticator)
    if kind == "SelfSubjectReview":
        return _self_subject_review(user, now)
    if kind == "SelfSubjectRulesReview":
        return _self_subject_rules_review(body, user, authorizer)
    return _access_review(kind, body, user, authorizer, namespace)


def _response(kind: str, body: Mapping[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if v is not None}
    return {
        "kind": kind,
        "apiVersion": f"{REVIEW_KINDS[kind]}/v1",
        "metadata": meta,
        "spec": body.get("spec") or {},
        "status": status,
    }


# -- authentication -----------------------------------------------------------------------------


async def _token_review(body: dict[str, Any], authenticator: Any) -> dict[str, Any]:
    spec = body.get("spec") or {}
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        raise BadRequest("token is required for TokenReview in authentication")
    requested = [a for a in (spec.get("audiences") or []) if isinstance(a, str)]
    status: dict[str, Any] = {}
    result = None
    try:
        result = await authenticator.authenticate_token(token, requested or None)
    except InvalidToken as exc:
        status["error"] = str(exc)
    if result is not None and requested and not set(requested) & set(result.audiences):
        raise InternalError("error validating audiences")
    if result is not None:
        status = {"authenticated": True, "user": result.user.to_json()}
        if result.audiences:
            status["audiences"] = list(result.audiences)
    else:
        status = {"user": {}, **status}
    return _response("TokenReview", body, status)


def _self_subject_review(user: UserInfo, now: datetime | None) -> dict[str, Any]:
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": f"{AUTHN}/v1",
        "metadata": {"creationTimestamp": format_time(now or datetime.now(UTC))},
        "status": {"userInfo": user.to_json()},
    }


# -- authorization ------------------------------------------------------------------------------


def _go_struct(name: str, value: Mapping[str, Any], fields: Sequence[tuple[str, str]]) -> str:
    """A value as Go's ``%#v`` prints an internal API struct (for field error messages)."""
    parts = [f"{go}:{json.dumps(str(value.get(js) or ''))}" for go, js in fields]
    return f"authorization.{name}{{{', '.join(parts)}}}"


_NON_RESOURCE_FIELDS = (("Path", "path"), ("Verb", "verb"))


def _invalid_raw(path: str, rendered: str, detail: str) -> FieldError:
    """An Invalid field error whose value is printed as-is (a Go struct), not quoted."""
    return FieldError("FieldValueInvalid", path, detail=f"{rendered}: {detail}")


def _spec_errors(spec: Mapping[str, Any], *, self_review: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    res, non_res = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res is not None and non_res is not None:
        errors.append(_invalid_raw(
            "spec.nonResourceAttributes",
            _go_struct("NonResourceAttributes", non_res, _NON_RESOURCE_FIELDS),
            "cannot be specified in combination with resourceAttributes",
        ))  # fmt: skip
    if res is None and non_res is None:
        errors.append(FieldError.invalid(
            "spec.resourceAttributes", "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ))  # fmt: skip
    if not self_review and not spec.get("user") and not spec.get("groups"):
        errors.append(FieldError.invalid(
            "spec.user", spec.get("user") or "", "at least one of user or group must be specified"))  # fmt: skip
    return errors


def _meta_is_empty(meta: Mapping[str, Any], *, except_namespace: bool = False) -> bool:
    for key, value in meta.items():
        if key in ("managedFields", "creationTimestamp") or value in (None, "", {}, []):
            continue
        if except_namespace and key == "namespace":
            continue
        return False
    return True


def _attributes(user: UserInfo, spec: Mapping[str, Any]) -> AuthorizationAttributes:
    res = spec.get("resourceAttributes")
    if res is not None:
        return AuthorizationAttributes(
            user=user,
            verb=str(res.get("verb") or ""),
            resource_request=True,
            api_group=str(res.get("group") or ""),
            api_version=str(res.get("version") or ""),
            resource=str(res.get("resource") or ""),
            subresource=str(res.get("subresource") or ""),
            namespace=str(res.get("namespace") or ""),
            name=str(res.get("name") or ""),
        )
    non_res = spec.get("nonResourceAttributes") or {}
    return AuthorizationAttributes(
        user=user,
        verb=str(non_res.get("verb") or ""),
        resource_request=False,
        path=str(non_res.get("path") or ""),
    )


def _spec_user(spec: Mapping[str, Any]) -> UserInfo:
    extra = spec.get("extra") or {}
    return UserInfo(
        name=str(spec.get("user") or ""),
        uid=str(spec.get("uid") or ""),
        groups=tuple(str(g) for g in (spec.get("groups") or [])),
        extra={str(k): tuple(str(x) for x in (v or [])) for k, v in extra.items()},
    )


def _access_review(
    kind: str, body: dict[str, Any], user: UserInfo, authorizer: Authorizer, namespace: str
) -> dict[str, Any]:
    spec = body.get("spec") or {}
    meta = dict(body.get("metadata") or {})
    self_review = kind == "SelfSubjectAccessReview"
    errors = _spec_errors(spec, self_review=self_review)
    if kind == "LocalSubjectAccessReview":
        if not namespace:
            raise BadRequest(f"namespace is required on this type: {namespace}")
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
        body = {**body, "metadata": meta}
        if not _meta_is_empty(meta, except_namespace=True):
            errors.append(_invalid_raw("metadata", "metav1.ObjectMeta{...}", "must be empty except for namespace"))
        res = spec.get("resourceAttributes")
        if res is not None and (res.get("namespace") or "") != namespace:
            errors.append(FieldError.invalid(
                "spec.resourceAttributes.namespace", res.get("namespace") or "", "must match metadata.namespace"))  # fmt: skip
        if spec.get("nonResourceAttributes") is not None:
            errors.append(_invalid_raw(
                "spec.nonResourceAttributes",
                _go_struct("NonResourceAttributes", spec["nonResourceAttributes"], _NON_RESOURCE_FIELDS),
                "disallowed on this kind of request",
            ))  # fmt: skip
    elif not _meta_is_empty(meta):
        errors.append(_invalid_raw("metadata", "metav1.ObjectMeta{...}", "must be empty"))
    if errors:
        raise Invalid(kind, "", errors, group=AUTHZ)

    subject = user if self_review else _spec_user(spec)
    decision = authorizer.authorize(_attributes(subject, spec))
    status: dict[str, Any] = {"allowed": bool(decision.allowed)}
    if decision.decided and not decision.allowed:
        status["denied"] = True
    if decision.reason:
        status["reason"] = decision.reason
    return _response(kind, body, status)


def _self_subject_rules_review(body: dict[str, Any], user: UserInfo, authorizer: Authorizer) -> dict[str, Any]:
    spec = body.get("spec") or {}
    namespace = spec.get("namespace") or ""
    if not namespace:
        raise BadRequest("no namespace on request")
    rules_and_errors = getattr(authorizer, "rules_and_errors", None)
    if rules_and_errors is not None:
        resource_rules, non_resource_rules, incomplete, error = rules_and_errors(user, namespace)
    else:
        resource_rules, non_resource_rules, incomplete = authorizer.rules_for(user, namespace)
        error = ""
    status: dict[str, Any] = {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": bool(incomplete),
    }
    if error:
        status["evaluationError"] = error
    return {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": f"{AUTHZ}/v1",
        "metadata": {},
        "spec": {},
        "status": status,
    }
