"""Real kubectl against the discovery and OpenAPI documents.

A plain-HTTP server in this process serves only :func:`k3trio.apiserver.discovery.handle`
for a registry holding a CRD, so kubectl's discovery, resource resolution and ``explain``
(OpenAPI v3) are exercised against exactly what the API server would send, independently
of storage and controllers. ``test_against_server`` repeats the built-in checks against a
full ``k3trio server``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from k3trio.api.registry import BUILTIN, Registry
from k3trio.apiserver import discovery

from .conftest import Kubectl

GROUP = "stable.example.com"
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
                  "shortNames": ["wd"], "categories": ["gadgets"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "Widget is a test resource.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "description": "WidgetSpec describes the desired widget.",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "description": "How big the widget is."},
                                    "color": {"type": "string", "enum": ["red", "green"]},
                                },
                            },
                            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                        },
                    }
                },
            }
        ],
    },
}


class _Handler(BaseHTTPRequestHandler):
    registry: Registry = BUILTIN

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        resp = discovery.handle(
            self.path, self.registry, accept=self.headers.get("Accept", ""),
            if_none_match=self.headers.get("If-None-Match", ""), server_address="127.0.0.1:6443",
        )
        if resp is None:
            resp = discovery.not_found()
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        self.wfile.write(resp.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def plain_kctl(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    handler = type("Handler", (_Handler,), {"registry": BUILTIN.with_crd(CRD)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tmp = tmp_path_factory.mktemp("plain")
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{server.server_address[1]}'}}}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    try:
        yield Kubectl(kubectl, Path(kubeconfig), tmp / "home")
    finally:
        server.shutdown()
        server.server_close()


def test_api_versions_include_custom_group(plain_kctl: Kubectl) -> None:
    versions = plain_kctl.ok("api-versions").split()
    assert versions[0] == "admissionregistration.k8s.io/v1"  # kubectl sorts them
    assert {"v1", "apps/v1", "autoscaling/v2", "autoscaling/v1", f"{GROUP}/v1"} <= set(versions)
    assert versions == sorted(versions)


def test_api_resources_lists_custom_and_builtin(plain_kctl: Kubectl) -> None:
    out = plain_kctl.ok("api-resources")
    rows = {tuple(line.split()[:1])[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["widgets"] == ["widgets", "wd", f"{GROUP}/v1", "true", "Widget"]
    assert rows["pods"] == ["pods", "po", "v1", "true", "Pod"]
    wide = plain_kctl.ok("api-resources", "-o", "wide", f"--api-group={GROUP}")
    assert re.search(r"widgets\s+wd\s+stable\.example\.com/v1\s+true\s+Widget\s+create,delete,"
                     r"deletecollection,get,list,patch,update,watch\s+gadgets", wide), wide
    names = plain_kctl.ok("api-resources", "--categories=gadgets", "-o", "name").split()
    assert names == [f"widgets.{GROUP}"]


def test_explain_builtin_field(plain_kctl: Kubectl) -> None:
    out = plain_kctl.ok("explain", "pods.spec.containers")
    assert re.search(r"^KIND:\s+Pod$", out, re.M), out
    assert re.search(r"^FIELD:\s+containers <\[\]Container>", out, re.M), out
    assert re.search(r"^\s+image\s+<string>", out, re.M), out
    out = plain_kctl.ok("explain", "deploy.spec.strategy", "--api-version=apps/v1")
    assert re.search(r"^GROUP:\s+apps$", out, re.M), out


def test_explain_custom_kind(plain_kctl: Kubectl) -> None:
    out = plain_kctl.ok("explain", "wd")
    assert re.search(rf"^GROUP:\s+{re.escape(GROUP)}$", out, re.M), out
    assert re.search(r"^KIND:\s+Widget$", out, re.M), out
    assert "Widget is a test resource." in out
    assert re.search(r"^\s+metadata\s+<ObjectMeta>", out, re.M), out
    out = plain_kctl.ok("explain", "widgets.spec")
    assert re.search(r"^FIELD:\s+spec <Object>", out, re.M), out
    assert re.search(r"^\s+size\s+<integer> -required-", out, re.M), out
    assert "How big the widget is." in out
    out = plain_kctl.ok("explain", "widgets.metadata.labels")
    assert re.search(r"^FIELD:\s+labels <map\[string\]string>", out, re.M), out


def test_unknown_type(plain_kctl: Kubectl) -> None:
    err = plain_kctl.fail("explain", "nothings")
    assert 'the server doesn\'t have a resource type "nothings"' in err, err


def test_against_server(kctl: Kubectl) -> None:
    assert "apps/v1" in kctl.ok("api-versions").split()
    out = kctl.ok("explain", "pods.spec.containers")
    assert re.search(r"^FIELD:\s+containers <\[\]Container>", out, re.M), out
    raw = kctl.ok("get", "--raw", "/openapi/v3")
    assert '"apis/apps/v1"' in raw


