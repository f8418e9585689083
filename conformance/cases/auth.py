"""Service accounts, tokens and reviews (no pods needed)."""

from __future__ import annotations

import base64
import json

from framework import Cluster, case, unique, wait_for


def _sa(name: str, **extra: object) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}, **extra}


@case("auth", "[sig-auth] ServiceAccounts should run through the lifecycle of a ServiceAccount")
def serviceaccount_lifecycle(cluster: Cluster) -> None:
    """ServiceAccounts: watch sees create and delete; patch and list by label"""
    with cluster.namespace("salife") as ns:
        coll = f"/api/v1/namespaces/{ns}/serviceaccounts"
        rv = cluster.read(coll)["metadata"]["resourceVersion"]
        sa = _sa("testserviceaccount")
        sa["metadata"]["labels"] = {"test-serviceaccount-static": "true"}
        cluster.create(coll, sa)
        patched = cluster.ok("PATCH", f"{coll}/testserviceaccount",
                             {"metadata": {"labels": {"test-serviceaccount": "patched"}},
                              "automountServiceAccountToken": False})
        assert patched["automountServiceAccountToken"] is False
        listed = cluster.read("/api/v1/serviceaccounts", params={"labelSelector": "test-serviceaccount-static=true"})
        mine = [i for i in listed["items"] if i["metadata"]["namespace"] == ns]
        assert len(mine) == 1 and mine[0]["metadata"]["labels"]["test-serviceaccount"] == "patched", mine
        cluster.ok("DELETE", coll, params={"labelSelector": "test-serviceaccount-static=true"})
        seen = []
        with cluster.watch(coll, resourceVersion=rv, labelSelector="test-serviceaccount-static=true",
                           timeoutSeconds=10) as events:
            for event in events:
                seen.append(event["type"])
                if event["type"] == "DELETED":
                    break
        assert seen == ["ADDED", "MODIFIED", "DELETED"], seen


@case("auth", "[sig-auth] ServiceAccounts should update a ServiceAccount")
def serviceaccount_update(cluster: Cluster) -> None:
    """ServiceAccounts: an update is stored"""
    coll = "/api/v1/namespaces/default/serviceaccounts"
    name = unique("sa-upd")
    cur = cluster.create(coll, _sa(name))
    cur["automountServiceAccountToken"] = True
    assert cluster.ok("PUT", f"{coll}/{name}", cur, expect=200)["automountServiceAccountToken"] is True
    cluster.delete(f"{coll}/{name}")


@case("auth", "[sig-auth] ServiceAccounts should create a serviceAccountToken and ensure a successful TokenReview")
def serviceaccount_token_review(cluster: Cluster) -> None:
    """ServiceAccounts: TokenRequest then TokenReview authenticates the service account"""
    coll = "/api/v1/namespaces/default/serviceaccounts"
    name = unique("sa-tok")
    cluster.create(coll, _sa(name))
    try:
        tr = cluster.ok("POST", f"{coll}/{name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600}}, expect=201)
        assert tr["kind"] == "TokenRequest" and tr["status"]["token"], tr
        assert tr["status"]["expirationTimestamp"]
        review = cluster.ok("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": tr["status"]["token"]}}, expect=201)
        status = review["status"]
        assert status["authenticated"] is True and not status.get("error"), status
        assert status["user"]["username"] == f"system:serviceaccount:default:{name}", status
        assert "system:serviceaccounts:default" in status["user"]["groups"], status
        bad = cluster.ok("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": tr["status"]["token"][:-4] + "AAAA"}}, expect=201)
        assert bad["status"].get("authenticated") in (None, False), bad
    finally:
        cluster.delete(f"{coll}/{name}")


@case("auth", "[sig-auth] ServiceAccounts should guarantee kube-root-ca.crt exist in any namespace")
def kube_root_ca(cluster: Cluster) -> None:
    """ServiceAccounts: kube-root-ca.crt is created, recreated and reconciled in every namespace"""
    with cluster.namespace("rootca") as ns:
        path = f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt"
        got = wait_for(lambda: cluster.get(path).status_code == 200 and cluster.read(path), timeout=20,
                       what="kube-root-ca.crt created")
        ca = got["data"]["ca.crt"]
        assert ca.startswith("-----BEGIN CERTIFICATE-----"), ca
        cluster.ok("DELETE", path)
        wait_for(lambda: cluster.get(path).status_code == 200, timeout=20, what="recreated")
        cluster.ok("PATCH", path, {"data": {"ca.crt": "changed"}})
        wait_for(lambda: cluster.read(path)["data"]["ca.crt"] == ca, timeout=20, what="reconciled")


@case("auth", "[sig-auth] SubjectReview should support SubjectReview API operations")
def subject_review(cluster: Cluster) -> None:
    """SubjectReview: SAR and LocalSAR answers match what the service account may do"""
    with cluster.namespace("sar") as ns:
        name = "e2e-sa"
        cluster.create(f"/api/v1/namespaces/{ns}/serviceaccounts", _sa(name))
        user = f"system:serviceaccount:{ns}:{name}"
        attrs = {"namespace": ns, "verb": "list", "resource": "configmaps"}
        sar = cluster.ok("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts"], "resourceAttributes": attrs}}, expect=201)
        assert sar["status"]["allowed"] is False, sar
        impersonated = cluster.get(f"/api/v1/namespaces/{ns}/configmaps", headers={"Impersonate-User": user})
        assert impersonated.status_code == 403, impersonated.text
        cluster.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})
        cluster.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "cm-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})

        def allowed() -> bool:
            local = cluster.ok("POST", f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews", {
                "apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
                "metadata": {"namespace": ns},
                "spec": {"user": user, "resourceAttributes": attrs}}, expect=201)
            return bool(local["status"]["allowed"])

        wait_for(allowed, what="LocalSubjectAccessReview allowed after binding")
        impersonated = cluster.get(f"/api/v1/namespaces/{ns}/configmaps", headers={"Impersonate-User": user})
        assert impersonated.status_code == 200, impersonated.text


@case("auth", "[sig-auth] ServiceAccounts ServiceAccountIssuerDiscovery should support OIDC discovery of service account issuer")
def oidc_discovery(cluster: Cluster) -> None:
    """ServiceAccounts: the issuer's OIDC discovery document and JWKS verify a token's key id"""
    config = cluster.read("/.well-known/openid-configuration")
    assert config["jwks_uri"].endswith("/openid/v1/jwks"), config
    assert "RS256" in config["id_token_signing_alg_values_supported"], config
    jwks = cluster.read("/openid/v1/jwks")
    kids = {k["kid"] for k in jwks["keys"]}
    name = unique("sa-oidc")
    coll = "/api/v1/namespaces/default/serviceaccounts"
    cluster.create(coll, _sa(name))
    try:
        token = cluster.ok("POST", f"{coll}/{name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}, expect=201)["status"]["token"]
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=" * (-len(token.split(".")[1]) % 4)))
        assert header["alg"] == "RS256" and header["kid"] in kids, (header, kids)
        assert payload["iss"] == config["issuer"], (payload, config)
    finally:
        cluster.delete(f"{coll}/{name}")
