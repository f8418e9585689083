"""Client verbs build the upstream requests; responses and errors are typed.

The HTTP side is an ``httpx.MockTransport`` recording requests (the real server is covered
by the integration tests).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from k3trio import version
from k3trio.client.api import Client
from k3trio.client.config import ClientConfig
from k3trio.client.errors import (
    Conflict,
    ConnectionFailed,
    Expired,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from k3trio.client.resource import CONFIGMAPS, LEASES, NODES, PODS, Resource

Handler = Any


def make(handler: Handler, **cfg: Any) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    config = ClientConfig(server="https://k:6443", namespace="team", component="tests", **cfg)
    return Client(config, transport=httpx.MockTransport(record)), seen


def ok(request: httpx.Request) -> httpx.Response:
    body = request.content or b"{}"
    return httpx.Response(200, content=body if body.startswith(b"{") else b"{}")


async def test_paths_and_headers() -> None:
    client, seen = make(ok, token="tok")
    async with client:
        await client.get(PODS, "p1")  # namespaced: the config namespace
        await client.get(NODES, "n1", namespace="ignored")
        await client.get(("apps", "v1", "deployments"), "d", namespace="x", subresource="scale")
        await client.list(PODS, label_selector="a=b", field_selector="spec.nodeName=n",
                          limit=5, resource_version="0", resource_version_match="NotOlderThan")
        await client.list(LEASES, namespace="kube-system", as_table=True)
    paths = [str(r.url.path) for r in seen]
    assert paths == [
        "/api/v1/namespaces/team/pods/p1",
        "/api/v1/nodes/n1",
        "/apis/apps/v1/namespaces/x/deployments/d/scale",
        "/api/v1/pods",
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
    ]
    assert dict(seen[3].url.params) == {
        "labelSelector": "a=b", "fieldSelector": "spec.nodeName=n", "limit": "5",
        "resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"}
    assert seen[0].headers["user-agent"] == f"k3trio/{version.__version__} (tests)"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert "as=Table" in seen[4].headers["accept"]


async def test_writes() -> None:
    client, seen = make(ok)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}}
    async with client:
        await client.create(CONFIGMAPS, cm, dry_run=True, field_manager="me",
                            field_validation="Strict")
        await client.update(CONFIGMAPS, {**cm, "data": {"a": "1"}})
        await client.update_status(PODS, {"metadata": {"name": "p"}, "status": {}})
        await client.patch(CONFIGMAPS, "c", [{"op": "add", "path": "/data/b", "value": "2"}],
                           patch_type="json", namespace="ns")
        await client.patch(PODS, "p", {"metadata": {"labels": {"x": "y"}}},
                           patch_type="strategic")
        await client.apply(CONFIGMAPS, cm, field_manager="mgr", force=True)
        await client.create(PODS, {"target": {"name": "n1"}}, name="p", subresource="binding",
                            namespace="ns")
        await client.delete(PODS, "p", propagation_policy="Foreground", grace_period_seconds=0,
                            uid="u1", resource_version="7")
        await client.delete_collection(CONFIGMAPS, namespace="ns", label_selector="a=b")
    methods = [(r.method, r.url.path) for r in seen]
    assert methods == [
        ("POST", "/api/v1/namespaces/ns/configmaps"),
        ("PUT", "/api/v1/namespaces/ns/configmaps/c"),
        ("PUT", "/api/v1/namespaces/team/pods/p/status"),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/c"),
        ("PATCH", "/api/v1/namespaces/team/pods/p"),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/c"),
        ("POST", "/api/v1/namespaces/ns/pods/p/binding"),
        ("DELETE", "/api/v1/namespaces/team/pods/p"),
        ("DELETE", "/api/v1/namespaces/ns/configmaps"),
    ]
    assert dict(seen[0].url.params) == {"dryRun": "All", "fieldManager": "me",
                                        "fieldValidation": "Strict"}
    ctypes = [seen[i].headers.get("content-type") for i in (3, 4, 5)]
    assert ctypes == ["application/json-patch+json", "application/strategic-merge-patch+json",
                      "application/apply-patch+yaml"]
    assert dict(seen[5].url.params) == {"fieldManager": "mgr", "force": "true"}
    assert json.loads(seen[7].content) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0, "preconditions": {"uid": "u1", "resourceVersion": "7"}}
    assert dict(seen[8].url.params) == {"labelSelector": "a=b"}
    with pytest.raises(ValueError):
        await client.patch(CONFIGMAPS, "c", {}, patch_type="apply")


async def test_errors_are_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound",
                                             "message": 'configmaps "c" not found'})
        if request.method == "PUT":
            return httpx.Response(409, json={"kind": "Status", "code": 409, "reason": "Conflict",
                                             "message": "the object has been modified"})
        raise httpx.ConnectError("refused")

    client, _ = make(handler)
    async with client:
        with pytest.raises(NotFound, match='configmaps "c" not found'):
            await client.get(CONFIGMAPS, "c")
        with pytest.raises(Conflict):
            await client.update(CONFIGMAPS, {"metadata": {"name": "c"}})
        with pytest.raises(ConnectionFailed):
            await client.delete(CONFIGMAPS, "c")


async def test_pagination() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("continue")
        page = {None: (["a", "b"], "t1"), "t1": (["c"], "")}[token]
        return httpx.Response(200, json={
            "kind": "ConfigMapList", "metadata": {"resourceVersion": "9", "continue": page[1]},
            "items": [{"metadata": {"name": n}} for n in page[0]]})

    client, seen = make(handler)
    async with client:
        items, rv = await client.list_all(CONFIGMAPS, limit=2)
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]
    assert rv == "9"
    assert [r.url.params.get("continue") for r in seen] == [None, "t1"]


async def test_watch_stream() -> None:
    lines = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "2"}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "3"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                     "message": "too old resource version: 1 (3)"}},
    ]
    body = b"".join(json.dumps(x).encode() + b"\n" for x in lines)

    class Chunks(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            for i in range(0, len(body), 7):
                await trio.lowlevel.checkpoint()
                yield body[i:i + 7]

    client, seen = make(lambda r: httpx.Response(200, stream=Chunks()))
    got = []
    async with client:
        with pytest.raises(Expired):
            async with client.watch(CONFIGMAPS, namespace="ns", resource_version="1",
                                    timeout_seconds=60, name="a") as events:
                async for event in events:
                    got.append((event.type, event.resource_version))
    assert got == [("ADDED", "2"), ("BOOKMARK", "3")]
    assert dict(seen[0].url.params) == {
        "fieldSelector": "metadata.name=a", "resourceVersion": "1", "timeoutSeconds": "60",
        "watch": "true", "allowWatchBookmarks": "true"}


async def test_watch_open_error() -> None:
    client, _ = make(lambda r: httpx.Response(
        410, json={"kind": "Status", "code": 410, "reason": "Expired", "message": "gone"}))
    async with client:
        with pytest.raises(Expired):
            async with client.watch(PODS, resource_version="1"):
                pass


async def test_discovery_aggregated_and_resolution() -> None:
    core = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
        {"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
            {"resource": "pods", "responseKind": {"kind": "Pod"}, "scope": "Namespaced",
             "singularResource": "pod", "shortNames": ["po"], "verbs": ["get", "list"],
             "subresources": [{"subresource": "status"}, {"subresource": "log"}]}]}]}]}
    apis = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
        {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [
            {"resource": "deployments", "responseKind": {"kind": "Deployment"},
             "scope": "Namespaced", "singularResource": "deployment", "shortNames": ["deploy"]}]}]},
        {"metadata": {"name": "example.com"}, "versions": [
            {"version": "v2", "resources": [{"resource": "widgets", "responseKind": {"kind": "Widget"},
                                             "scope": "Cluster", "singularResource": "widget"}]},
            {"version": "v1", "resources": [{"resource": "widgets", "responseKind": {"kind": "Widget"},
                                             "scope": "Cluster", "singularResource": "widget"}]}]}]}

    def handler(request: httpx.Request) -> httpx.Response:
        assert "apidiscovery.k8s.io" in request.headers["accept"]
        return httpx.Response(200, json=core if request.url.path == "/api" else apis)

    client, seen = make(handler)
    async with client:
        d = client.discovery
        po = await d.find("po")
        assert (po.resource, po.kind, po.namespaced, po.subresources) == (
            "pods", "Pod", True, ("status", "log"))
        assert (await d.find("Deployment")).group == "apps"
        assert (await d.find("deploy.apps")).resource == "deployments"
        assert (await d.find("widgets")).version == "v2"
        assert (await d.find("widget.v1.example.com")).version == "v1"
        assert (await d.for_kind("example.com/v1", "Widget")).namespaced is False
        assert len(seen) == 2  # cached
        from k3trio.client.discovery import ResourceNotFound
        with pytest.raises(ResourceNotFound):
            await d.find("nothing")


async def test_discovery_legacy_fallback() -> None:
    docs = {
        "/api": {"kind": "APIVersions", "versions": ["v1"]},
        "/apis": {"kind": "APIGroupList", "groups": [{"name": "apps", "versions": [
            {"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
             "verbs": ["get"], "shortNames": ["no"]},
            {"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node"}]},
        "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
            {"name": "replicasets", "singularName": "replicaset", "namespaced": True,
             "kind": "ReplicaSet", "shortNames": ["rs"]}]},
    }
    client, _ = make(lambda r: httpx.Response(200, json=docs[r.url.path]))
    async with client:
        no = await client.discovery.find("no")
        assert no == Resource("", "v1", "nodes", "Node", False, ("get",), ("no",), (),
                              ("status",), "node")
        assert (await client.discovery.find("rs")).api_version == "apps/v1"


async def test_retry_after_is_honoured(autojump_clock: trio.testing.MockClock) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "2"},
                       json={"kind": "Status", "code": 429, "reason": "TooManyRequests"}),
        httpx.Response(503, headers={"Retry-After": "1"}, json={"kind": "Status", "code": 503}),
        httpx.Response(200, json={"kind": "ConfigMap"}),
    ]
    client, seen = make(lambda r: answers.pop(0))
    start = trio.current_time()
    async with client:
        assert (await client.get(CONFIGMAPS, "c"))["kind"] == "ConfigMap"
    assert len(seen) == 3
    assert trio.current_time() - start == pytest.approx(3)
    client2, _ = make(lambda r: httpx.Response(
        429, headers={"Retry-After": "1"}, json={"kind": "Status", "code": 429}))
    async with client2:
        with pytest.raises(TooManyRequests) as info:
            await client2.get(CONFIGMAPS, "c")
    assert info.value.retry_after == 1.0
    client3, seen3 = make(lambda r: httpx.Response(503, json={"kind": "Status", "code": 503}))
    async with client3:
        with pytest.raises(ServiceUnavailable):
            await client3.get(CONFIGMAPS, "c")
    assert len(seen3) == 1  # no Retry-After: no retry


def test_config_from_pki(tmp_path: Any) -> None:
    from k3trio.pki import ServingNames, ensure_server_pki, first_service_ip

    pki = ensure_server_pki(tmp_path, sans=ServingNames(hostname="node-a"),
                            cluster_domain="cluster.local",
                            service_ip=first_service_ip("10.43.0.0/16"), node_name="node-a")
    cfg = ClientConfig.from_pki(pki, "scheduler", "https://127.0.0.1:6443")
    assert cfg.component == "scheduler"
    assert cfg.ca_pem == pki.server_ca_pem
    assert cfg.client_cert_pem == pki.client("scheduler").cert_pem
    cfg.ssl_context()


@pytest.mark.parametrize(
    ("exc", "method", "retried"),
    [
        (httpx.RemoteProtocolError("<ConnectionTerminated error_code:0, last_stream_id:2001>"),
         "PUT", True),
        (httpx.RemoteProtocolError("<ConnectionTerminated error_code:0, last_stream_id:2001>"),
         "POST", False),
        (httpx.WriteError("Broken pipe"), "GET", True),
        (httpx.WriteError("Broken pipe"), "DELETE", False),
        (httpx.ConnectError("refused"), "GET", False),
    ],
)
async def test_lost_connections_retry_only_safe_requests(
    exc: Exception, method: str, retried: bool
) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise exc
        return httpx.Response(200, json={})

    client, _ = make(handler)
    async with client:
        if retried:
            await client.request(method, "/api/v1/namespaces/default/configmaps/c")
        else:
            with pytest.raises(ConnectionFailed):
                await client.request(method, "/api/v1/namespaces/default/configmaps/c")
    assert len(calls) == (2 if retried else 1)


async def test_stream_bytes() -> None:
    class Chunks(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            for part in (b"line 1\n", b"line", b" 2\n"):
                yield part

    client, seen = make(lambda r: httpx.Response(200, stream=Chunks()))
    async with client:
        async with client.stream_bytes(PODS, "p", namespace="ns",
                                       params={"follow": "true", "container": "c"}) as chunks:
            body = b"".join([c async for c in chunks])
    assert body == b"line 1\nline 2\n"
    assert seen[0].url.path == "/api/v1/namespaces/ns/pods/p/log"
    assert dict(seen[0].url.params) == {"follow": "true", "container": "c"}
    missing, _ = make(lambda r: httpx.Response(404, json={"kind": "Status", "code": 404,
                                                           "reason": "NotFound"}))
    async with missing:
        with pytest.raises(NotFound):
            async with missing.stream_bytes(PODS, "p"):
                pass


async def test_client_side_throttle(autojump_clock: trio.testing.MockClock) -> None:
    client, seen = make(ok, qps=5.0, burst=2)
    times = []
    async with client:
        for _ in range(6):
            await client.get(CONFIGMAPS, "c")
            times.append(trio.current_time())
    assert len(seen) == 6
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == pytest.approx([0, 0.2, 0.2, 0.2, 0.2])
