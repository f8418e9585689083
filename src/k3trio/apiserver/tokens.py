"""Issuing bound service-account tokens (TokenRequest) and the OIDC discovery documents.

``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`` takes an
``authentication.k8s.io/v1`` TokenRequest and answers it with ``status.token`` and
``status.expirationTimestamp`` (:func:`handle_token_request`), as kube-apiserver does:

- ``metadata.name``/``namespace`` in the body, when given, must match the URL;
- ``spec.audiences`` defaults to the API audiences, ``spec.expirationSeconds`` to 3600 and
  must be at least 600 and at most 2^32;
- ``spec.boundObjectRef`` may name a Pod (which must run as this service account), a
  Secret or a Node in the core group, optionally with its uid (409 when it differs); a pod
  bound to a node also records the node in the token;
- the token carries ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nbf``, ``jti`` and the
  ``kubernetes.io`` private claims (namespace, serviceaccount, pod/secret/node refs).

The discovery documents (``/.well-known/openid-configuration`` and ``/openid/v1/jwks``) are
pure functions of the issuer and the public keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ..api.errors import BadRequest, Conflict, FieldError, Invalid, NotFound
from ..api.meta import format_time
from .authn import jwt
from .authn.serviceaccount import DEFAULT_ISSUER, service_account_username
from .interfaces import ObjectSource

__all__ = [
    "DEFAULT_API_AUDIENCES",
    "DEFAULT_EXPIRATION_SECONDS",
    "MIN_EXPIRATION_SECONDS",
    "TokenIssuer",
    "handle_token_request",
    "jwks_document",
    "openid_configuration",
]

DEFAULT_API_AUDIENCES = (DEFAULT_ISSUER, "k3trio")
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 1 << 32
_GROUP = "authentication.k8s.io"
_API_VERSION = "authentication.k8s.io/v1"


class TokenIssuer:
    """Signs bound service-account tokens.

    Args:
        private_key_pem: the RSA signing key (``ServerPKI.service_account_key_pem``).
        issuer: the ``iss`` claim (``https://kubernetes.default.svc.cluster.local``).
        key_id: the JWS ``kid``; by default derived from the public key as upstream does.
        api_audiences: the audiences of a request that names none.
        max_expiration_seconds: cap on requested lifetimes (0: no cap).
    """

    def __init__(
        self,
        private_key_pem: bytes,
        issuer: str = DEFAULT_ISSUER,
        key_id: str | None = None,
        *,
        api_audiences: Sequence[str] = DEFAULT_API_AUDIENCES,
        max_expiration_seconds: int = 0,
    ) -> None:
        self._key = jwt.load_private_key(private_key_pem)
        self.public_key: rsa.RSAPublicKey = self._key.public_key()
        self.issuer = issuer
        self.key_id = key_id if key_id is not None else jwt.key_id(self.public_key)
        self.api_audiences = tuple(api_audiences)
        self.max_expiration_seconds = max_expiration_seconds

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, self.key_id)

    def issue(
        self,
        *,
        namespace: str,
        service_account: dict[str, Any],
        audiences: Sequence[str],
        expiration_seconds: int,
        now: datetime,
        pod: dict[str, Any] | None = None,
        secret: dict[str, Any] | None = None,
        node: dict[str, Any] | None = None,
    ) -> str:
        """A signed bound token (the claims ``token.Claims`` builds upstream)."""
        sa_meta = service_account.get("metadata") or {}
        private: dict[str, Any] = {"namespace": namespace}
        if node is not None:
            private["node"] = _ref(node)
        if pod is not None:
            private["pod"] = _ref(pod)
        if secret is not None:
            private["secret"] = _ref(secret)
        private["serviceaccount"] = {"name": sa_meta.get("name", ""), "uid": sa_meta.get("uid", "")}
        issued = int(now.timestamp())
        claims = {
            "aud": list(audiences),
            "exp": issued + int(expiration_seconds),
            "iat": issued,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": private,
            "nbf": issued,
            "sub": service_account_username(namespace, str(sa_meta.get("name", ""))),
        }
        return self.sign(claims)


def _ref(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    return {"name": str(meta.get("name", "")), "uid": str(meta.get("uid", ""))}


def _gvk_string(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def handle_token_request(
    sa_obj: dict[str, Any],
    body: dict[str, Any],
    objects: ObjectSource,
    issuer: TokenIssuer,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create a token for ``sa_obj`` from a TokenRequest body.

    Args:
        sa_obj: the service account named in the URL (the caller answers 404 when missing).
        body: the decoded TokenRequest.
        objects: used to look up the bound pod, secret or node.
        now: the issue time (defaults to the current time).

    Returns:
        The TokenRequest response object.

    Raises:
        Invalid: name/namespace mismatch, or an out-of-range ``expirationSeconds``.
        BadRequest: a pod running as another service account, or an unsupported kind.
        NotFound: the bound object does not exist.
        Conflict: the bound object's uid differs from ``boundObjectRef.uid``.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    sa_meta = sa_obj.get("metadata") or {}
    sa_name, namespace = str(sa_meta.get("name", "")), str(sa_meta.get("namespace", ""))
    meta = dict(body.get("metadata") or {})
    spec = dict(body.get("spec") or {})

    if meta.get("name") and meta["name"] != sa_name:
        raise Invalid("TokenRequest", sa_name, [FieldError.invalid(
            "metadata.name", meta["name"], "must match the service account name if specified")],
            group=_GROUP)  # fmt: skip
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise Invalid("TokenRequest", sa_name, [FieldError.invalid(
            "metadata.namespace", meta["namespace"],
            "must match the service account namespace if specified")], group=_GROUP)  # fmt: skip

    audiences = [a for a in (spec.get("audiences") or []) if isinstance(a, str)]
    if not audiences:
        audiences = list(issuer.api_audiences)
    expiration = spec.get("expirationSeconds")
    if expiration is None:
        expiration = DEFAULT_EXPIRATION_SECONDS
    if isinstance(expiration, bool) or not isinstance(expiration, int):
        raise BadRequest(f"spec.expirationSeconds: invalid value {expiration!r}")
    errors: list[FieldError] = []
    if expiration < MIN_EXPIRATION_SECONDS:
        errors.append(FieldError.invalid(
            "spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes"))  # fmt: skip
    if expiration > MAX_EXPIRATION_SECONDS:
        errors.append(FieldError.invalid(
            "spec.expirationSeconds", expiration, "may not specify a duration larger than 2^32 seconds"))  # fmt: skip
    if errors:
        raise Invalid("TokenRequest", "", errors, group=_GROUP)

    pod = secret = node = None
    ref = spec.get("boundObjectRef")
    if ref:
        kind = str(ref.get("kind", ""))
        api_version = str(ref.get("apiVersion", ""))
        ref_name = str(ref.get("name", ""))
        group = api_version.rpartition("/")[0]
        bound: dict[str, Any] | None
        if group == "" and kind == "Pod":
            bound = pod = objects.get("pods", namespace, ref_name)
            if pod is None:
                raise NotFound("pods", ref_name)
            if (pod.get("spec") or {}).get("serviceAccountName", "default") != sa_name:
                raise BadRequest(
                    f'cannot bind token for serviceaccount "{sa_name}" to pod running with '
                    "different serviceaccount name."
                )
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name:
                node = objects.get("nodes", "", node_name)
        elif group == "" and kind == "Node":
            bound = node = objects.get("nodes", "", ref_name)
            if node is None:
                raise NotFound("nodes", ref_name)
        elif group == "" and kind == "Secret":
            bound = secret = objects.get("secrets", namespace, ref_name)
            if secret is None:
                raise NotFound("secrets", ref_name)
        else:
            raise BadRequest(f"cannot bind token to object of type {_gvk_string(api_version, kind)}")
        ref_uid = ref.get("uid")
        bound_uid = ((bound or {}).get("metadata") or {}).get("uid", "")
        if ref_uid and ref_uid != bound_uid:
            raise Conflict(
                kind,
                ref_name,
                f"the UID in the bound object reference ({ref_uid}) does not match the UID in "
                "record. The object might have been deleted and then recreated",
                group=group,
            )

    if issuer.max_expiration_seconds > 0 and expiration > issuer.max_expiration_seconds:
        expiration = issuer.max_expiration_seconds

    token = issuer.issue(
        namespace=namespace,
        service_account=sa_obj,
        audiences=audiences,
        expiration_seconds=expiration,
        now=now,
        pod=pod,
        secret=secret,
        node=node,
    )
    out_meta = {k: v for k, v in meta.items() if k != "creationTimestamp"}
    out_meta["name"] = sa_name
    out_meta["namespace"] = namespace
    out_meta["creationTimestamp"] = format_time(now)
    out_spec: dict[str, Any] = {
        "audiences": audiences,
        "expirationSeconds": expiration,
        "boundObjectRef": dict(ref) if ref else None,
    }
    return {
        "kind": "TokenRequest",
        "apiVersion": _API_VERSION,
        "metadata": out_meta,
        "spec": out_spec,
        "status": {
            "token": token,
            "expirationTimestamp": format_time(now + timedelta(seconds=expiration)),
        },
    }


def openid_configuration(issuer: str, jwks_uri: str) -> dict[str, Any]:
    """The ``/.well-known/openid-configuration`` document.

    Args:
        issuer: the service-account issuer.
        jwks_uri: where ``/openid/v1/jwks`` is reachable (upstream defaults to
            ``https://<external address>/openid/v1/jwks``).
    """
    return {
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def jwks_document(public_keys: bytes | Sequence[rsa.RSAPublicKey]) -> dict[str, Any]:
    """The ``/openid/v1/jwks`` document: every verification key, key ids as upstream."""
    keys = jwt.load_public_keys(public_keys) if isinstance(public_keys, bytes) else public_keys
    return {"keys": [jwt.jwk(k) for k in keys]}
