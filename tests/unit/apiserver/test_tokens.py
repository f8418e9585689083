"""TokenRequest issuing, the JWT codec, and the OIDC discovery documents."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k3trio.api.errors import BadRequest, Conflict, Invalid, NotFound
from k3trio.apiserver.authn import jwt
from k3trio.apiserver.tokens import (
    DEFAULT_API_AUDIENCES,
    TokenIssuer,
    handle_token_request,
    jwks_document,
    openid_configuration,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ISSUER = "https://kubernetes.default.svc.cluster.local"


class Objects:
    def __init__(self, *objs: tuple[str, dict[str, Any]]) -> None:
        self.data: dict[tuple[str, str, str], dict[str, Any]] = {}
        for resource, obj in objs:
            meta = obj["metadata"]
            self.data[(resource, meta.get("namespace", ""), meta["name"])] = obj

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [o for (r, ns, _), o in self.data.items() if r == resource and (not namespace or ns == namespace)]

    def generation(self, resource: str) -> int:
        return 0


@lru_cache(maxsize=1)
def key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sa(name: str = "builder", ns: str = "default", uid: str = "sa-uid") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "uid": uid}}


def pod(name: str = "web", sa_name: str = "builder", node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"serviceAccountName": sa_name}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "default", "uid": "pod-uid"}, "spec": spec}


def claims_of(token: str) -> dict[str, Any]:
    issuer = TokenIssuer(key_pem(), ISSUER)
    return jwt.verify(token, [issuer.public_key])


def test_default_request_matches_upstream_shape() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    out = handle_token_request(sa(), {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"}, Objects(), issuer, NOW)
    assert out["kind"] == "TokenRequest"
    assert out["apiVersion"] == "authentication.k8s.io/v1"
    assert out["metadata"] == {"name": "builder", "namespace": "default", "creationTimestamp": "2026-03-01T12:00:00Z"}
    assert out["spec"] == {"audiences": list(DEFAULT_API_AUDIENCES), "expirationSeconds": 3600, "boundObjectRef": None}
    assert out["status"]["expirationTimestamp"] == "2026-03-01T13:00:00Z"
    claims = claims_of(out["status"]["token"])
    iat = int(NOW.timestamp())
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["aud"] == list(DEFAULT_API_AUDIENCES)
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (iat, iat, iat + 3600)
    assert claims["kubernetes.io"] == {"namespace": "default", "serviceaccount": {"name": "builder", "uid": "sa-uid"}}
    assert len(claims["jti"]) == 36


def test_header_carries_rs256_and_upstream_key_id() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    token = handle_token_request(sa(), {}, Objects(), issuer, NOW)["status"]["token"]
    header = json.loads(jwt.b64url_decode(token.split(".")[0]))
    der = issuer.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected_kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert header == {"alg": "RS256", "kid": expected_kid}


def test_audiences_duration_and_pod_binding_with_node() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    node = {"metadata": {"name": "n1", "uid": "node-uid"}}
    objects = Objects(("pods", pod(node="n1")), ("nodes", node))
    body = {"spec": {"audiences": ["x"], "expirationSeconds": 600,
                     "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "pod-uid"}}}
    out = handle_token_request(sa(), body, objects, issuer, NOW)
    assert out["spec"]["boundObjectRef"] == {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "pod-uid"}
    assert out["status"]["expirationTimestamp"] == "2026-03-01T12:10:00Z"
    private = claims_of(out["status"]["token"])["kubernetes.io"]
    assert private["pod"] == {"name": "web", "uid": "pod-uid"}
    assert private["node"] == {"name": "n1", "uid": "node-uid"}
    assert claims_of(out["status"]["token"])["aud"] == ["x"]


def test_secret_and_node_binding() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    objects = Objects(("secrets", {"metadata": {"name": "s", "namespace": "default", "uid": "s-uid"}}),
                      ("nodes", {"metadata": {"name": "n1", "uid": "n-uid"}}))
    out = handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "s"}}}, objects, issuer, NOW)
    assert claims_of(out["status"]["token"])["kubernetes.io"]["secret"] == {"name": "s", "uid": "s-uid"}
    out = handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "Node", "apiVersion": "v1", "name": "n1"}}}, objects, issuer, NOW)
    assert claims_of(out["status"]["token"])["kubernetes.io"]["node"] == {"name": "n1", "uid": "n-uid"}


def test_too_short_duration_is_invalid_with_upstream_message() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    with pytest.raises(Invalid) as err:
        handle_token_request(sa(), {"spec": {"expirationSeconds": 599}}, Objects(), issuer, NOW)
    assert err.value.message == (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: '
        "may not specify a duration less than 10 minutes"
    )
    assert err.value.code == 422


def test_name_mismatch_is_invalid() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    with pytest.raises(Invalid, match="must match the service account name if specified"):
        handle_token_request(sa(), {"metadata": {"name": "other"}}, Objects(), issuer, NOW)


def test_bound_object_errors() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    with pytest.raises(NotFound, match='pods "web" not found'):
        handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}}, Objects(), issuer, NOW)
    with pytest.raises(BadRequest) as bad:
        handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}},
                             Objects(("pods", pod(sa_name="other"))), issuer, NOW)
    assert bad.value.message == 'cannot bind token for serviceaccount "builder" to pod running with different serviceaccount name.'
    with pytest.raises(BadRequest) as bad:
        handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "c"}}}, Objects(), issuer, NOW)
    assert bad.value.message == "cannot bind token to object of type /v1, Kind=ConfigMap"
    with pytest.raises(Conflict) as conflict:
        handle_token_request(sa(), {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "old"}}},
                             Objects(("pods", pod())), issuer, NOW)
    assert conflict.value.message.startswith('Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (old)')


def test_max_expiration_caps_lifetime() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER, max_expiration_seconds=1200)
    out = handle_token_request(sa(), {"spec": {"expirationSeconds": 86400}}, Objects(), issuer, NOW)
    assert out["spec"]["expirationSeconds"] == 1200


def test_jwt_rejects_tampering_and_other_algorithms() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    token = issuer.sign({"sub": "a"})
    head, payload, sig = token.split(".")
    forged = jwt.b64url_encode(json.dumps({"sub": "b"}).encode())
    with pytest.raises(jwt.JWTError):
        jwt.verify(f"{head}.{forged}.{sig}", [issuer.public_key])
    none_head = jwt.b64url_encode(json.dumps({"alg": "none"}).encode())
    with pytest.raises(jwt.JWTError, match="RS256"):
        jwt.verify(f"{none_head}.{payload}.{sig}", [issuer.public_key])
    with pytest.raises(jwt.JWTError):
        jwt.verify("not-a-jwt", [issuer.public_key])
    assert jwt.verify(token, [issuer.public_key]) == {"sub": "a"}


def test_discovery_documents() -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    doc = openid_configuration(ISSUER, "https://10.0.0.1:6443/openid/v1/jwks")
    assert doc == {
        "issuer": ISSUER,
        "jwks_uri": "https://10.0.0.1:6443/openid/v1/jwks",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    pub = issuer.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwks = jwks_document(pub)
    (key,) = jwks["keys"]
    assert list(key) == ["use", "kty", "kid", "alg", "n", "e"]
    assert key["kid"] == issuer.key_id and key["e"] == "AQAB" and key["alg"] == "RS256"
    n = int.from_bytes(jwt.b64url_decode(key["n"]), "big")
    assert n == issuer.public_key.public_numbers().n
