"""A small black-box test framework: cases named after upstream conformance behaviours.

A case is a plain function taking a ``Cluster`` (an HTTPS client built from a kubeconfig)
and raising ``AssertionError`` (or any exception) to fail. ``@case`` registers it with its
area (``api-machinery``, ``apps``, ``node``, ``network``, ...) and the upstream conformance
codenames it covers, so the runner can report coverage of ``conformance_tests.tsv``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    covers: tuple[str, ...]
    fn: Callable[[Cluster], None]


CASES: list[Case] = []


def case(area: str, *covers: str) -> Callable[[Callable[[Cluster], None]], Callable[[Cluster], None]]:
    """Register a conformance case; ``covers`` are upstream codenames (without tags is fine)."""

    def register(fn: Callable[[Cluster], None]) -> Callable[[Cluster], None]:
        name = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
        CASES.append(Case(area, name, tuple(covers), fn))
        return fn

    return register


@dataclass
class Cluster:
    """What a case talks to: the API server named by a kubeconfig's current context."""

    server: str
    ssl_context: ssl.SSLContext
    headers: dict[str, str] = field(default_factory=dict)
    anonymous_context: ssl.SSLContext | None = None

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Cluster:
        cfg = yaml.safe_load(path.read_text())
        ctx_name = context or cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        sslctx = ssl.create_default_context()
        anon = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            sslctx.load_verify_locations(cadata=ca)
            anon.load_verify_locations(cadata=ca)
        elif "certificate-authority" in cluster:
            sslctx.load_verify_locations(cluster["certificate-authority"])
            anon.load_verify_locations(cluster["certificate-authority"])
        if cluster.get("insecure-skip-tls-verify"):
            for c in (sslctx, anon):
                c.check_hostname = False
                c.verify_mode = ssl.CERT_NONE
        headers = {}
        if "client-certificate-data" in user:
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp) / "c", Path(tmp) / "k"
                cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
                key.write_bytes(base64.b64decode(user["client-key-data"]))
                os.chmod(key, 0o600)
                sslctx.load_cert_chain(cert, key)
        elif "client-certificate" in user:
            sslctx.load_cert_chain(user["client-certificate"], user["client-key"])
        if "token" in user:
            headers["Authorization"] = f"Bearer {user['token']}"
        return cls(cluster["server"].rstrip("/"), sslctx, headers, anon)

    def _client(self, anonymous: bool) -> httpx.Client:
        # One keep-alive client per identity and thread (httpx clients are not shared across
        # threads here, so concurrent watch cases stay simple).
        key = (anonymous, threading.get_ident())
        pool = self.__dict__.setdefault("_clients", {})
        client = pool.get(key)
        if client is None:
            verify = self.anonymous_context if anonymous else self.ssl_context
            client = pool[key] = httpx.Client(verify=verify, timeout=30)
        return client

    def request(self, method: str, path: str, *, anonymous: bool = False, **kwargs: Any) -> httpx.Response:
        headers = {} if anonymous else dict(self.headers)
        headers.update(kwargs.pop("headers", {}))
        return self._client(anonymous).request(method, self.server + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, kind: str = "merge", **kwargs: Any) -> httpx.Response:
        """PATCH with ``kind`` one of json, merge, strategic, apply (YAML/JSON body)."""
        content_type = PATCH_TYPES[kind]
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return self.request("PATCH", path, content=json.dumps(body), headers=headers, **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["content"] = json.dumps(body)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return self.request("DELETE", path, **kwargs)

    # -- helpers that assert -------------------------------------------------------------

    def ok(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...] = (200, 201),
           **kwargs: Any) -> Any:
        """Send a request and require one of the ``expect`` status codes; return the JSON body."""
        if body is not None and method in ("POST", "PUT"):
            kwargs["json"] = body
        elif body is not None and method == "PATCH":
            return expect_status(self.patch(path, body, **kwargs), expect)
        elif body is not None and method == "DELETE":
            return expect_status(self.delete(path, body, **kwargs), expect)
        return expect_status(self.request(method, path, **kwargs), expect)

    def create(self, path: str, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.ok("POST", path, obj, expect=201, **kwargs)  # type: ignore[no-any-return]

    def read(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.ok("GET", path, expect=200, **kwargs)  # type: ignore[no-any-return]

    def absent(self, path: str) -> bool:
        return self.get(path).status_code == 404

    @contextlib.contextmanager
    def watch(self, path: str, timeout: float = 30, **params: Any) -> Iterator[Iterator[dict[str, Any]]]:
        """Open a watch on a collection path; yield an iterator of decoded events."""
        params = {"watch": "true", "allowWatchBookmarks": "false", **params}
        verify = self.ssl_context
        with httpx.Client(verify=verify, timeout=httpx.Timeout(timeout, connect=10)) as client:
            with client.stream("GET", self.server + path, params=params, headers=self.headers) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise AssertionError(f"watch {path}: {resp.status_code} {resp.text}")
                yield (json.loads(line) for line in resp.iter_lines() if line.strip())

    @contextlib.contextmanager
    def namespace(self, prefix: str = "conf") -> Iterator[str]:
        """A fresh namespace deleted afterwards."""
        name = unique(prefix)
        self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        try:
            yield name
        finally:
            self.delete(f"/api/v1/namespaces/{name}")


PATCH_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

_counter = itertools.count()


def unique(prefix: str = "conf") -> str:
    """A fresh DNS-1123 label for object names."""
    return f"{prefix}-{os.getpid() % 100000}-{int(time.time() * 1000) % 100000}-{next(_counter)}"


def expect_status(resp: httpx.Response, expect: int | tuple[int, ...]) -> Any:
    codes = (expect,) if isinstance(expect, int) else expect
    if resp.status_code not in codes:
        raise AssertionError(
            f"{resp.request.method} {resp.request.url.path}?{resp.request.url.query.decode()}: "
            f"expected {codes}, got {resp.status_code}: {resp.text[:2000]}"
        )
    return resp.json() if resp.content else None


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")


def group_path(group: str, version: str) -> str:
    return f"/api/{version}" if group in ("", "core") else f"/apis/{group}/{version}"


def collection_path(group: str, version: str, resource: str, namespace: str | None = None) -> str:
    base = group_path(group, version)
    return f"{base}/namespaces/{namespace}/{resource}" if namespace else f"{base}/{resource}"


def check_discovery(cluster: Cluster, group: str, version: str, resources: list[str]) -> dict[str, Any]:
    """The group is in /apis, the version in /apis/<group>, the resources in the version.

    Returns the APIResourceList of the group version.
    """
    if group:
        groups = cluster.read("/apis")
        assert groups["kind"] == "APIGroupList", groups
        entry = next((g for g in groups["groups"] if g["name"] == group), None)
        assert entry is not None, f"group {group} missing from /apis"
        assert any(v["groupVersion"] == f"{group}/{version}" for v in entry["versions"]), entry
        one = cluster.read(f"/apis/{group}")
        assert one["kind"] == "APIGroup" and one["name"] == group, one
        assert any(v["version"] == version for v in one["versions"]), one
    listing = cluster.read(group_path(group, version))
    assert listing["kind"] == "APIResourceList", listing
    assert listing["groupVersion"] == (f"{group}/{version}" if group else version), listing
    names = {r["name"] for r in listing["resources"]}
    missing = set(resources) - names
    assert not missing, f"{sorted(missing)} missing from {group}/{version} discovery"
    return listing  # type: ignore[no-any-return]


def api_operations(
    cluster: Cluster,
    group: str,
    version: str,
    resource: str,
    make: Callable[[str], dict[str, Any]],
    *,
    namespace: str | None = None,
    patch: dict[str, Any] | None = None,
    subresources: tuple[str, ...] = (),
) -> None:
    """The standard "API operations" behaviour: discovery lists the resource (and subresources),
    and it supports create, get, list, watch, update, patch, delete and deletecollection."""
    check_discovery(cluster, group, version, [resource, *(f"{resource}/{s}" for s in subresources)])
    coll = collection_path(group, version, resource, namespace)
    label = unique("ops")
    names = [unique(resource[:20]) for _ in range(3)]
    created = []
    for name in names:
        obj = make(name)
        obj.setdefault("metadata", {})["name"] = name
        obj["metadata"].setdefault("labels", {})["e2e-ops"] = label
        got = cluster.create(coll, obj)
        assert got["metadata"]["name"] == name and got["metadata"]["uid"], got
        created.append(got)
    one = cluster.read(f"{coll}/{names[0]}")
    assert one["metadata"]["uid"] == created[0]["metadata"]["uid"]
    listed = cluster.read(coll, params={"labelSelector": f"e2e-ops={label}"})
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == sorted(names), listed
    # watch from the list's resourceVersion sees the patch
    with cluster.watch(coll, labelSelector=f"e2e-ops={label}",
                       resourceVersion=listed["metadata"]["resourceVersion"], timeoutSeconds=10) as events:
        patched = cluster.ok("PATCH", f"{coll}/{names[0]}",
                             patch or {"metadata": {"annotations": {"patched": "true"}}}, expect=200)
        for event in events:
            if event["type"] == "MODIFIED" and event["object"]["metadata"]["name"] == names[0]:
                break
        else:
            raise AssertionError("watch did not observe the patch")
    if patch is None:
        assert patched["metadata"]["annotations"]["patched"] == "true", patched
    current = cluster.read(f"{coll}/{names[0]}")
    current["metadata"].setdefault("annotations", {})["updated"] = "true"
    updated = cluster.ok("PUT", f"{coll}/{names[0]}", current, expect=200)
    assert updated["metadata"]["annotations"]["updated"] == "true", updated
    assert int(updated["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])
    for sub in subresources:
        if sub in ("status", "approval"):
            got = cluster.read(f"{coll}/{names[0]}/{sub}")
            assert got["metadata"]["name"] == names[0], got
    cluster.ok("DELETE", f"{coll}/{names[0]}", expect=(200, 202))
    wait_for(lambda: cluster.absent(f"{coll}/{names[0]}"), what=f"{resource} {names[0]} deleted")
    cluster.ok("DELETE", coll, params={"labelSelector": f"e2e-ops={label}"}, expect=200)
    wait_for(
        lambda: not cluster.read(coll, params={"labelSelector": f"e2e-ops={label}"})["items"],
        what="deletecollection",
    )
