"""The review APIs: TokenReview, SelfSubjectReview and the access/rules reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k3trio.api.errors import BadRequest, Invalid
from k3trio.apiserver.authn import ServiceAccountTokenAuthenticator, UnionAuthenticator
from k3trio.apiserver.interfaces import UserInfo
from k3trio.apiserver.rbac import RBACAuthorizer, bootstrap_policy
from k3trio.apiserver.reviews import handle_review
from k3trio.apiserver.tokens import TokenIssuer, handle_token_request

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDS = (ISSUER, "k3trio")
NOW = datetime.now(UTC).replace(microsecond=0)
RESOURCE_OF = {"ClusterRole": "clusterroles.rbac.authorization.k8s.io",
               "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io",
               "Role": "roles.rbac.authorization.k8s.io", "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
               "ServiceAccount": "serviceaccounts"}


class Objects:
    def __init__(self, objs: Sequence[dict[str, Any]] = ()) -> None:
        self.data: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.gen = 0
        for obj in objs:
            self.put(obj)

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.data[(RESOURCE_OF[obj["kind"]], meta.get("namespace", ""), meta["name"])] = obj
        self.gen += 1

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data.get((resource, namespace, name))

    def list(self, resource: str, namespace: str = "") -> Sequence[dict[str, Any]]:
        return [o for (r, ns, _), o in self.data.items() if r == resource and (not namespace or ns == namespace)]

    def generation(self, resource: str) -> int:
        return self.gen


@lru_cache(maxsize=1)
def key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture
def objects() -> Objects:
    objs = Objects(bootstrap_policy())
    objs.put({"kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "default", "uid": "sa-uid"}})
    objs.put({"kind": "RoleBinding", "metadata": {"name": "builder-view", "namespace": "default"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
              "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "default"}]})
    return objs


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(key_pem(), ISSUER, api_audiences=AUDS)


def ctx(objects: Objects, issuer: TokenIssuer) -> dict[str, Any]:
    union = UnionAuthenticator([ServiceAccountTokenAuthenticator([issuer.public_key], ISSUER, AUDS, objects)])
    return {"authenticator": union, "authorizer": RBACAuthorizer(objects)}


ADMIN = UserInfo("system:admin", groups=("system:masters", "system:authenticated"))
SA_USER = UserInfo("system:serviceaccount:default:builder", uid="sa-uid",
                   groups=("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"))


async def test_token_review(objects: Objects, issuer: TokenIssuer) -> None:
    sa = objects.get("serviceaccounts", "default", "builder")
    assert sa is not None
    token = handle_token_request(sa, {}, objects, issuer, NOW)["status"]["token"]
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    out = await handle_review("TokenReview", body, user=ADMIN, **ctx(objects, issuer))
    assert out["kind"] == "TokenReview" and out["apiVersion"] == "authentication.k8s.io/v1"
    assert out["spec"] == {"token": token}
    status = out["status"]
    assert status["authenticated"] is True
    assert status["audiences"] == list(AUDS)
    assert status["user"]["username"] == "system:serviceaccount:default:builder"
    assert status["user"]["uid"] == "sa-uid"
    assert status["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    assert list(status["user"]["extra"]) == ["authentication.kubernetes.io/credential-id"]


async def test_token_review_failures(objects: Objects, issuer: TokenIssuer) -> None:
    sa = objects.get("serviceaccounts", "default", "builder")
    assert sa is not None
    token = handle_token_request(sa, {}, objects, issuer, NOW)["status"]["token"]
    out = await handle_review("TokenReview", {"spec": {"token": token, "audiences": ["vault"]}}, user=ADMIN, **ctx(objects, issuer))
    assert out["status"] == {"user": {}, "error": 'token audiences ["https://kubernetes.default.svc.cluster.local" "k3trio"] is invalid for the target audiences ["vault"]'}
    out = await handle_review("TokenReview", {"spec": {"token": "bogus"}}, user=ADMIN, **ctx(objects, issuer))
    assert out["status"] == {"user": {}}
    with pytest.raises(BadRequest, match="token is required for TokenReview in authentication"):
        await handle_review("TokenReview", {"spec": {}}, user=ADMIN, **ctx(objects, issuer))


async def test_self_subject_review(objects: Objects, issuer: TokenIssuer) -> None:
    out = await handle_review("SelfSubjectReview", {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                              user=SA_USER, now=NOW, **ctx(objects, issuer))
    assert out == {
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "status": {"userInfo": {"username": "system:serviceaccount:default:builder", "uid": "sa-uid",
                                "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]}},
    }


async def test_self_subject_access_review(objects: Objects, issuer: TokenIssuer) -> None:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}}}
    out = await handle_review("SelfSubjectAccessReview", body, user=SA_USER, **ctx(objects, issuer))
    assert out["status"] == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "builder-view/default" of ClusterRole "view" to ServiceAccount "builder/default"'}
    assert out["metadata"] == {} and out["spec"] == body["spec"]
    body["spec"]["resourceAttributes"]["verb"] = "delete"
    out = await handle_review("SelfSubjectAccessReview", body, user=SA_USER, **ctx(objects, issuer))
    assert out["status"] == {"allowed": False}
    nonres = {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}
    out = await handle_review("SelfSubjectAccessReview", nonres, user=SA_USER, **ctx(objects, issuer))
    assert out["status"]["allowed"] is True
    out = await handle_review("SelfSubjectAccessReview", {"spec": {"resourceAttributes": {"verb": "*", "resource": "*", "group": "*"}}},
                              user=ADMIN, **ctx(objects, issuer))
    assert out["status"] == {"allowed": True}


async def test_self_subject_access_review_invalid(objects: Objects, issuer: TokenIssuer) -> None:
    with pytest.raises(Invalid) as err:
        await handle_review("SelfSubjectAccessReview", {"spec": {}}, user=SA_USER, **ctx(objects, issuer))
    assert err.value.message == (
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": '
        "exactly one of nonResourceAttributes or resourceAttributes must be specified"
    )
    both = {"spec": {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/x", "verb": "get"}}}
    with pytest.raises(Invalid) as err:
        await handle_review("SelfSubjectAccessReview", both, user=SA_USER, **ctx(objects, issuer))
    assert err.value.message.endswith(
        'spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: '
        "cannot be specified in combination with resourceAttributes"
    )


async def test_subject_access_review(objects: Objects, issuer: TokenIssuer) -> None:
    body = {"spec": {"user": "system:serviceaccount:default:builder", "groups": ["system:serviceaccounts"],
                     "resourceAttributes": {"namespace": "default", "verb": "get", "resource": "configmaps"}}}
    out = await handle_review("SubjectAccessReview", body, user=ADMIN, **ctx(objects, issuer))
    assert out["kind"] == "SubjectAccessReview" and out["status"]["allowed"] is True
    with pytest.raises(Invalid) as err:
        await handle_review("SubjectAccessReview", {"spec": {"resourceAttributes": {"verb": "get"}}}, user=ADMIN, **ctx(objects, issuer))
    assert err.value.message == (
        'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": '
        "at least one of user or group must be specified"
    )
    with pytest.raises(Invalid, match="metadata: Invalid value: .*must be empty"):
        await handle_review("SubjectAccessReview", {"metadata": {"name": "x"}, **body}, user=ADMIN, **ctx(objects, issuer))


async def test_local_subject_access_review(objects: Objects, issuer: TokenIssuer) -> None:
    spec = {"user": "system:serviceaccount:default:builder",
            "resourceAttributes": {"namespace": "default", "verb": "list", "resource": "services"}}
    out = await handle_review("LocalSubjectAccessReview", {"spec": spec}, user=ADMIN, namespace="default", **ctx(objects, issuer))
    assert out["metadata"] == {"namespace": "default"} and out["status"]["allowed"] is True
    with pytest.raises(Invalid, match='spec.resourceAttributes.namespace: Invalid value: "default": must match metadata.namespace'):
        await handle_review("LocalSubjectAccessReview", {"spec": spec}, user=ADMIN, namespace="other", **ctx(objects, issuer))
    nonres = {"user": "x", "nonResourceAttributes": {"path": "/healthz", "verb": "get"}}
    with pytest.raises(Invalid, match="disallowed on this kind of request"):
        await handle_review("LocalSubjectAccessReview", {"spec": nonres}, user=ADMIN, namespace="default", **ctx(objects, issuer))


async def test_self_subject_rules_review(objects: Objects, issuer: TokenIssuer) -> None:
    out = await handle_review("SelfSubjectRulesReview", {"spec": {"namespace": "default"}}, user=SA_USER, **ctx(objects, issuer))
    assert out["kind"] == "SelfSubjectRulesReview" and out["spec"] == {} and out["metadata"] == {}
    status = out["status"]
    assert status["incomplete"] is False
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in status["resourceRules"]
    assert any("pods" in r["resources"] and r["verbs"] == ["get", "list", "watch"] for r in status["resourceRules"])
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} in status["nonResourceRules"]
    admin = await handle_review("SelfSubjectRulesReview", {"spec": {"namespace": "default"}}, user=ADMIN, **ctx(objects, issuer))
    assert admin["status"]["resourceRules"][0] == {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    with pytest.raises(BadRequest):
        await handle_review("SelfSubjectRulesReview", {"spec": {}}, user=SA_USER, **ctx(objects, issuer))
