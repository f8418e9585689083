"""API machinery: version, health endpoints, authentication of anonymous requests."""

from __future__ import annotations

from framework import Cluster, case


@case("api-machinery", "[sig-api-machinery] server version should find the server version")
def server_version(cluster: Cluster) -> None:
    """server version: /version reports integer major and minor versions"""
    resp = cluster.get("/version")
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["major"].isdigit() and info["minor"].rstrip("+").isdigit(), info
    assert info["gitVersion"].startswith("v"), info


@case("api-machinery")
def health_endpoints(cluster: Cluster) -> None:
    """health: /healthz, /livez and /readyz answer ok, verbose lists checks"""
    for path in ("/healthz", "/livez", "/readyz"):
        resp = cluster.get(path)
        assert resp.status_code == 200 and resp.text == "ok", (path, resp.status_code, resp.text)
    verbose = cluster.get("/readyz?verbose")
    assert verbose.status_code == 200
    assert verbose.text.rstrip().endswith("readyz check passed"), verbose.text
    assert "[+]ping ok" in verbose.text


@case("api-machinery")
def anonymous_is_unauthorized(cluster: Cluster) -> None:
    """authentication: anonymous requests for API paths get a 401 Status"""
    resp = cluster.get("/api", anonymous=True)
    assert resp.status_code in (401, 403), resp.status_code
    body = resp.json()
    assert body["kind"] == "Status" and body["code"] == resp.status_code, body


# -- shared helpers of this module ---------------------------------------------------------

import threading as _threading

from framework import (  # noqa: E402
    api_operations,
    check_discovery,
    expect_status,
    unique,
    wait_for,
)

CM = "/api/v1/namespaces/{ns}/configmaps"


def _cm(name: str, labels: dict | None = None, data: dict | None = None) -> dict:
    meta: dict = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


def _events(cluster: Cluster, path: str, count: int, timeout: float = 10, **params) -> list[dict]:
    """Read exactly ``count`` watch events (fails on timeout)."""
    out: list[dict] = []
    with cluster.watch(path, timeout=timeout, timeoutSeconds=int(timeout), **params) as events:
        for event in events:
            out.append(event)
            if len(out) == count:
                break
    assert len(out) == count, f"expected {count} events, got {[(e['type']) for e in out]}"
    return out


def _summ(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


# -- namespaces ----------------------------------------------------------------------------

@case("api-machinery", "[sig-api-machinery] Namespaces should patch a Namespace")
def namespace_patch(cluster: Cluster) -> None:
    """Namespaces: patching a namespace adds the label"""
    with cluster.namespace("nspatch") as ns:
        cluster.ok("PATCH", f"/api/v1/namespaces/{ns}", {"metadata": {"labels": {"testLabel": "testValue"}}})
        got = cluster.read(f"/api/v1/namespaces/{ns}")
        assert got["metadata"]["labels"]["testLabel"] == "testValue", got


@case("api-machinery", "[sig-api-machinery] Namespaces should apply an update to a Namespace")
def namespace_update(cluster: Cluster) -> None:
    """Namespaces: an update to a namespace is stored"""
    with cluster.namespace("nsupdate") as ns:
        obj = cluster.read(f"/api/v1/namespaces/{ns}")
        obj["metadata"].setdefault("labels", {})["e2e"] = "updated"
        cluster.ok("PUT", f"/api/v1/namespaces/{ns}", obj, expect=200)
        assert cluster.read(f"/api/v1/namespaces/{ns}")["metadata"]["labels"]["e2e"] == "updated"


@case("api-machinery", "[sig-api-machinery] Namespaces should apply changes to a namespace status")
def namespace_status(cluster: Cluster) -> None:
    """Namespaces: status is Active and can be patched and updated through /status"""
    with cluster.namespace("nsstatus") as ns:
        status = cluster.read(f"/api/v1/namespaces/{ns}/status")
        assert status["status"]["phase"] == "Active", status
        cond = {"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "patched"}
        patched = cluster.ok("PATCH", f"/api/v1/namespaces/{ns}/status",
                             {"status": {"conditions": [cond]}}, expect=200)
        assert patched["status"]["conditions"][0]["type"] == "StatusPatch", patched
        cur = cluster.read(f"/api/v1/namespaces/{ns}/status")
        cur["status"]["conditions"].append(
            {"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "updated"})
        updated = cluster.ok("PUT", f"/api/v1/namespaces/{ns}/status", cur, expect=200)
        types = [c["type"] for c in updated["status"]["conditions"]]
        assert types == ["StatusPatch", "StatusUpdate"], types


@case("api-machinery", "[sig-api-machinery] Namespaces should apply a finalizer to a Namespace")
def namespace_finalizer(cluster: Cluster) -> None:
    """Namespaces: a spec finalizer is added and removed through /finalize"""
    with cluster.namespace("nsfin") as ns:
        obj = cluster.read(f"/api/v1/namespaces/{ns}")
        obj["spec"]["finalizers"] = [*obj["spec"].get("finalizers", []), "e2e.example.com/fakeFinalizer"]
        got = cluster.ok("PUT", f"/api/v1/namespaces/{ns}/finalize", obj, expect=200)
        assert "e2e.example.com/fakeFinalizer" in got["spec"]["finalizers"], got
        got["spec"]["finalizers"] = [f for f in got["spec"]["finalizers"] if f != "e2e.example.com/fakeFinalizer"]
        got = cluster.ok("PUT", f"/api/v1/namespaces/{ns}/finalize", got, expect=200)
        assert "e2e.example.com/fakeFinalizer" not in got["spec"]["finalizers"], got


@case("api-machinery", "[sig-api-machinery] Namespaces should ensure that all services are removed when a namespace is deleted")
def namespace_delete_removes_services(cluster: Cluster) -> None:
    """Namespaces: deleting a namespace removes its services and the namespace"""
    name = unique("nsdel")
    cluster.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    cluster.create(f"/api/v1/namespaces/{name}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "test-service"},
        "spec": {"ports": [{"port": 80, "targetPort": 80}], "selector": {"foo": "bar"}},
    })
    cluster.ok("DELETE", f"/api/v1/namespaces/{name}", expect=200)
    wait_for(lambda: cluster.absent(f"/api/v1/namespaces/{name}"), timeout=30, what="namespace gone")
    cluster.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        items = cluster.read(f"/api/v1/namespaces/{name}/services")["items"]
        assert items == [], items
    finally:
        cluster.delete(f"/api/v1/namespaces/{name}")


# -- watch ---------------------------------------------------------------------------------

@case("api-machinery", "[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps")
def watch_add_update_delete(cluster: Cluster) -> None:
    """Watchers: label-selected watches see only their configmaps' add, update and delete"""
    with cluster.namespace("watch") as ns:
        coll = CM.format(ns=ns)
        rv = cluster.read(coll)["metadata"]["resourceVersion"]
        sel_a, sel_b = "watch-this-configmap=multiple-watchers-A", "watch-this-configmap=multiple-watchers-B"
        either = "watch-this-configmap in (multiple-watchers-A,multiple-watchers-B)"
        cluster.create(coll, _cm("e2e-watch-test-configmap-a", {"watch-this-configmap": "multiple-watchers-A"}))
        cluster.ok("PATCH", f"{coll}/e2e-watch-test-configmap-a", {"data": {"mutation": "1"}})
        cluster.ok("PATCH", f"{coll}/e2e-watch-test-configmap-a", {"data": {"mutation": "2"}})
        cluster.ok("DELETE", f"{coll}/e2e-watch-test-configmap-a")
        cluster.create(coll, _cm("e2e-watch-test-configmap-b", {"watch-this-configmap": "multiple-watchers-B"}))
        cluster.ok("DELETE", f"{coll}/e2e-watch-test-configmap-b")
        a = _events(cluster, coll, 4, resourceVersion=rv, labelSelector=sel_a)
        assert [e["type"] for e in a] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"], _summ(a)
        assert a[2]["object"]["data"] == {"mutation": "2"}
        b = _events(cluster, coll, 2, resourceVersion=rv, labelSelector=sel_b)
        assert _summ(b) == [("ADDED", "e2e-watch-test-configmap-b"), ("DELETED", "e2e-watch-test-configmap-b")]
        both = _events(cluster, coll, 6, resourceVersion=rv, labelSelector=either)
        assert [e["object"]["metadata"]["name"][-1] for e in both] == list("aaaabb"), _summ(both)


@case("api-machinery", "[sig-api-machinery] Watchers should be able to start watching from a specific resource version")
def watch_from_resource_version(cluster: Cluster) -> None:
    """Watchers: a watch from a past resourceVersion sees only later changes"""
    with cluster.namespace("watchrv") as ns:
        coll = CM.format(ns=ns)
        name = "e2e-watch-test-resource-version"
        cluster.create(coll, _cm(name, {"watch-this-configmap": "from-resource-version"}))
        first = cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "1"}})
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "2"}})
        cluster.ok("DELETE", f"{coll}/{name}")
        events = _events(cluster, coll, 2, resourceVersion=first["metadata"]["resourceVersion"])
        assert [e["type"] for e in events] == ["MODIFIED", "DELETED"], _summ(events)
        assert events[0]["object"]["data"] == {"mutation": "2"}, events[0]
        assert events[1]["object"]["data"] == {"mutation": "2"}, events[1]


@case("api-machinery", "[sig-api-machinery] Watchers should be able to restart watching from the last resource version observed by the previous watch")
def watch_restart(cluster: Cluster) -> None:
    """Watchers: reopening a watch from the last observed version continues where it stopped"""
    with cluster.namespace("watchre") as ns:
        coll = CM.format(ns=ns)
        name = "e2e-watch-test-watch-closed"
        sel = "watch-this-configmap=watch-closed-and-restarted"
        rv = cluster.read(coll)["metadata"]["resourceVersion"]
        cluster.create(coll, _cm(name, {"watch-this-configmap": "watch-closed-and-restarted"}))
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "1"}})
        seen = _events(cluster, coll, 2, resourceVersion=rv, labelSelector=sel)
        assert [e["type"] for e in seen] == ["ADDED", "MODIFIED"], _summ(seen)
        last = seen[-1]["object"]["metadata"]["resourceVersion"]
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "2"}})
        cluster.ok("DELETE", f"{coll}/{name}")
        rest = _events(cluster, coll, 2, resourceVersion=last, labelSelector=sel)
        assert [e["type"] for e in rest] == ["MODIFIED", "DELETED"], _summ(rest)
        assert rest[0]["object"]["data"] == {"mutation": "2"}


@case("api-machinery", "[sig-api-machinery] Watchers should observe an object deletion if it stops meeting the requirements of the selector")
def watch_selector_transitions(cluster: Cluster) -> None:
    """Watchers: leaving the selector is a DELETED event, re-entering an ADDED event"""
    with cluster.namespace("watchsel") as ns:
        coll = CM.format(ns=ns)
        name = "e2e-watch-test-label-changed"
        key = "watch-this-configmap"
        rv = cluster.read(coll)["metadata"]["resourceVersion"]
        cluster.create(coll, _cm(name, {key: "label-changed-and-restored"}))
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "1"}})
        cluster.ok("PATCH", f"{coll}/{name}", {"metadata": {"labels": {key: "wrong-value"}}})
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "2"}})
        cluster.ok("PATCH", f"{coll}/{name}", {"metadata": {"labels": {key: "label-changed-and-restored"}}})
        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"mutation": "3"}})
        cluster.ok("DELETE", f"{coll}/{name}")
        events = _events(cluster, coll, 6, resourceVersion=rv, labelSelector=f"{key}=label-changed-and-restored")
        assert [e["type"] for e in events] == [
            "ADDED", "MODIFIED", "DELETED", "ADDED", "MODIFIED", "DELETED",
        ], _summ(events)
        assert events[3]["object"]["data"] == {"mutation": "2"}, "re-added with the change made outside"
        assert events[4]["object"]["data"] == {"mutation": "3"}


@case("api-machinery", "[sig-api-machinery] Watchers should receive events on concurrent watches in same order")
def watch_concurrent_order(cluster: Cluster) -> None:
    """Watchers: watches started at each event's version agree on the order of later events"""
    with cluster.namespace("watchord") as ns:
        coll = CM.format(ns=ns)
        rv = cluster.read(coll)["metadata"]["resourceVersion"]
        writes = 40
        failures: list[BaseException] = []

        def produce() -> None:
            try:
                for i in range(writes):
                    name = f"cm-{i % 5}"
                    if cluster.get(f"{coll}/{name}").status_code == 404:
                        cluster.create(coll, _cm(name))
                    elif i % 3 == 0:
                        cluster.ok("DELETE", f"{coll}/{name}")
                    else:
                        cluster.ok("PATCH", f"{coll}/{name}", {"data": {"i": str(i)}})
            except BaseException as exc:  # reported below
                failures.append(exc)

        producer = _threading.Thread(target=produce)
        producer.start()
        reference = _events(cluster, coll, writes, timeout=30, resourceVersion=rv)
        producer.join()
        assert not failures, failures
        versions = [e["object"]["metadata"]["resourceVersion"] for e in reference]
        assert len(set(versions)) == len(versions), "every event has its own resourceVersion"
        for start in range(0, writes - 1, 7):
            tail = _events(cluster, coll, writes - start - 1, resourceVersion=versions[start])
            got = [e["object"]["metadata"]["resourceVersion"] for e in tail]
            assert got == versions[start + 1:], (start, got, versions[start + 1:])


# -- lists, chunking, tables ---------------------------------------------------------------

@case("api-machinery", "[sig-api-machinery] Servers with support for API chunking should return chunks of results for list calls")
def list_chunking(cluster: Cluster) -> None:
    """Chunking: limit/continue pages carry remainingItems and the first page's resourceVersion"""
    with cluster.namespace("chunk") as ns:
        coll = f"/api/v1/namespaces/{ns}/podtemplates"
        total = 40
        for i in range(total):
            cluster.create(coll, {
                "apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": f"template-{i:04d}"},
                "template": {"spec": {"containers": [{"name": "test", "image": "busybox"}]}},
            })
        limit = 17
        first = cluster.read(coll, params={"limit": limit})
        assert len(first["items"]) == limit, len(first["items"])
        assert first["metadata"]["remainingItemCount"] == total - limit, first["metadata"]
        token = first["metadata"]["continue"]
        assert token
        rv = first["metadata"]["resourceVersion"]
        names = [i["metadata"]["name"] for i in first["items"]]
        seen = limit
        while token:
            page = cluster.read(coll, params={"limit": limit, "continue": token})
            assert len(page["items"]) <= limit
            assert page["metadata"]["resourceVersion"] == rv, "pages are served at the first page's version"
            seen += len(page["items"])
            names += [i["metadata"]["name"] for i in page["items"]]
            token = page["metadata"].get("continue")
            if token:
                assert page["metadata"]["remainingItemCount"] == total - seen, page["metadata"]
            else:
                assert "remainingItemCount" not in page["metadata"], page["metadata"]
        assert names == sorted(names) and len(names) == total and len(set(names)) == total
        everything = cluster.read(coll)
        assert len(everything["items"]) == total and not everything["metadata"].get("continue")
        bad = cluster.get(coll, params={"limit": 5, "continue": "not-a-token"})
        assert bad.status_code == 400, (bad.status_code, bad.text)


@case("api-machinery", "[sig-api-machinery] Servers with support for Table transformation should return a 406 for a backend which does not implement metadata")
def table_406(cluster: Cluster) -> None:
    """Tables: asking a review resource for a Table is 406, a real list returns a Table"""
    sar = {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}},
    }
    resp = cluster.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", sar,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert resp.status_code == 406, (resp.status_code, resp.text)
    assert resp.json()["kind"] == "Status" and resp.json()["reason"] == "NotAcceptable", resp.text
    table = cluster.read("/api/v1/namespaces", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1", table
    assert table["columnDefinitions"][0]["name"] == "Name"
    assert table["metadata"]["resourceVersion"]
    assert all(len(r["cells"]) == len(table["columnDefinitions"]) for r in table["rows"])


# -- discovery -----------------------------------------------------------------------------

@case("api-machinery", "[sig-api-machinery] Discovery should validate PreferredVersion for each APIGroup")
def discovery_preferred_version(cluster: Cluster) -> None:
    """Discovery: each group's preferredVersion is one of its versions, in /apis and /apis/<g>"""
    groups = cluster.read("/apis")["groups"]
    assert groups
    for group in groups:
        preferred = group["preferredVersion"]
        assert preferred["groupVersion"] == f"{group['name']}/{preferred['version']}", group
        assert preferred in group["versions"], group
        single = cluster.read(f"/apis/{group['name']}")
        assert single["preferredVersion"] == preferred, (single, group)


@case("api-machinery", "[sig-api-machinery] Discovery should locate the groupVersion and a resource within each APIGroup")
def discovery_group_versions(cluster: Cluster) -> None:
    """Discovery: every advertised group version has a resource list with resources"""
    core = cluster.read("/api")
    assert core["kind"] == "APIVersions" and core["versions"] == ["v1"], core
    assert core["serverAddressByClientCIDRs"], core
    check_discovery(cluster, "", "v1", ["pods", "configmaps", "namespaces", "pods/status"])
    for group in cluster.read("/apis")["groups"]:
        for version in group["versions"]:
            listing = cluster.read(f"/apis/{version['groupVersion']}")
            assert listing["groupVersion"] == version["groupVersion"], listing
            assert listing["resources"], listing
            for res in listing["resources"]:
                assert res["kind"] and "namespaced" in res and isinstance(res["verbs"], list), res


AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _aggregated(cluster: Cluster, accept: str = AGG) -> dict:
    groups: dict = {}
    for path in ("/api", "/apis"):
        resp = cluster.get(path, headers={"Accept": accept})
        doc = expect_status(resp, 200)
        assert doc["kind"] == "APIGroupDiscoveryList", doc.get("kind")
        assert doc["apiVersion"] == "apidiscovery.k8s.io/v2", doc.get("apiVersion")
        assert "as=APIGroupDiscoveryList" in resp.headers["content-type"], resp.headers
        for item in doc["items"]:
            groups[item["metadata"].get("name", "")] = item
    return groups


def _agg_resource(groups: dict, group: str, version: str, resource: str) -> dict:
    entry = groups[group]
    ver = next(v for v in entry["versions"] if v["version"] == version)
    return next(r for r in ver["resources"] if r["resource"] == resource)


@case("api-machinery", "[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface")
def aggregated_discovery(cluster: Cluster) -> None:
    """AggregatedDiscovery: /api and /apis list every built-in resource with scope, kind, verbs"""
    groups = _aggregated(cluster)
    pods = _agg_resource(groups, "", "v1", "pods")
    assert pods["scope"] == "Namespaced" and pods["responseKind"]["kind"] == "Pod", pods
    assert "po" in pods["shortNames"] and "all" in pods["categories"], pods
    subs = {s["subresource"] for s in pods["subresources"]}
    assert {"status", "log", "exec", "binding", "eviction"} <= subs, subs
    deploy = _agg_resource(groups, "apps", "v1", "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["singularResource"] == "deployment"
    assert sorted(deploy["verbs"]) == sorted(
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"])
    ns = _agg_resource(groups, "", "v1", "namespaces")
    assert ns["scope"] == "Cluster"
    for group, version, resource in [
        ("rbac.authorization.k8s.io", "v1", "clusterroles"), ("batch", "v1", "cronjobs"),
        ("coordination.k8s.io", "v1", "leases"), ("networking.k8s.io", "v1", "ingresses"),
        ("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
        ("storage.k8s.io", "v1", "storageclasses"), ("discovery.k8s.io", "v1", "endpointslices"),
    ]:
        _agg_resource(groups, group, version, resource)


@case("api-machinery", "[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery endpoint Accept headers")
def aggregated_discovery_accept(cluster: Cluster) -> None:
    """AggregatedDiscovery: Accept negotiation picks aggregated or legacy documents"""
    for accept in (AGG, f"{AGG},application/json", f"{AGG};charset=utf-8,application/json;q=0.9"):
        groups = _aggregated(cluster, accept)
        _agg_resource(groups, "apps", "v1", "deployments")
    legacy = cluster.get("/apis", headers={"Accept": "application/json"})
    assert expect_status(legacy, 200)["kind"] == "APIGroupList"
    fallback = cluster.get("/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2beta0;as=APIGroupDiscoveryList,application/json"})
    assert expect_status(fallback, 200)["kind"] == "APIGroupList", "unknown version falls back"


# -- field validation on typed objects -----------------------------------------------------

@case("api-machinery", "[sig-api-machinery] FieldValidation should detect unknown and duplicate fields of a typed object")
def field_validation_typed(cluster: Cluster) -> None:
    """FieldValidation: Strict rejects unknown and duplicate fields; Warn warns; Ignore drops"""
    with cluster.namespace("fv") as ns:
        coll = f"/apis/apps/v1/namespaces/{ns}/deployments"
        raw = (
            '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","labels":{"app":"nginx"}},'
            '"spec":{"unknownField":"foo","replicas":1,"replicas":2,"selector":{"matchLabels":{"app":"nginx"}},'
            '"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx",'
            '"image":"nginx:latest","unknownNested":"x"}]}}}}'
        )
        headers = {"Content-Type": "application/json"}
        strict = cluster.request("POST", coll, params={"fieldValidation": "Strict"},
                                 content=raw % "strict", headers=headers)
        assert strict.status_code == 400, (strict.status_code, strict.text)
        msg = strict.json()["message"]
        for part in ('unknown field "spec.unknownField"',
                     'unknown field "spec.template.spec.containers[0].unknownNested"',
                     'duplicate field "spec.replicas"'):
            assert part in msg, msg
        assert cluster.absent(f"{coll}/strict")
        warn = cluster.request("POST", coll, params={"fieldValidation": "Warn"},
                               content=raw % "warn", headers=headers)
        assert warn.status_code == 201, warn.text
        warnings = warn.headers.get_list("warning")
        joined = " ".join(warnings)
        assert 'unknown field \\"spec.unknownField\\"' in joined or 'unknown field "spec.unknownField"' in joined, warnings
        assert "duplicate field" in joined, warnings
        assert warn.json()["spec"]["replicas"] == 2, "the last duplicate wins"
        ignore = cluster.request("POST", coll, params={"fieldValidation": "Ignore"},
                                 content=raw % "ignore", headers=headers)
        assert ignore.status_code == 201 and not ignore.headers.get_list("warning"), ignore.headers
        assert "unknownField" not in ignore.json()["spec"]
        bogus = cluster.request("POST", coll, params={"fieldValidation": "Bogus"},
                                content=raw % "bogus", headers=headers)
        assert bogus.status_code == 400, bogus.text


@case("api-machinery", "[sig-api-machinery] FieldValidation should detect unknown metadata fields of a typed object")
def field_validation_typed_metadata(cluster: Cluster) -> None:
    """FieldValidation: Strict rejects unknown metadata fields, also in embedded templates"""
    with cluster.namespace("fvmeta") as ns:
        coll = f"/apis/apps/v1/namespaces/{ns}/deployments"
        obj = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "meta", "unknownMeta": "foo", "labels": {"app": "nginx"}},
            "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "template": {
                "metadata": {"labels": {"app": "nginx"}, "unknownSubMeta": "x"},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        }
        resp = cluster.post(coll, obj, params={"fieldValidation": "Strict"})
        assert resp.status_code == 400, (resp.status_code, resp.text)
        msg = resp.json()["message"]
        assert 'unknown field "metadata.unknownMeta"' in msg, msg
        assert 'unknown field "spec.template.metadata.unknownSubMeta"' in msg, msg


# -- quota and flow control API operations -------------------------------------------------

def _quota(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": {"hard": {"cpu": "1", "memory": "500Mi"}}}


@case("api-machinery", "[sig-api-machinery] ResourceQuota should be able to update and delete ResourceQuota.")
def resourcequota_update_delete(cluster: Cluster) -> None:
    """ResourceQuota: update changes the hard limits; delete removes it"""
    with cluster.namespace("rq") as ns:
        coll = f"/api/v1/namespaces/{ns}/resourcequotas"
        cluster.create(coll, _quota("test-quota"))
        cur = cluster.read(f"{coll}/test-quota")
        cur["spec"]["hard"] = {"cpu": "2", "memory": "1Gi"}
        updated = cluster.ok("PUT", f"{coll}/test-quota", cur, expect=200)
        assert updated["spec"]["hard"] == {"cpu": "2", "memory": "1Gi"}, updated["spec"]
        cluster.ok("DELETE", f"{coll}/test-quota")
        wait_for(lambda: cluster.absent(f"{coll}/test-quota"), what="quota deleted")


@case("api-machinery", "[sig-api-machinery] ResourceQuota should manage the lifecycle of a ResourceQuota")
def resourcequota_lifecycle(cluster: Cluster) -> None:
    """ResourceQuota: list by label across namespaces, patch, delete by collection"""
    with cluster.namespace("rqlife") as ns:
        coll = f"/api/v1/namespaces/{ns}/resourcequotas"
        label = unique("rq")
        q = _quota("e2e-quota")
        q["metadata"]["labels"] = {label: "true"}
        cluster.create(coll, q)
        found = cluster.read("/api/v1/resourcequotas", params={"labelSelector": f"{label}=true"})
        assert [i["metadata"]["name"] for i in found["items"]] == ["e2e-quota"], found
        patched = cluster.ok("PATCH", f"{coll}/e2e-quota",
                             {"metadata": {"labels": {"patched": "true"}}, "spec": {"hard": {"memory": "750Mi"}}})
        assert patched["spec"]["hard"] == {"cpu": "1", "memory": "750Mi"}, patched["spec"]
        cluster.ok("DELETE", coll, params={"labelSelector": f"{label}=true"})
        wait_for(lambda: not cluster.read(coll)["items"], what="collection deleted")


@case("api-machinery", "[sig-api-machinery] ResourceQuota should apply changes to a resourcequota status")
def resourcequota_status(cluster: Cluster) -> None:
    """ResourceQuota: /status writes change status only, never the spec"""
    with cluster.namespace("rqstatus") as ns:
        coll = f"/api/v1/namespaces/{ns}/resourcequotas"
        cluster.create(coll, _quota("status-quota"))
        # The quota controller writes status too: retry on conflict, as the upstream test does.
        for _ in range(10):
            cur = cluster.read(f"{coll}/status-quota/status")
            cur["status"] = {"hard": {"cpu": "1", "memory": "500Mi"}, "used": {"cpu": "0", "memory": "0"}}
            resp = cluster.put(f"{coll}/status-quota/status", cur)
            if resp.status_code != 409:
                break
        got = expect_status(resp, 200)
        assert got["status"]["hard"] == {"cpu": "1", "memory": "500Mi"}, got
        cluster.ok("PATCH", f"{coll}/status-quota", {"spec": {"hard": {"cpu": "2", "memory": "1Gi"}}})
        got = cluster.ok("PATCH", f"{coll}/status-quota/status",
                         {"status": {"hard": {"cpu": "2", "memory": "1Gi"}}, "spec": {"hard": {"cpu": "9"}}})
        assert got["status"]["hard"] == {"cpu": "2", "memory": "1Gi"}, got["status"]
        assert got["spec"]["hard"] == {"cpu": "2", "memory": "1Gi"}, "status writes ignore spec"


@case("api-machinery", "[sig-api-machinery] API priority and fairness should support FlowSchema API operations")
def flowschema_operations(cluster: Cluster) -> None:
    """FlowControl: flowschemas support the standard API operations"""
    def make(name: str) -> dict:
        return {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "spec": {
            "priorityLevelConfiguration": {"name": "global-default"}, "matchingPrecedence": 9000,
            "rules": [{"subjects": [{"kind": "Group", "group": {"name": "e2e-nobody"}}],
                       "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/e2e"]}]}]}}

    api_operations(cluster, "flowcontrol.apiserver.k8s.io", "v1", "flowschemas", make, subresources=("status",))


@case("api-machinery", "[sig-api-machinery] API priority and fairness should support PriorityLevelConfiguration API operations")
def prioritylevel_operations(cluster: Cluster) -> None:
    """FlowControl: prioritylevelconfigurations support the standard API operations"""
    def make(name: str) -> dict:
        return {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
                "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 2,
                                                         "limitResponse": {"type": "Reject"}}}}

    api_operations(cluster, "flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", make,
                   subresources=("status",))
