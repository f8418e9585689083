"""Service-account JWTs: bound (TokenRequest) tokens and legacy secret-based tokens.

Order of checks, as kube-apiserver's service-account authenticator:

1. The token must be a JWS whose unverified ``iss`` is one of ours (the configured issuers
   for bound tokens, ``kubernetes/serviceaccount`` for legacy ones); anything else is
   "not mine" (``None``) so other token authenticators may try.
2. One of the public keys must verify the RS256 signature.
3. Audiences: a token's ``aud`` must intersect the requested audiences (the API audiences
   unless a TokenReview asks for others). Legacy tokens carry no ``aud`` and count as
   having the API audiences.
4. Bound tokens: ``exp``/``nbf``/``iat`` with a 60 s leeway; the service account (and the
   pod, secret or node the token is bound to) must still exist, with the same uid, and not
   have been deleted more than the leeway ago.
   Legacy tokens: the claims must be complete, the secret must still hold exactly this
   token, the service account must exist with the claimed uid, and the secret must not be
   labelled ``kubernetes.io/legacy-token-invalid-since``.

The user is ``system:serviceaccount:<ns>:<name>`` (uid = the service account's uid) in
``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``, with the upstream extra keys
for the bound pod/node and the token's ``jti``.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from ...api.meta import parse_time
from ..interfaces import ObjectSource, UserInfo
from . import jwt
from .base import InvalidToken, TokenResult, authenticate_bearer, with_authenticated_group

__all__ = [
    "DEFAULT_ISSUER",
    "LEGACY_ISSUER",
    "ServiceAccountTokenAuthenticator",
    "ServiceAccountInfo",
    "go_quote_list",
    "service_account_username",
    "split_username",
]

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
SA_USER_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
LEEWAY_SECONDS = 60
LEGACY_TOKEN_INVALID_LABEL = "kubernetes.io/legacy-token-invalid-since"

POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
NODE_UID_KEY = "authentication.kubernetes.io/node-uid"
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"

_LEGACY_NS = "kubernetes.io/serviceaccount/namespace"
_LEGACY_SECRET = "kubernetes.io/serviceaccount/secret.name"
_LEGACY_SA_NAME = "kubernetes.io/serviceaccount/service-account.name"
_LEGACY_SA_UID = "kubernetes.io/serviceaccount/service-account.uid"


def service_account_username(namespace: str, name: str) -> str:
    return f"{SA_USER_PREFIX}{namespace}:{name}"


def split_username(username: str) -> tuple[str, str] | None:
    """``system:serviceaccount:<ns>:<name>`` -> (ns, name); None for other users."""
    if not username.startswith(SA_USER_PREFIX):
        return None
    parts = username[len(SA_USER_PREFIX) :].split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def go_quote_list(values: Iterable[str]) -> str:
    """A ``[]string`` as Go's ``%q`` prints it: ``["a" "b"]``."""
    import json

    return "[" + " ".join(json.dumps(v) for v in values) + "]"


@dataclass(frozen=True)
class ServiceAccountInfo:
    namespace: str
    name: str
    uid: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    credential_id: str = ""

    def user_info(self) -> UserInfo:
        extra: dict[str, tuple[str, ...]] = {}
        if self.pod_name:
            extra[POD_NAME_KEY] = (self.pod_name,)
            extra[POD_UID_KEY] = (self.pod_uid,)
        if self.credential_id:
            extra[CREDENTIAL_ID_KEY] = (self.credential_id,)
        if self.node_name:
            extra[NODE_NAME_KEY] = (self.node_name,)
            if self.node_uid:
                extra[NODE_UID_KEY] = (self.node_uid,)
        return with_authenticated_group(
            UserInfo(
                name=service_account_username(self.namespace, self.name),
                uid=self.uid,
                groups=(ALL_SERVICE_ACCOUNTS_GROUP, f"{ALL_SERVICE_ACCOUNTS_GROUP}:{self.namespace}"),
                extra=extra,
            )
        )


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        return []
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def _ref(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {"name": str(value.get("name", "")), "uid": str(value.get("uid", ""))}


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _deleted_before(obj: Mapping[str, Any], cutoff: datetime) -> bool:
    ts = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not ts:
        return False
    try:
        return parse_time(ts) < cutoff
    except ValueError:
        return True


def _number(claims: Mapping[str, Any], key: str) -> float | None:
    value = claims.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class ServiceAccountTokenAuthenticator:
    """Validates service-account JWTs.

    Args:
        public_keys: PEM bytes (one or more keys/certificates) or loaded RSA public keys.
        issuer: the issuer (or issuers) of bound tokens; the first is what we issue.
        api_audiences: the audiences a token must have when no others are requested.
        objects: where service accounts, secrets, pods and nodes are looked up.
        lookup: check that referenced objects still exist (upstream's
            ``--service-account-lookup``, default true).
    """

    def __init__(
        self,
        public_keys: bytes | Sequence[rsa.RSAPublicKey],
        issuer: str | Sequence[str],
        api_audiences: Sequence[str],
        objects: ObjectSource,
        *,
        lookup: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(public_keys, bytes):
            self._keys = jwt.load_public_keys(public_keys)
        else:
            self._keys = list(public_keys)
        self._issuers = frozenset([issuer] if isinstance(issuer, str) else issuer)
        self._api_audiences = tuple(api_audiences)
        self._objects = objects
        self._lookup = lookup
        self._clock = clock

    async def authenticate(self, headers: Mapping[str, str], peer: Any | None) -> UserInfo | None:
        return await authenticate_bearer(self, headers)

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResult | None:
        try:
            unverified = jwt.peek_claims(token)
        except jwt.JWTError:
            return None
        iss = unverified.get("iss")
        legacy = iss == LEGACY_ISSUER
        if not legacy and iss not in self._issuers:
            return None
        try:
            claims = jwt.verify(token, self._keys)
        except jwt.JWTError as exc:
            raise InvalidToken(str(exc)) from exc

        token_auds = _audiences(claims)
        if not token_auds:
            token_auds = list(self._api_audiences)
        requested = list(audiences) if audiences else list(self._api_audiences)
        matched = [a for a in token_auds if a in requested]
        if not matched and self._api_audiences:
            raise InvalidToken(
                f"token audiences {go_quote_list(token_auds)} is invalid for the target "
                f"audiences {go_quote_list(requested)}"
            )
        info = self._validate_legacy(token, claims) if legacy else self._validate_bound(claims)
        return TokenResult(info.user_info(), tuple(matched))

    # -- bound tokens --------------------------------------------------------------------
    def _validate_bound(self, claims: Mapping[str, Any]) -> ServiceAccountInfo:
        now = self._clock()
        exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
        if exp is not None and now - LEEWAY_SECONDS > exp:
            raise InvalidToken("service account token has expired")
        if nbf is not None and now + LEEWAY_SECONDS < nbf:
            raise InvalidToken("service account token is not valid yet")
        if iat is not None and now + LEEWAY_SECONDS < iat:
            raise InvalidToken("service account token is issued in the future")

        private = claims.get("kubernetes.io")
        if not isinstance(private, dict):
            raise InvalidToken("service account token claims could not be retrieved")
        namespace = str(private.get("namespace", ""))
        sa_ref = _ref(private.get("serviceaccount"))
        if not namespace or sa_ref is None or not sa_ref["name"]:
            raise InvalidToken("service account token claims could not be retrieved")
        pod_ref = _ref(private.get("pod"))
        secret_ref = _ref(private.get("secret"))
        node_ref = _ref(private.get("node"))
        sub = claims.get("sub")
        if sub != service_account_username(namespace, sa_ref["name"]):
            raise InvalidToken("sub claim is invalid")
        jti = claims.get("jti")
        credential_id = f"JTI={jti}" if isinstance(jti, str) and jti else ""
        if not self._lookup:
            return ServiceAccountInfo(
                namespace, sa_ref["name"], sa_ref["uid"],
                pod_name=pod_ref["name"] if pod_ref else "",
                pod_uid=pod_ref["uid"] if pod_ref else "",
                node_name=node_ref["name"] if node_ref else "",
                node_uid=node_ref["uid"] if node_ref else "",
                credential_id=credential_id,
            )  # fmt: skip

        cutoff = datetime.fromtimestamp(now - LEEWAY_SECONDS, UTC)
        sa = self._objects.get("serviceaccounts", namespace, sa_ref["name"])
        if sa is None:
            raise InvalidToken(f'serviceaccounts "{sa_ref["name"]}" not found')
        if _deleted_before(sa, cutoff):
            raise InvalidToken(f"service account {namespace}/{sa_ref['name']} has been deleted")
        if _uid(sa) != sa_ref["uid"]:
            raise InvalidToken(
                f"service account UID ({_uid(sa)}) does not match claim ({sa_ref['uid']})"
            )
        if secret_ref is not None:
            secret = self._objects.get("secrets", namespace, secret_ref["name"])
            if secret is None:
                raise InvalidToken(f'secrets "{secret_ref["name"]}" not found')
            if _deleted_before(secret, cutoff):
                raise InvalidToken(f"secret {namespace}/{secret_ref['name']} has been deleted")
            if _uid(secret) != secret_ref["uid"]:
                raise InvalidToken(
                    f"secret UID ({_uid(secret)}) does not match service account secret ref "
                    f"claim ({secret_ref['uid']})"
                )
        pod_name = pod_uid = node_name = node_uid = ""
        if pod_ref is not None:
            pod = self._objects.get("pods", namespace, pod_ref["name"])
            if pod is None:
                raise InvalidToken(f'pods "{pod_ref["name"]}" not found')
            if _deleted_before(pod, cutoff):
                raise InvalidToken(f"pod {namespace}/{pod_ref['name']} has been deleted")
            if _uid(pod) != pod_ref["uid"]:
                raise InvalidToken(
                    f"pod UID ({_uid(pod)}) does not match service account pod ref claim "
                    f"({pod_ref['uid']})"
                )
            pod_name, pod_uid = pod_ref["name"], pod_ref["uid"]
        if node_ref is not None:
            if pod_ref is None:
                node = self._objects.get("nodes", "", node_ref["name"])
                if node is None:
                    raise InvalidToken(f'nodes "{node_ref["name"]}" not found')
                if _deleted_before(node, cutoff):
                    raise InvalidToken(f"node {node_ref['name']} has been deleted")
                if _uid(node) != node_ref["uid"]:
                    raise InvalidToken(
                        f"node UID ({_uid(node)}) does not match service account node ref "
                        f"claim ({node_ref['uid']})"
                    )
            node_name, node_uid = node_ref["name"], node_ref["uid"]
        return ServiceAccountInfo(
            namespace, sa_ref["name"], _uid(sa),
            pod_name=pod_name, pod_uid=pod_uid, node_name=node_name, node_uid=node_uid,
            credential_id=credential_id,
        )  # fmt: skip

    # -- legacy secret-based tokens -------------------------------------------------------
    def _validate_legacy(self, token: str, claims: Mapping[str, Any]) -> ServiceAccountInfo:
        namespace = claims.get(_LEGACY_NS)
        secret_name = claims.get(_LEGACY_SECRET)
        sa_name = claims.get(_LEGACY_SA_NAME)
        sa_uid = claims.get(_LEGACY_SA_UID)
        if not isinstance(namespace, str) or not namespace:
            raise InvalidToken("namespace claim is missing")
        if not isinstance(secret_name, str) or not secret_name:
            raise InvalidToken("secretName claim is missing")
        if not isinstance(sa_name, str) or not sa_name:
            raise InvalidToken("serviceAccountName claim is missing")
        if not isinstance(sa_uid, str) or not sa_uid:
            raise InvalidToken("serviceAccountUID claim is missing")
        subject = split_username(str(claims.get("sub", "")))
        if subject != (namespace, sa_name):
            raise InvalidToken("sub claim is invalid")
        if self._lookup:
            secret = self._objects.get("secrets", namespace, secret_name)
            if secret is None or (secret.get("metadata") or {}).get("deletionTimestamp"):
                raise InvalidToken("Token has been invalidated")
            stored = ((secret.get("data") or {}).get("token")) or ""
            try:
                stored_token = base64.b64decode(stored, validate=True)
            except (binascii.Error, ValueError):
                stored_token = b""
            if stored_token != token.encode():
                raise InvalidToken("Token does not match server's copy")
            sa = self._objects.get("serviceaccounts", namespace, sa_name)
            if sa is None:
                raise InvalidToken(f'serviceaccounts "{sa_name}" not found')
            if (sa.get("metadata") or {}).get("deletionTimestamp"):
                raise InvalidToken("ServiceAccount has been deleted")
            if _uid(sa) != sa_uid:
                raise InvalidToken(
                    f"ServiceAccount UID ({_uid(sa)}) does not match claim ({sa_uid})"
                )
            labels = (secret.get("metadata") or {}).get("labels") or {}
            if labels.get(LEGACY_TOKEN_INVALID_LABEL):
                raise InvalidToken(
                    f"the token in secret {namespace}/{secret_name} for service account "
                    f"{namespace}/{sa_name} has been marked invalid. Use tokens from the "
                    "TokenRequest API or manually created secret-based tokens, or remove the "
                    f"'{LEGACY_TOKEN_INVALID_LABEL}' label from the secret to acknowledge the "
                    "risk of using an invalid token."
                )
        return ServiceAccountInfo(namespace, sa_name, sa_uid)
