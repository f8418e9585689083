"""RequestInfo as upstream's RequestInfoFactory derives it."""

import pytest

from k3trio.apiserver.request_info import request_info


@pytest.mark.parametrize(
    "method,path,query,expect",
    [
        ("GET", "/api/v1/namespaces/ns/pods/p", {}, ("get", "", "v1", "ns", "pods", "p", "")),
        ("GET", "/api/v1/namespaces/ns/pods", {}, ("list", "", "v1", "ns", "pods", "", "")),
        ("GET", "/api/v1/pods", {"watch": ["true"]}, ("watch", "", "v1", "", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/ns/pods/p", {}, ("watch", "", "v1", "ns", "pods", "p", "")),
        ("PUT", "/api/v1/namespaces/ns/pods/p/status", {}, ("update", "", "v1", "ns", "pods", "p", "status")),
        ("GET", "/api/v1/namespaces/ns", {}, ("get", "", "v1", "ns", "namespaces", "ns", "")),
        ("PUT", "/api/v1/namespaces/ns/finalize", {}, ("update", "", "v1", "ns", "namespaces", "ns", "finalize")),
        ("DELETE", "/apis/apps/v1/namespaces/ns/deployments", {}, ("deletecollection", "apps", "v1", "ns", "deployments", "", "")),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {}, ("patch", "apps", "v1", "ns", "deployments", "d", "scale")),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {}, ("create", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "", "")),
        ("GET", "/api/v1/namespaces/ns/pods", {"fieldSelector": ["metadata.name=x"]}, ("list", "", "v1", "ns", "pods", "x", "")),
    ],
)
def test_resource_requests(method, path, query, expect):
    info = request_info(method, path, query)
    assert info.is_resource_request
    got = (info.verb, info.api_group, info.api_version, info.namespace, info.resource, info.name, info.subresource)
    assert got == expect


@pytest.mark.parametrize("path", ["/healthz", "/api", "/apis", "/apis/apps", "/api/v1", "/apis/apps/v1", "/openapi/v2"])
def test_non_resource_requests(path):
    info = request_info("GET", path, {})
    assert not info.is_resource_request
    assert info.verb == "get"
