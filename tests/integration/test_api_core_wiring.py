"""The assembled API server over HTTPS with JSON bodies: tokens and reviews, CRDs served by the
CRD controller, fieldValidation and version conversion (kubectl reads where it works)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import unique, wait_until


@pytest.fixture(scope="module")
def http(api_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"https://127.0.0.1:{api_server.port}", verify=api_server.ssl_context(), timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def anon_tls(api_server: Any) -> Any:
    return api_server.ssl_context(client_cert=False)


def _post(http: httpx.Client, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json", **kw.pop("headers", {})}, **kw)


def test_token_request_reviews_and_rbac(http: httpx.Client, api_server: Any, anon_tls: Any) -> None:
    sa = unique("sa")
    assert _post(http, "/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": sa}}).status_code == 201
    r = _post(http, f"/api/v1/namespaces/default/serviceaccounts/{sa}/token",
              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})
    assert r.status_code == 201, r.text
    token = r.json()["status"]["token"]
    missing = _post(http, "/api/v1/namespaces/default/serviceaccounts/nope/token", {"spec": {}})
    assert missing.status_code == 404
    with httpx.Client(base_url=str(http.base_url), verify=anon_tls, headers={"Authorization": f"Bearer {token}"}) as c:
        who = _post(c, "/apis/authentication.k8s.io/v1/selfsubjectreviews", {})
        assert who.status_code == 201
        assert who.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:default:{sa}"
        denied = c.get("/api/v1/namespaces/default/secrets")
        assert denied.status_code == 403
        assert denied.json()["message"] == (
            f'secrets is forbidden: User "system:serviceaccount:default:{sa}" cannot list resource "secrets" '
            'in API group "" in the namespace "default"'
        )
        assert c.get("/openid/v1/jwks").json()["keys"][0]["alg"] == "RS256"
    review = _post(http, "/apis/authentication.k8s.io/v1/tokenreviews",
                   {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})
    assert review.json()["status"]["authenticated"] is True
    sar = _post(http, "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": f"system:serviceaccount:default:{sa}", "resourceAttributes": {"verb": "list", "resource": "secrets", "namespace": "default"}},
    })
    assert sar.status_code == 201 and sar.json()["status"]["allowed"] is False
    with httpx.Client(base_url=str(http.base_url), verify=anon_tls, headers={"Authorization": "Bearer nonsense"}) as c:
        assert c.get("/api/v1/namespaces").status_code == 401


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.wiring.example.com"},
    "spec": {
        "group": "wiring.example.com",
        "scope": "Namespaced",
        "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "shortNames": ["gz"]},
        "versions": [
            {
                "name": "v1", "served": True, "storage": True,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.count", "statusReplicasPath": ".status.count"}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "default": "blue"},
                        "count": {"type": "integer"},
                    }},
                    "status": {"type": "object", "properties": {"count": {"type": "integer"}}},
                }}},
            },
            {"name": "v1beta1", "served": True, "storage": False,
             "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        ],
    },
}
BASE = "/apis/wiring.example.com/v1/namespaces/default/gizmos"


def test_crd_lifecycle(http: httpx.Client, kctl: Any) -> None:
    r = _post(http, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    assert r.status_code == 201, r.text

    def established() -> bool:
        crd = http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.wiring.example.com").json()
        conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
        return conds.get("Established") == "True" and conds.get("NamesAccepted") == "True"

    wait_until(established)
    bad = _post(http, BASE + "?fieldValidation=Strict", {"apiVersion": "wiring.example.com/v1", "kind": "Gizmo",
                                                        "metadata": {"name": "g0"}, "spec": {"size": 2, "junk": 1}})
    assert bad.status_code == 400 and bad.json()["message"] == (
        'Gizmo in version "v1" cannot be handled as a Gizmo: strict decoding error: unknown field "spec.junk"'
    )
    invalid = _post(http, BASE, {"apiVersion": "wiring.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g0"}, "spec": {"size": 0}})
    assert invalid.status_code == 422
    created = _post(http, BASE, {"apiVersion": "wiring.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g1"},
                                 "spec": {"size": 3, "junk": 1}})
    assert created.status_code == 201
    assert created.headers.get("warning") == '299 - "unknown field \\"spec.junk\\""'
    assert created.json()["spec"] == {"size": 3, "color": "blue"}
    assert http.get(BASE.replace("/v1/", "/v1beta1/") + "/g1").json()["apiVersion"] == "wiring.example.com/v1beta1"
    table = kctl.ok("get", "gz", "-n", "default")
    assert table.split() == ["NAME", "SIZE", "g1", "3"], table
    status = http.patch(BASE + "/g1/status", content=json.dumps({"status": {"count": 2}}),
                        headers={"Content-Type": "application/merge-patch+json"})
    assert status.status_code == 200 and status.json()["status"] == {"count": 2}
    scale = http.patch(BASE + "/g1/scale", content=json.dumps({"spec": {"replicas": 4}}),
                       headers={"Content-Type": "application/merge-patch+json"})
    assert scale.json()["spec"]["replicas"] == 4 and scale.json()["status"]["replicas"] == 2
    assert http.get(BASE + "/g1").json()["spec"]["count"] == 4
    gone = http.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.wiring.example.com")
    assert gone.status_code == 200
    wait_until(lambda: http.get(BASE).status_code == 404)
    assert http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.wiring.example.com").status_code == 404


def test_hpa_served_at_both_versions(http: httpx.Client) -> None:
    name = unique("hpa")
    r = _post(http, "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", {
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, "maxReplicas": 4,
                 "targetCPUUtilizationPercentage": 60},
    })
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["targetCPUUtilizationPercentage"] == 60
    v2 = http.get(f"/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/{name}").json()
    assert v2["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}
    ]


def test_events_served_at_both_versions(http: httpx.Client) -> None:
    name = unique("ev")
    r = _post(http, "/apis/events.k8s.io/v1/namespaces/default/events", {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "x/y", "reportingInstance": "y-1",
        "action": "Test", "reason": "Tested", "type": "Normal", "note": "hello",
        "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
    })
    assert r.status_code == 201, r.text
    core = http.get(f"/api/v1/namespaces/default/events/{name}").json()
    assert core["message"] == "hello" and core["involvedObject"]["name"] == "p"
    assert core["reportingComponent"] == "x/y"
