"""CustomResourceDefinitions: lifecycle, listing, status, discovery, defaulting, watch, and
field validation of custom resources."""

from __future__ import annotations

import copy
from typing import Any

from framework import Cluster, case, expect_status, unique, wait_for

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def make_crd(schema: dict[str, Any] | None = None, *, group: str | None = None,
             scope: str = "Namespaced", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A random CRD (kind E2eTestCrdXXXX) with the given openAPIV3Schema."""
    suffix = unique("x").replace("-", "")[-10:]
    plural = f"e2e-test-crd-{suffix}s"
    group = group or "mygroup.example.com"
    if schema is None:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    meta: dict[str, Any] = {"name": f"{plural}.{group}"}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": meta,
        "spec": {
            "group": group, "scope": scope,
            "names": {"plural": plural, "singular": f"e2e-test-crd-{suffix}",
                      "kind": f"E2eTestCrd{suffix}", "listKind": f"E2eTestCrd{suffix}List"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": schema}, "subresources": {"status": {}}}],
        },
    }


def create_crd(cluster: Cluster, crd: dict[str, Any]) -> dict[str, Any]:
    """Create and wait until Established."""
    cluster.create(CRDS, crd)
    name = crd["metadata"]["name"]

    def established() -> dict[str, Any] | None:
        got = cluster.read(f"{CRDS}/{name}")
        conds = {c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])}
        return got if conds.get("Established") == "True" else None

    got: dict[str, Any] = wait_for(established, what=f"CRD {name} established")
    # The resource is served once discovery shows it.
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    wait_for(lambda: cluster.get(f"/apis/{group}/v1/{plural}").status_code == 200, what="CR endpoint served")
    return got


def delete_crd(cluster: Cluster, crd: dict[str, Any]) -> None:
    cluster.delete(f"{CRDS}/{crd['metadata']['name']}")


def cr_path(crd: dict[str, Any], namespace: str = "default") -> str:
    spec = crd["spec"]
    if spec["scope"] == "Namespaced":
        return f"/apis/{spec['group']}/v1/namespaces/{namespace}/{spec['names']['plural']}"
    return f"/apis/{spec['group']}/v1/{spec['names']['plural']}"


def cr(crd: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": f"{crd['spec']['group']}/v1", "kind": crd["spec"]["names"]["kind"],
            "metadata": {"name": name}, **fields}


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition creating/deleting custom resource definition objects works")
def crd_create_delete(cluster: Cluster) -> None:
    """CRD: creating and deleting a custom resource definition works"""
    crd = make_crd()
    create_crd(cluster, crd)
    cluster.ok("DELETE", f"{CRDS}/{crd['metadata']['name']}", expect=200)
    wait_for(lambda: cluster.absent(f"{CRDS}/{crd['metadata']['name']}"), timeout=20, what="CRD gone")
    assert cluster.get(cr_path(crd)).status_code == 404


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition listing custom resource definition objects works")
def crd_list(cluster: Cluster) -> None:
    """CRD: labelled CRDs are listed by selector and removed by deletecollection"""
    label = unique("crdlist")
    crds = [make_crd(labels={"e2e-list-test-uuid": label}) for _ in range(10)]
    other = make_crd()
    for crd in [*crds, other]:
        cluster.create(CRDS, crd)
    try:
        listed = cluster.read(CRDS, params={"labelSelector": f"e2e-list-test-uuid={label}"})
        assert sorted(i["metadata"]["name"] for i in listed["items"]) == sorted(
            c["metadata"]["name"] for c in crds)
        cluster.ok("DELETE", CRDS, params={"labelSelector": f"e2e-list-test-uuid={label}"})
        wait_for(lambda: not cluster.read(CRDS, params={"labelSelector": f"e2e-list-test-uuid={label}"})["items"],
                 timeout=30, what="labelled CRDs deleted")
        cluster.read(f"{CRDS}/{other['metadata']['name']}")
    finally:
        delete_crd(cluster, other)


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition getting/updating/patching custom resource definition status sub-resource works")
def crd_status(cluster: Cluster) -> None:
    """CRD: the CRD's /status can be read, updated and patched"""
    crd = make_crd()
    create_crd(cluster, crd)
    path = f"{CRDS}/{crd['metadata']['name']}/status"
    try:
        cur = cluster.read(path)
        cur["status"]["conditions"].append(
            {"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Set from e2e test",
             "lastTransitionTime": "2024-01-01T00:00:00Z"})
        updated = cluster.ok("PUT", path, cur, expect=200)
        assert any(c["type"] == "StatusUpdate" for c in updated["status"]["conditions"]), updated["status"]
        patched = cluster.ok("PATCH", path, {"metadata": {"annotations": {"patchedstatus": "true"}}})
        assert patched["metadata"]["annotations"]["patchedstatus"] == "true"
        got = cluster.read(path)
        assert any(c["type"] == "StatusUpdate" for c in got["status"]["conditions"]), got["status"]
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] should include custom resource definition resources in discovery documents")
def crd_in_discovery(cluster: Cluster) -> None:
    """CRD: apiextensions.k8s.io/v1 customresourcedefinitions are in discovery"""
    groups = cluster.read("/apis")["groups"]
    entry = next(g for g in groups if g["name"] == "apiextensions.k8s.io")
    assert {"groupVersion": "apiextensions.k8s.io/v1", "version": "v1"} in entry["versions"], entry
    assert entry["preferredVersion"]["version"] == "v1"
    group = cluster.read("/apis/apiextensions.k8s.io")
    assert group["preferredVersion"]["version"] == "v1"
    res = cluster.read("/apis/apiextensions.k8s.io/v1")["resources"]
    names = {r["name"] for r in res}
    assert {"customresourcedefinitions", "customresourcedefinitions/status"} <= names, names


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] custom resource defaulting for requests and from storage works")
def crd_defaulting(cluster: Cluster) -> None:
    """CRD: schema defaults apply to requests and to stored objects on read"""
    schema = {"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "string"}}}
    crd = make_crd(schema, scope="Cluster")
    create_crd(cluster, crd)
    path = cr_path(crd)
    try:
        cluster.create(path, cr(crd, "foo1"))
        # add a default for "a": existing objects get it when read
        cur = cluster.read(f"{CRDS}/{crd['metadata']['name']}")
        cur["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["a"]["default"] = "A"
        cluster.ok("PUT", f"{CRDS}/{crd['metadata']['name']}", cur, expect=200)
        wait_for(lambda: cluster.read(f"{path}/foo1").get("a") == "A", what="default from storage")
        created = cluster.create(path, cr(crd, "foo2"))
        assert created.get("a") == "A", created
        # swap the default to "b": new default applies, the persisted one stays
        cur = cluster.read(f"{CRDS}/{crd['metadata']['name']}")
        props = cur["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
        del props["a"]["default"]
        props["b"]["default"] = "B"
        cluster.ok("PUT", f"{CRDS}/{crd['metadata']['name']}", cur, expect=200)
        wait_for(lambda: cluster.read(f"{path}/foo2").get("b") == "B", what="new default")
        assert cluster.read(f"{path}/foo2")["a"] == "A", "stored default stays"
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] CustomResourceDefinition Watch [Privileged:ClusterAdmin] CustomResourceDefinition Watch watch on custom resource definition objects")
def crd_watch(cluster: Cluster) -> None:
    """CRD: a watch on custom resources observes create, modify and delete"""
    crd = make_crd(scope="Cluster")
    create_crd(cluster, crd)
    path = cr_path(crd)
    try:
        rv = cluster.read(path)["metadata"]["resourceVersion"]
        cluster.create(path, cr(crd, "name1", content={"key": "value"}))
        cluster.ok("PATCH", f"{path}/name1", {"dummy": "test"})
        cluster.ok("DELETE", f"{path}/name1")
        seen = []
        with cluster.watch(path, resourceVersion=rv, timeoutSeconds=10) as events:
            for event in events:
                seen.append(event["type"])
                if len(seen) == 3:
                    break
        assert seen == ["ADDED", "MODIFIED", "DELETED"], seen
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface for CRDs",
      "[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery request for CRDs")
def crd_aggregated_discovery(cluster: Cluster) -> None:
    """AggregatedDiscovery: a new CRD appears in the aggregated /apis document"""
    crd = make_crd(group=f"{unique('agg')}.example.com")
    create_crd(cluster, crd)
    try:
        def present() -> bool:
            doc = expect_status(cluster.get("/apis", headers={"Accept": AGG}), 200)
            for item in doc["items"]:
                if item["metadata"]["name"] == crd["spec"]["group"]:
                    res = item["versions"][0]["resources"]
                    return any(r["resource"] == crd["spec"]["names"]["plural"]
                               and r["responseKind"]["kind"] == crd["spec"]["names"]["kind"] for r in res)
            return False

        wait_for(present, what="CRD in aggregated discovery")
    finally:
        delete_crd(cluster, crd)


# -- field validation of custom resources --------------------------------------------------

@case("api-machinery", "[sig-api-machinery] FieldValidation should create/apply a CR with unknown fields for CRD with no validation schema")
def fv_cr_no_schema(cluster: Cluster) -> None:
    """FieldValidation: a CRD preserving unknown fields accepts them under Strict"""
    crd = make_crd()
    create_crd(cluster, crd)
    try:
        obj = cr(crd, "noschema", spec={"foo": "bar", "nested": {"x": 1}})
        got = cluster.ok("PATCH", f"{cr_path(crd)}/noschema", obj, kind="apply",
                         params={"fieldManager": "e2e", "fieldValidation": "Strict"}, expect=201)
        assert got["spec"] == {"foo": "bar", "nested": {"x": 1}}, got
    finally:
        delete_crd(cluster, crd)


SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "cronSpec": {"type": "string"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                  "items": {"type": "object", "required": ["containerPort", "protocol"], "properties": {
                      "containerPort": {"type": "integer"}, "protocol": {"type": "string"},
                      "hostPort": {"type": "integer"}}}}}}}}


@case("api-machinery", "[sig-api-machinery] FieldValidation should create/apply a valid CR for CRD with validation schema")
def fv_cr_valid(cluster: Cluster) -> None:
    """FieldValidation: a valid CR is created and applied under Strict"""
    crd = make_crd(copy.deepcopy(SCHEMA))
    create_crd(cluster, crd)
    try:
        obj = cr(crd, "valid", spec={"cronSpec": "* * * * */5",
                                     "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]})
        got = cluster.ok("PATCH", f"{cr_path(crd)}/valid", obj, kind="apply",
                         params={"fieldManager": "e2e", "fieldValidation": "Strict"}, expect=201)
        assert got["spec"]["ports"][0]["hostPort"] == 8080
        obj["spec"]["cronSpec"] = "* * * * */1"
        got = cluster.ok("PATCH", f"{cr_path(crd)}/valid", obj, kind="apply",
                         params={"fieldManager": "e2e", "fieldValidation": "Strict"}, expect=200)
        assert got["spec"]["cronSpec"] == "* * * * */1"
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] FieldValidation should create/apply an invalid CR with extra properties for CRD with validation schema")
def fv_cr_unknown(cluster: Cluster) -> None:
    """FieldValidation: Strict rejects a CR with fields the schema does not declare"""
    crd = make_crd(copy.deepcopy(SCHEMA))
    create_crd(cluster, crd)
    try:
        obj = cr(crd, "extra", spec={"cronSpec": "x", "foo": "bar",
                                     "ports": [{"containerPort": 80, "protocol": "TCP", "extraPort": 1}]})
        resp = cluster.post(cr_path(crd), obj, params={"fieldValidation": "Strict"})
        assert resp.status_code == 400, (resp.status_code, resp.text)
        msg = resp.json()["message"]
        assert 'unknown field "spec.foo"' in msg and 'unknown field "spec.ports[0].extraPort"' in msg, msg
        resp = cluster.patch(f"{cr_path(crd)}/extra", obj, kind="apply",
                             params={"fieldManager": "e2e", "fieldValidation": "Strict"})
        assert resp.status_code in (400, 422, 500), (resp.status_code, resp.text)
        assert ".spec.foo: field not declared in schema" in resp.json()["message"], resp.text
        assert cluster.absent(f"{cr_path(crd)}/extra")
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] FieldValidation should detect duplicates in a CR when preserving unknown fields")
def fv_cr_duplicates(cluster: Cluster) -> None:
    """FieldValidation: Strict rejects duplicate keys even where unknown fields are preserved"""
    schema = {"type": "object", "properties": {"spec": {"type": "object",
                                                        "x-kubernetes-preserve-unknown-fields": True}}}
    crd = make_crd(schema)
    create_crd(cluster, crd)
    try:
        raw = ('{"apiVersion":"%s/v1","kind":"%s","metadata":{"name":"dup"},'
               '"spec":{"foo":"bar","foo":"baz","known":1}}') % (crd["spec"]["group"], crd["spec"]["names"]["kind"])
        resp = cluster.request("POST", cr_path(crd), params={"fieldValidation": "Strict"}, content=raw,
                               headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (resp.status_code, resp.text)
        assert 'duplicate field "spec.foo"' in resp.json()["message"], resp.text
    finally:
        delete_crd(cluster, crd)


@case("api-machinery", "[sig-api-machinery] FieldValidation should detect unknown metadata fields in both the root and embedded object of a CR")
def fv_cr_metadata(cluster: Cluster) -> None:
    """FieldValidation: Strict rejects unknown metadata fields at the root and in embedded resources"""
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "x-kubernetes-preserve-unknown-fields": True}}}}}
    crd = make_crd(schema)
    create_crd(cluster, crd)
    try:
        obj = cr(crd, "meta", spec={"template": {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "inner", "unknownSubMeta": "x"}}})
        obj["metadata"]["unknownMeta"] = "y"
        resp = cluster.post(cr_path(crd), obj, params={"fieldValidation": "Strict"})
        assert resp.status_code == 400, (resp.status_code, resp.text)
        msg = resp.json()["message"]
        assert 'unknown field "metadata.unknownMeta"' in msg, msg
        assert 'unknown field "spec.template.metadata.unknownSubMeta"' in msg, msg
    finally:
        delete_crd(cluster, crd)
