"""Authenticators: client certificates, service-account JWTs, bootstrap and static tokens, union."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k3trio.api.errors import Unauthorized
from k3trio.apiserver.authn import (
    BootstrapTokenAuthenticator,
    CertificateAuthenticator,
    InvalidToken,
    ServiceAccountTokenAuthenticator,
    StaticTokenAuthenticator,
    UnionAuthenticator,
)
from k3trio.apiserver.interfaces import ANONYMOUS, UserInfo
from k3trio.apiserver.tokens import TokenIssuer, handle_token_request
from k3trio.pki import ClientIdentity

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDS = (ISSUER, "k3trio")
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class Objects:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], dict[str, Any]] = {}

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        self.data[(resource, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def delete(self, resource: str, namespace: str, name: str) -> None:
        del self.data[(resource, namespace, name)]

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [o for (r, ns, _), o in self.data.items() if r == resource and (not namespace or ns == namespace)]

    def generation(self, resource: str) -> int:
        return 0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def key_pem(which: int = 0) -> bytes:
    return _key_pem(which)


@lru_cache(maxsize=2)
def _key_pem(which: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(which: int = 0) -> bytes:
    key = serialization.load_pem_private_key(key_pem(which), None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def objects() -> Objects:
    objs = Objects()
    objs.put("serviceaccounts", {"metadata": {"name": "builder", "namespace": "default", "uid": "sa-uid"}})
    return objs


@pytest.fixture
def clock() -> Clock:
    return Clock(T0.timestamp())


def make_sa_auth(objects: Objects, clock: Clock) -> ServiceAccountTokenAuthenticator:
    return ServiceAccountTokenAuthenticator(public_pem(), ISSUER, AUDS, objects, clock=clock)


def issue(objects: Objects, body: dict[str, Any] | None = None, *, key: int = 0) -> str:
    issuer = TokenIssuer(key_pem(key), ISSUER, api_audiences=AUDS)
    sa = objects.get("serviceaccounts", "default", "builder")
    assert sa is not None
    return handle_token_request(sa, body or {}, objects, issuer, T0)["status"]["token"]


# -- client certificates -----------------------------------------------------------------------


async def test_certificate_identity_becomes_user() -> None:
    auth = CertificateAuthenticator()
    user = await auth.authenticate({}, ClientIdentity("system:admin", ("system:masters",)))
    assert user == UserInfo("system:admin", groups=("system:masters", "system:authenticated"))
    assert await auth.authenticate({}, None) is None


# -- service-account tokens --------------------------------------------------------------------


async def test_bound_token_round_trip(objects: Objects, clock: Clock) -> None:
    token = issue(objects)
    auth = make_sa_auth(objects, clock)
    user = await auth.authenticate({"authorization": f"Bearer {token}"}, None)
    assert user is not None
    assert user.name == "system:serviceaccount:default:builder"
    assert user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated")
    (cred,) = user.extra["authentication.kubernetes.io/credential-id"]
    assert cred.startswith("JTI=")


async def test_pod_bound_token_extra(objects: Objects, clock: Clock) -> None:
    objects.put("pods", {"metadata": {"name": "web", "namespace": "default", "uid": "pod-uid"},
                         "spec": {"serviceAccountName": "builder", "nodeName": "n1"}})
    objects.put("nodes", {"metadata": {"name": "n1", "uid": "node-uid"}})
    token = issue(objects, {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}})
    result = await make_sa_auth(objects, clock).authenticate_token(token)
    assert result is not None
    extra = result.user.extra
    assert extra["authentication.kubernetes.io/pod-name"] == ("web",)
    assert extra["authentication.kubernetes.io/pod-uid"] == ("pod-uid",)
    assert extra["authentication.kubernetes.io/node-name"] == ("n1",)
    assert extra["authentication.kubernetes.io/node-uid"] == ("node-uid",)
    assert result.audiences == AUDS
    objects.delete("pods", "default", "web")
    with pytest.raises(InvalidToken, match='pods "web" not found'):
        await make_sa_auth(objects, clock).authenticate_token(token)


async def test_expired_and_not_yet_valid(objects: Objects, clock: Clock) -> None:
    token = issue(objects, {"spec": {"expirationSeconds": 600}})
    auth = make_sa_auth(objects, clock)
    clock.now = T0.timestamp() + 600 + 59  # within the leeway
    assert await auth.authenticate_token(token) is not None
    clock.now = T0.timestamp() + 600 + 61
    with pytest.raises(InvalidToken, match="service account token has expired"):
        await auth.authenticate_token(token)
    clock.now = T0.timestamp() - 120
    with pytest.raises(InvalidToken, match="not valid yet"):
        await auth.authenticate_token(token)


async def test_audience_must_intersect(objects: Objects, clock: Clock) -> None:
    token = issue(objects, {"spec": {"audiences": ["vault"]}})
    auth = make_sa_auth(objects, clock)
    with pytest.raises(InvalidToken) as err:
        await auth.authenticate_token(token)
    assert str(err.value) == (
        'token audiences ["vault"] is invalid for the target audiences '
        '["https://kubernetes.default.svc.cluster.local" "k3trio"]'
    )
    result = await auth.authenticate_token(token, ["vault", "other"])
    assert result is not None and result.audiences == ("vault",)


async def test_deleted_or_recreated_service_account(objects: Objects, clock: Clock) -> None:
    token = issue(objects)
    auth = make_sa_auth(objects, clock)
    objects.put("serviceaccounts", {"metadata": {"name": "builder", "namespace": "default", "uid": "new-uid"}})
    with pytest.raises(InvalidToken, match=r"service account UID \(new-uid\) does not match claim \(sa-uid\)"):
        await auth.authenticate_token(token)
    objects.delete("serviceaccounts", "default", "builder")
    with pytest.raises(InvalidToken, match='serviceaccounts "builder" not found'):
        await auth.authenticate_token(token)


async def test_tampered_or_foreign_key_token(objects: Objects, clock: Clock) -> None:
    auth = make_sa_auth(objects, clock)
    foreign = issue(objects, key=1)
    with pytest.raises(InvalidToken, match="verification error"):
        await auth.authenticate_token(foreign)
    good = issue(objects)
    head, payload, sig = good.split(".")
    with pytest.raises(InvalidToken):
        await auth.authenticate_token(f"{head}.{payload}.{sig[:-4]}AAAA")
    # Not a JWT, or a JWT from another issuer: not ours, no error.
    assert await auth.authenticate_token("abcdef.0123456789abcdef") is None
    other = TokenIssuer(key_pem(), "https://other.example").sign({"iss": "https://other.example"})
    assert await auth.authenticate_token(other) is None


async def test_legacy_secret_token(objects: Objects, clock: Clock) -> None:
    issuer = TokenIssuer(key_pem(), ISSUER)
    token = issuer.sign({
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "default",
        "kubernetes.io/serviceaccount/secret.name": "builder-token",
        "kubernetes.io/serviceaccount/service-account.name": "builder",
        "kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
        "sub": "system:serviceaccount:default:builder",
    })  # fmt: skip
    secret = objects.put("secrets", {"metadata": {"name": "builder-token", "namespace": "default"},
                                     "type": "kubernetes.io/service-account-token", "data": {"token": b64(token)}})
    auth = make_sa_auth(objects, clock)
    result = await auth.authenticate_token(token)
    assert result is not None and result.user.name == "system:serviceaccount:default:builder"
    secret["metadata"]["labels"] = {"kubernetes.io/legacy-token-invalid-since": "2026-01-01"}
    with pytest.raises(InvalidToken, match="has been marked invalid"):
        await auth.authenticate_token(token)
    secret["metadata"]["labels"] = {}
    secret["data"]["token"] = b64("something-else")
    with pytest.raises(InvalidToken, match="Token does not match server's copy"):
        await auth.authenticate_token(token)


# -- bootstrap tokens ----------------------------------------------------------------------------


def bootstrap_secret(**overrides: str) -> dict[str, Any]:
    data = {"token-id": "abcdef", "token-secret": "0123456789abcdef", "usage-bootstrap-authentication": "true",
            "auth-extra-groups": "system:bootstrappers:k3trio:default-node-token", "expiration": "2026-03-02T00:00:00Z"}
    data.update(overrides)
    return {"metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token", "data": {k: b64(v) for k, v in data.items()}}


async def test_bootstrap_token(clock: Clock) -> None:
    objects = Objects()
    objects.put("secrets", bootstrap_secret())
    auth = BootstrapTokenAuthenticator(objects, clock=clock)
    user = await auth.authenticate({"Authorization": "Bearer abcdef.0123456789abcdef"}, None)
    assert user == UserInfo("system:bootstrap:abcdef", groups=(
        "system:bootstrappers", "system:bootstrappers:k3trio:default-node-token", "system:authenticated"))
    assert await auth.authenticate_token("abcdef.0123456789abcdee") is None
    assert await auth.authenticate_token("zzzzzz.0123456789abcdef") is None
    clock.now = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC).timestamp()
    assert await auth.authenticate_token("abcdef.0123456789abcdef") is None


@pytest.mark.parametrize("override", [{"usage-bootstrap-authentication": "false"}, {"auth-extra-groups": "system:masters"}])
async def test_bootstrap_token_refusals(clock: Clock, override: dict[str, str]) -> None:
    objects = Objects()
    objects.put("secrets", bootstrap_secret(**override))
    assert await BootstrapTokenAuthenticator(objects, clock=clock).authenticate_token("abcdef.0123456789abcdef") is None


# -- static tokens and the union -----------------------------------------------------------------


async def test_static_token() -> None:
    auth = StaticTokenAuthenticator({"s3cret": UserInfo("node", groups=("k3trio:agent",))})
    result = await auth.authenticate_token("s3cret")
    assert result is not None and result.user.groups == ("k3trio:agent", "system:authenticated")
    assert await auth.authenticate_token("other") is None


async def test_union_order_and_failures(objects: Objects, clock: Clock) -> None:
    union = UnionAuthenticator([
        CertificateAuthenticator(),
        StaticTokenAuthenticator({"s3cret": UserInfo("node")}),
        make_sa_auth(objects, clock),
        BootstrapTokenAuthenticator(objects, clock=clock),
    ])  # fmt: skip
    cert = ClientIdentity("alice", ("dev",))
    user = await union.authenticate_request({"authorization": "Bearer s3cret"}, cert)
    assert user.name == "alice"
    assert (await union.authenticate_request({"authorization": "Bearer s3cret"}, None)).name == "node"
    sa_user = await union.authenticate_request({"authorization": f"Bearer {issue(objects)}"}, None)
    assert sa_user.name == "system:serviceaccount:default:builder"
    with pytest.raises(Unauthorized) as err:
        await union.authenticate_request({"authorization": "Bearer nope"}, None)
    assert err.value.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    with pytest.raises(Unauthorized):
        await union.authenticate_request({}, None)
    union.anonymous = True
    assert await union.authenticate_request({}, None) == ANONYMOUS
    with pytest.raises(Unauthorized):  # a bad credential is never downgraded to anonymous
        await union.authenticate_request({"authorization": "Bearer nope"}, None)
    # A non-bearer scheme is not a credential.
    assert await union.authenticate_request({"authorization": "Basic Zm9vOmJhcg=="}, None) == ANONYMOUS


async def test_union_token_errors_are_kept_for_token_review(objects: Objects, clock: Clock) -> None:
    union = UnionAuthenticator([make_sa_auth(objects, clock)])
    token = issue(objects)
    objects.delete("serviceaccounts", "default", "builder")
    with pytest.raises(InvalidToken, match='serviceaccounts "builder" not found'):
        await union.authenticate_token(token)
    assert await union.authenticate_token("garbage") is None


async def test_token_authenticator_on_its_own_answers_401(objects: Objects, clock: Clock) -> None:
    auth = make_sa_auth(objects, clock)
    foreign = issue(objects, key=1)
    with pytest.raises(Unauthorized):
        await auth.authenticate({"authorization": f"Bearer {foreign}"}, None)
    assert await auth.authenticate({"authorization": "Bearer not-a-jwt"}, None) is None


async def test_build_auth_wires_everything(objects: Objects) -> None:
    from k3trio.apiserver.authn.setup import JWKS_PATH, OIDC_CONFIG_PATH, build_auth
    from k3trio.apiserver.interfaces import AuthorizationAttributes

    parts = build_auth(objects=objects, service_account_key_pem=key_pem(), service_account_public_pem=public_pem(),
                       server_url="https://127.0.0.1:6443/", static_tokens={"s3cret": UserInfo("node")})
    sa = objects.get("serviceaccounts", "default", "builder")
    assert sa is not None
    token = handle_token_request(sa, {}, objects, parts.token_issuer, datetime.now(UTC))["status"]["token"]
    user = await parts.authenticator.authenticate_request({"authorization": f"Bearer {token}"}, None)
    assert user.name == "system:serviceaccount:default:builder"
    assert (await parts.authenticator.authenticate_request({"authorization": "Bearer s3cret"}, None)).name == "node"
    assert not parts.authorizer.authorize(AuthorizationAttributes(user=user, verb="list", resource_request=True, resource="pods")).allowed

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await parts.extra_paths[OIDC_CONFIG_PATH]({}, None, send, user)
    assert sent[0]["status"] == 200
    doc = json.loads(sent[1]["body"])
    assert doc["jwks_uri"] == "https://127.0.0.1:6443/openid/v1/jwks" and doc["issuer"] == ISSUER
    sent.clear()
    await parts.extra_paths[JWKS_PATH]({}, None, send, user)
    assert (b"content-type", b"application/jwk-set+json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["keys"][0]["kid"] == parts.token_issuer.key_id
