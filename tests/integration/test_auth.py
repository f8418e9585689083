"""Authentication, tokens, RBAC and the review APIs end to end with real kubectl.

Complements ``test_kubectl_auth.py`` (whoami, can-i, create token, 403 texts) with the
review objects created directly, the OIDC discovery documents, bound pod tokens and
impersonation. Requests go as JSON (``create -f`` / ``create --raw``) so these tests depend
only on the auth pieces. The module is skipped while the server does not answer a
SelfSubjectAccessReview (the review APIs are not routed yet).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Kubectl, unique, wait_until


@pytest.fixture(scope="module", autouse=True)
def _served(kctl: Kubectl) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}}
    probe = kctl.run("create", "--validate=false", "-f", "-", "-o", "json", input=json.dumps(review))
    if probe.returncode != 0 or '"allowed"' not in probe.stdout:
        pytest.skip(f"the server does not answer SelfSubjectAccessReview yet: {probe.stderr.strip()}")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token_kubeconfig(kctl: Kubectl, token: str, path: Path) -> Path:
    cfg = yaml.safe_load(kctl.kubeconfig.read_text())
    for user in cfg["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _create_json(kctl: Kubectl, obj: dict[str, Any], *args: str, **kwargs: Any) -> dict[str, Any]:
    return json.loads(kctl.ok("create", "--validate=false", "-f", "-", "-o", "json", *args, input=json.dumps(obj), **kwargs))


def _service_account(kctl: Kubectl, prefix: str) -> str:
    name = unique(prefix)
    _create_json(kctl, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    return name


def _token(kctl: Kubectl, sa: str, tmp_path: Path, **spec: Any) -> str:
    body = tmp_path / f"{sa}-request.json"
    body.write_text(json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}))
    out = json.loads(kctl.ok("create", "--raw", f"/api/v1/namespaces/default/serviceaccounts/{sa}/token", "-f", str(body)))
    assert out["kind"] == "TokenRequest" and out["spec"]["boundObjectRef"] == spec.get("boundObjectRef"), out
    return str(out["status"]["token"])


def test_token_review_of_a_fresh_token(kctl: Kubectl, tmp_path: Path) -> None:
    sa = _service_account(kctl, "tr")
    token = _token(kctl, sa, tmp_path, audiences=["demo"], expirationSeconds=900)
    claims = _claims(token)
    assert claims["aud"] == ["demo"] and claims["exp"] - claims["iat"] == 900
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": token, "audiences": ["demo"]}}
    out = _create_json(kctl, review)
    assert out["status"]["authenticated"] is True, out
    assert out["status"]["audiences"] == ["demo"]
    assert out["status"]["user"]["username"] == f"system:serviceaccount:default:{sa}"
    # The same token for the API audiences: not authenticated, with the reason.
    out = _create_json(kctl, {**review, "spec": {"token": token}})
    assert not out["status"].get("authenticated"), out
    assert "is invalid for the target audiences" in out["status"]["error"]


def test_subject_access_reviews(kctl: Kubectl) -> None:
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
           "spec": {"user": "nobody", "resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}}}
    assert _create_json(kctl, sar)["status"]["allowed"] is False
    sar["spec"]["groups"] = ["system:masters"]
    assert _create_json(kctl, sar)["status"]["allowed"] is True
    err = kctl.fail("create", "--validate=false", "-f", "-", input=json.dumps({**sar, "spec": {"user": "x"}}))
    assert "exactly one of nonResourceAttributes or resourceAttributes must be specified" in err, err
    nonres = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}
    assert _create_json(kctl, nonres)["status"]["allowed"] is True


def test_oidc_discovery(kctl: Kubectl, tmp_path: Path) -> None:
    config = json.loads(kctl.ok("get", "--raw", "/.well-known/openid-configuration"))
    assert config["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert config["jwks_uri"].endswith("/openid/v1/jwks")
    jwks = json.loads(kctl.ok("get", "--raw", "/openid/v1/jwks"))
    (key,) = jwks["keys"]
    token = _token(kctl, _service_account(kctl, "oidc"), tmp_path)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": key["kid"]}


def test_pod_bound_token_dies_with_the_pod(kctl: Kubectl, tmp_path: Path) -> None:
    sa, pod = _service_account(kctl, "bound"), unique("pod")
    created = _create_json(kctl, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
                                  "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "busybox"}]}})
    ref = {"kind": "Pod", "apiVersion": "v1", "name": pod, "uid": created["metadata"]["uid"]}
    token = _token(kctl, sa, tmp_path, boundObjectRef=ref)
    assert _claims(token)["kubernetes.io"]["pod"] == {"name": pod, "uid": ref["uid"]}
    kubeconfig = _token_kubeconfig(kctl, token, tmp_path / "bound.yaml")
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    who = _create_json(kctl, review, kubeconfig=kubeconfig)
    assert who["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-name"] == [pod]
    kctl.ok("delete", "pod", pod, "--grace-period=0", "--force", "--wait=false")
    # Accepted tokens are remembered for 10 s (upstream's TokenSuccessCacheTTL).
    rejected = wait_until(
        lambda: (r := kctl.run("create", "--validate=false", "-f", "-", input=json.dumps(review),
                               kubeconfig=kubeconfig)).returncode != 0 and r,
        timeout=20, interval=0.5)
    assert "Unauthorized" in rejected.stderr, rejected.stderr


def test_token_rbac_denial_then_allow(kctl: Kubectl, tmp_path: Path) -> None:
    sa = _service_account(kctl, "rb")
    kubeconfig = _token_kubeconfig(kctl, _token(kctl, sa, tmp_path), tmp_path / "rb.yaml")
    err = kctl.fail("get", "configmaps", kubeconfig=kubeconfig)
    assert err.strip() == (
        f'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:default:{sa}" '
        'cannot list resource "configmaps" in API group "" in the namespace "default"'
    ), err
    _create_json(kctl, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": sa},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "default"}]})
    wait_until(lambda: kctl.run("get", "configmaps", kubeconfig=kubeconfig).returncode == 0)
    ssar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "configmaps"}}}
    assert _create_json(kctl, ssar, kubeconfig=kubeconfig)["status"] == {
        "allowed": True,
        "reason": f'RBAC: allowed by RoleBinding "{sa}/default" of ClusterRole "view" to ServiceAccount "{sa}/default"',
    }
    rules = _create_json(kctl, {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                                "spec": {"namespace": "default"}}, kubeconfig=kubeconfig)
    assert any("configmaps" in r["resources"] for r in rules["status"]["resourceRules"]), rules


def test_impersonation_needs_permission(kctl: Kubectl, tmp_path: Path) -> None:
    sa = _service_account(kctl, "imp")
    kubeconfig = _token_kubeconfig(kctl, _token(kctl, sa, tmp_path), tmp_path / "imp.yaml")
    err = kctl.fail("get", "configmaps", "--as=bob", kubeconfig=kubeconfig)
    assert (
        f'users "bob" is forbidden: User "system:serviceaccount:default:{sa}" cannot impersonate resource '
        '"users" in API group "" at the cluster scope'
    ) in err, err
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    who = _create_json(kctl, review, "--as=bob", "--as-group=devs")
    assert who["status"]["userInfo"]["username"] == "bob"
    assert who["status"]["userInfo"]["groups"] == ["devs", "system:authenticated"]
