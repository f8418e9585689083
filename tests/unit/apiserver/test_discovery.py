"""Discovery documents and OpenAPI serving, compared with kube-apiserver v1.36 shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k3trio.api.openapi_data import openapi_v3_group_versions
from k3trio.api.registry import BUILTIN
from k3trio.apiserver import discovery
from k3trio.apiserver.discovery_accept import parse_accept

KUBECTL_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)

CRD: dict[str, Any] = {
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {
        "group": "stable.example.com",
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"],
                  "categories": ["all"]},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
             "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                 "spec": {"type": "object", "description": "The spec.",
                          "properties": {"cronSpec": {"type": "string", "description": "Cron line."}}}}}}},
            {"name": "v1beta1", "served": True, "storage": False,
             "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        ],
    },
}


def _get(path: str, accept: str = "application/json", registry: Any = BUILTIN, **kw: Any) -> Any:
    resp = discovery.handle(path, registry, accept=accept, **kw)
    assert resp is not None and resp.status == 200, resp
    return json.loads(resp.body)


def test_non_discovery_paths_are_not_handled() -> None:
    for path in ("/api/v1/pods", "/apis/apps/v1/deployments", "/healthz", "/version", "/openapi/v4"):
        assert discovery.render(path, "application/json", BUILTIN) is None


def test_api_versions() -> None:
    status, body, ctype = discovery.render("/api", "application/json", BUILTIN, "10.0.0.1:6443")
    assert (status, ctype) == (200, "application/json")
    assert body.endswith(b"\n")
    assert json.loads(body) == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}],
    }


def test_api_group_list_matches_swagger_group_versions() -> None:
    doc = _get("/apis")
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    groups = doc["groups"]
    assert groups[0]["name"] == "apiregistration.k8s.io"
    autoscaling = next(g for g in groups if g["name"] == "autoscaling")
    assert autoscaling["versions"] == [
        {"groupVersion": "autoscaling/v2", "version": "v2"},
        {"groupVersion": "autoscaling/v1", "version": "v1"},
    ]
    assert autoscaling["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}
    served = {gv["groupVersion"] for g in groups for gv in g["versions"]}
    in_swagger = {k.split("/", 1)[1] for k in openapi_v3_group_versions() if k.startswith("apis/")}
    assert served <= in_swagger
    assert "serverAddressByClientCIDRs" not in json.dumps(doc)


def test_api_group() -> None:
    assert _get("/apis/apps/") == {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
    }
    resp = discovery.handle("/apis/nope.example.com", BUILTIN)
    assert resp is not None and resp.status == 404
    assert json.loads(resp.body)["message"] == "the server could not find the requested resource"


def test_core_resource_list() -> None:
    doc = _get("/api/v1")
    assert "apiVersion" not in doc and doc["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    names = [r["name"] for r in doc["resources"]]
    assert names == sorted(names)
    assert by_name["configmaps"] == {
        "name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["cm"], "storageVersionHash": "qFsyl6wFWjQ=",
    }
    assert by_name["pods"]["categories"] == ["all"]
    assert by_name["pods/status"] == {"name": "pods/status", "singularName": "", "namespaced": True,
                                      "kind": "Pod", "verbs": ["get", "patch", "update"]}
    assert by_name["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                        "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}
    assert by_name["pods/exec"]["kind"] == "PodExecOptions" and "group" not in by_name["pods/exec"]
    assert "storageVersionHash" not in by_name["bindings"]


def test_group_resource_list() -> None:
    doc = _get("/apis/apps/v1")
    assert doc["apiVersion"] == "v1" and doc["groupVersion"] == "apps/v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["deployments"]["storageVersionHash"] == "8aSe+NMegvE="
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert by_name["deployments/scale"]["group"] == "autoscaling"
    # HPAs of both versions hash their storage version (autoscaling/v2)
    v1 = {r["name"]: r for r in _get("/apis/autoscaling/v1")["resources"]}
    v2 = {r["name"]: r for r in _get("/apis/autoscaling/v2")["resources"]}
    assert v1["horizontalpodautoscalers"]["storageVersionHash"] == v2["horizontalpodautoscalers"]["storageVersionHash"]


def test_aggregated_discovery_negotiation() -> None:
    for path, legacy in (("/api", True), ("/apis", False)):
        resp = discovery.handle(path, BUILTIN, accept=KUBECTL_ACCEPT)
        assert resp is not None and resp.status == 200
        assert resp.content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        doc = json.loads(resp.body)
        assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
        assert (doc["items"][0]["metadata"].get("name") is None) == legacy
    beta = discovery.handle(
        "/apis", BUILTIN, accept="application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    )
    assert beta is not None
    assert beta.content_type == "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    assert json.loads(beta.body)["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    plain = discovery.handle("/apis", BUILTIN, accept="application/json;q=0.9,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    assert plain is not None and plain.content_type.startswith("application/json;g=")
    unsupported = discovery.handle("/apis", BUILTIN, accept="application/vnd.kubernetes.protobuf")
    assert unsupported is not None and unsupported.status == 406
    # aggregated documents are not offered on group-version paths
    gv = discovery.handle("/apis/apps/v1", BUILTIN, accept=KUBECTL_ACCEPT)
    assert gv is not None and gv.content_type == "application/json"


def test_aggregated_resource_shapes_and_etag() -> None:
    resp = discovery.handle("/api", BUILTIN, accept=KUBECTL_ACCEPT)
    assert resp is not None
    doc = json.loads(resp.body)
    core = doc["items"][0]
    assert core["metadata"] == {"creationTimestamp": None}
    version = core["versions"][0]
    assert version["version"] == "v1" and version["freshness"] == "Current"
    pods = next(r for r in version["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert subs["status"]["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    etag = dict(resp.headers)["ETag"]
    again = discovery.handle("/api", BUILTIN, accept=KUBECTL_ACCEPT, if_none_match=etag)
    assert again is not None and again.status == 304 and again.body == b""


def test_crd_in_discovery() -> None:
    reg = BUILTIN.with_crd(CRD)
    groups = _get("/apis", registry=reg)["groups"]
    group = next(g for g in groups if g["name"] == "stable.example.com")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    resources = _get("/apis/stable.example.com/v1", registry=reg)["resources"]
    assert [r["name"] for r in resources] == ["crontabs", "crontabs/status"]
    assert resources[0]["shortNames"] == ["ct"] and resources[0]["categories"] == ["all"]
    agg = _get("/apis", KUBECTL_ACCEPT, registry=reg)
    item = next(i for i in agg["items"] if i["metadata"]["name"] == "stable.example.com")
    res = item["versions"][0]["resources"][0]
    assert res["responseKind"] == {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}
    assert res["subresources"][0]["responseKind"]["group"] == "stable.example.com"
    # the old snapshot does not see it (bodies are cached per snapshot)
    assert "stable.example.com" not in [g["name"] for g in _get("/apis")["groups"]]


def test_openapi_v3_index_and_documents() -> None:
    reg = BUILTIN.with_crd(CRD)
    index = _get("/openapi/v3", registry=reg)
    paths = index["paths"]
    assert "api/v1" in paths and "apis/apps/v1" in paths and "apis/stable.example.com/v1" in paths
    url = paths["apis/stable.example.com/v1"]["serverRelativeURL"]
    digest = url.split("hash=")[1]
    assert len(digest) == 128 and digest == digest.upper()
    resp = discovery.handle(url, reg, accept="application/json")
    assert resp is not None and resp.status == 200
    headers = dict(resp.headers)
    assert headers["Cache-Control"] == "public, immutable" and headers["ETag"] == f'"{digest}"'
    assert "Expires" in headers
    doc = json.loads(resp.body)
    spec = doc["components"]["schemas"]["com.example.stable.v1.CronTab"]["properties"]["spec"]
    assert spec["properties"]["cronSpec"]["description"] == "Cron line."
    stale = discovery.handle("/openapi/v3/apis/stable.example.com/v1?hash=0", reg)
    assert stale is not None and stale.status == 301
    assert dict(stale.headers)["Location"] == url
    plain = discovery.handle("/openapi/v3/apis/apps/v1", reg)
    assert plain is not None and plain.status == 200 and "Cache-Control" not in dict(plain.headers)
    missing = discovery.handle("/openapi/v3/apis/nope/v1", reg)
    assert missing is not None and missing.status == 404
    proto = discovery.handle("/openapi/v3/api/v1", reg, accept="application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
    assert proto is not None and proto.status == 406


def test_openapi_v2_negotiation() -> None:
    only_proto = discovery.handle("/openapi/v2", BUILTIN, accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert only_proto is not None and only_proto.status == 406
    both = discovery.handle(
        "/openapi/v2", BUILTIN,
        accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf,application/json;q=0.9",
    )
    assert both is not None and both.status == 200 and both.content_type == "application/json"
    reg = BUILTIN.with_crd(CRD)
    resp = discovery.handle("/openapi/v2", reg, accept="*/*")
    assert resp is not None
    doc = json.loads(resp.body)
    assert doc["swagger"] == "2.0"
    cr = doc["definitions"]["com.example.stable.v1.CronTab"]
    assert cr["properties"]["metadata"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("", ("*", "*")),
        ("application/json;q=0.5, application/yaml", ("application", "yaml")),
        ("*/*, application/json", ("application", "json")),
        ("text/plain;q=0, application/json", ("application", "json")),
    ],
)
def test_accept_ordering(header: str, first: tuple[str, str]) -> None:
    clause = parse_accept(header)[0]
    assert (clause.type, clause.subtype) == first
