"""API operations of built-in resources that need no running pods: configmaps, secrets,
services, events, leases, limit ranges, priority/runtime/ingress classes, endpoint slices,
service CIDRs, IP addresses, CSRs, storage classes and CSI drivers."""

from __future__ import annotations

import base64

from framework import Cluster, api_operations, case, unique, wait_for


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- configmaps and secrets ----------------------------------------------------------------

@case("node", "[sig-node] ConfigMap should fail to create ConfigMap with empty key")
def configmap_empty_key(cluster: Cluster) -> None:
    """ConfigMap: an empty data key is invalid"""
    resp = cluster.post("/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": unique("cm-empty")}, "data": {"": "value-1"}})
    assert resp.status_code == 422, (resp.status_code, resp.text)
    body = resp.json()
    assert body["reason"] == "Invalid" and body["details"]["causes"][0]["field"] == "data[]", body


@case("node", "[sig-node] ConfigMap should run through a ConfigMap lifecycle")
def configmap_lifecycle(cluster: Cluster) -> None:
    """ConfigMap: create, patch, list by label, delete by collection"""
    with cluster.namespace("cmlife") as ns:
        coll = f"/api/v1/namespaces/{ns}/configmaps"
        cluster.create(coll, {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "test-configmap", "labels": {"test-configmap-static": "true"}},
                              "data": {"valueName": "value"}})
        cluster.ok("PATCH", f"{coll}/test-configmap",
                   {"metadata": {"labels": {"test-configmap": "patched"}}, "data": {"valueName": "value1"}})
        got = cluster.read(f"{coll}/test-configmap")
        assert got["data"] == {"valueName": "value1"} and got["metadata"]["labels"]["test-configmap"] == "patched"
        everywhere = cluster.read("/api/v1/configmaps", params={"labelSelector": "test-configmap-static=true"})
        mine = [i for i in everywhere["items"] if i["metadata"]["namespace"] == ns]
        assert len(mine) == 1 and mine[0]["data"]["valueName"] == "value1", mine
        cluster.ok("DELETE", coll, params={"labelSelector": "test-configmap-static=true"})
        wait_for(lambda: cluster.absent(f"{coll}/test-configmap"), what="deleted by collection")


@case("node", "[sig-node] ConfigMap should update ConfigMap successfully")
def configmap_update(cluster: Cluster) -> None:
    """ConfigMap: an update replaces the data"""
    coll = "/api/v1/namespaces/default/configmaps"
    name = unique("cm-upd")
    cm = cluster.create(coll, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                               "data": {"data": "value"}})
    cm["data"] = {"data": "value-2"}
    assert cluster.ok("PUT", f"{coll}/{name}", cm, expect=200)["data"] == {"data": "value-2"}
    cluster.delete(f"{coll}/{name}")


def _immutable(cluster: Cluster, resource: str, make: dict, field: str, new_value: dict) -> None:
    coll = f"/api/v1/namespaces/default/{resource}"
    name = make["metadata"]["name"]
    obj = cluster.create(coll, make)
    obj[field] = new_value
    obj = cluster.ok("PUT", f"{coll}/{name}", obj, expect=200)
    obj["immutable"] = True
    obj = cluster.ok("PUT", f"{coll}/{name}", obj, expect=200)
    changed = dict(obj, **{field: {k: v + v for k, v in new_value.items()}})
    resp = cluster.put(f"{coll}/{name}", changed)
    assert resp.status_code == 422, (resp.status_code, resp.text)
    assert f"{field}: Forbidden: field is immutable when `immutable` is set" in resp.json()["message"], resp.text
    resp = cluster.put(f"{coll}/{name}", dict(obj, immutable=False))
    assert resp.status_code == 422, (resp.status_code, resp.text)
    assert "immutable: Forbidden: field is immutable when `immutable` is set" in resp.json()["message"], resp.text
    obj["metadata"].setdefault("labels", {})["label1"] = "value1"
    cluster.ok("PUT", f"{coll}/{name}", obj, expect=200)
    cluster.ok("DELETE", f"{coll}/{name}")


@case("storage", "[sig-storage] ConfigMap should be immutable if `immutable` field is set")
def configmap_immutable(cluster: Cluster) -> None:
    """ConfigMap: immutable configmaps refuse data changes but allow metadata changes"""
    _immutable(cluster, "configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": unique("cm-imm")}, "data": {"a": "1"}},
               "data", {"b": "2"})


@case("storage", "[sig-storage] Secrets should be immutable if `immutable` field is set")
def secret_immutable(cluster: Cluster) -> None:
    """Secrets: immutable secrets refuse data changes but allow metadata changes"""
    _immutable(cluster, "secrets", {"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": unique("sec-imm")}, "data": {"a": _b64("1")}},
               "data", {"b": _b64("2")})


@case("node", "[sig-node] Secrets should fail to create secret due to empty secret key")
def secret_empty_key(cluster: Cluster) -> None:
    """Secrets: an empty data key is invalid"""
    resp = cluster.post("/api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": unique("sec-empty")}, "data": {"": _b64("value-1")}})
    assert resp.status_code == 422, (resp.status_code, resp.text)
    assert resp.json()["details"]["causes"][0]["field"] == "data[]", resp.text


@case("node", "[sig-node] Secrets should patch a secret")
def secret_patch(cluster: Cluster) -> None:
    """Secrets: create, patch, fetch, delete by label"""
    with cluster.namespace("secpatch") as ns:
        coll = f"/api/v1/namespaces/{ns}/secrets"
        cluster.create(coll, {"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "test-secret", "labels": {"testsecret-constant": "true"}},
                              "data": {"key": _b64("value")}, "type": "Opaque"})
        listed = cluster.read("/api/v1/secrets", params={"labelSelector": "testsecret-constant=true"})
        assert any(i["metadata"]["namespace"] == ns for i in listed["items"]), listed
        cluster.ok("PATCH", f"{coll}/test-secret", {"metadata": {"labels": {"testsecret": "true"}},
                                                    "data": {"key": _b64("value1")}})
        got = cluster.read(f"{coll}/test-secret")
        assert got["data"]["key"] == _b64("value1") and got["metadata"]["labels"]["testsecret"] == "true"
        cluster.ok("DELETE", coll, params={"labelSelector": "testsecret-constant=true"})
        wait_for(lambda: cluster.absent(f"{coll}/test-secret"), what="secret deleted")


# -- services ------------------------------------------------------------------------------

def _svc(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"type": "ClusterIP", "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                                                     "targetPort": 8080}]}}


@case("network", "[sig-network] Services should find a service from listing all namespaces")
def services_all_namespaces(cluster: Cluster) -> None:
    """Services: the kubernetes service in default is in the all-namespaces list"""
    items = cluster.read("/api/v1/services")["items"]
    assert any(i["metadata"]["name"] == "kubernetes" and i["metadata"]["namespace"] == "default" for i in items)


@case("network", "[sig-network] Services should delete a collection of services")
def services_delete_collection(cluster: Cluster) -> None:
    """Services: deletecollection by label leaves the others"""
    with cluster.namespace("svcdel") as ns:
        coll = f"/api/v1/namespaces/{ns}/services"
        for i in range(3):
            cluster.create(coll, _svc(f"e2e-svc-{i}", {"e2e-test-service": "delete"} if i else {}))
        assert len(cluster.read(coll)["items"]) == 3
        cluster.ok("DELETE", coll, params={"labelSelector": "e2e-test-service=delete"})
        wait_for(lambda: len(cluster.read(coll)["items"]) == 1, what="two services deleted")
        assert cluster.read(coll)["items"][0]["metadata"]["name"] == "e2e-svc-0"


@case("network", "[sig-network] Services should complete a service status lifecycle")
def services_status_lifecycle(cluster: Cluster) -> None:
    """Services: /status read, patch and update; patch of the service"""
    with cluster.namespace("svcstatus") as ns:
        coll = f"/api/v1/namespaces/{ns}/services"
        cluster.create(coll, _svc("test-service", {"test-service-static": "true"}))
        status = cluster.read(f"{coll}/test-service/status")
        assert status["status"] == {"loadBalancer": {}}, status["status"]
        patched = cluster.ok("PATCH", f"{coll}/test-service/status", {
            "metadata": {"annotations": {"patchedstatus": "true"}},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}})
        assert patched["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.1", patched["status"]
        assert patched["metadata"]["annotations"]["patchedstatus"] == "true"
        cur = cluster.read(f"{coll}/test-service/status")
        cur["status"]["conditions"] = [{"type": "StatusUpdate", "status": "True", "reason": "E2E",
                                        "message": "Set from e2e test",
                                        "lastTransitionTime": "2024-01-01T00:00:00Z"}]
        updated = cluster.ok("PUT", f"{coll}/test-service/status", cur, expect=200)
        assert updated["status"]["conditions"][0]["type"] == "StatusUpdate", updated["status"]
        svc = cluster.ok("PATCH", f"{coll}/test-service", {"metadata": {"labels": {"test-service": "patched"}}})
        assert svc["metadata"]["labels"]["test-service"] == "patched"
        assert svc["status"]["conditions"][0]["type"] == "StatusUpdate"
        cluster.ok("DELETE", f"{coll}/test-service")


# -- events --------------------------------------------------------------------------------

def _core_event(name: str, ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "labels": {"testevent-set": "true"}},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": "nothing"},
            "reason": "Test", "message": "This is a test event", "type": "Normal", "count": 1,
            "source": {"component": "e2e"}}


@case("instrumentation", "[sig-instrumentation] Events should manage the lifecycle of an event")
def events_lifecycle(cluster: Cluster) -> None:
    """Events (core/v1): create, list by label, patch, update series, delete"""
    with cluster.namespace("ev") as ns:
        coll = f"/api/v1/namespaces/{ns}/events"
        cluster.create(coll, _core_event("event-test", ns))
        listed = cluster.read("/api/v1/events", params={"labelSelector": "testevent-set=true"})
        assert [i["metadata"]["name"] for i in listed["items"] if i["metadata"]["namespace"] == ns] == ["event-test"]
        patched = cluster.ok("PATCH", f"{coll}/event-test", {"message": "This is a test event - patched"})
        assert patched["message"] == "This is a test event - patched"
        cur = cluster.read(f"{coll}/event-test")
        cur["series"] = {"count": 100, "lastObservedTime": "2024-01-01T00:00:00.000000Z"}
        updated = cluster.ok("PUT", f"{coll}/event-test", cur, expect=200)
        assert updated["series"]["count"] == 100, updated
        cluster.ok("DELETE", f"{coll}/event-test")
        assert cluster.absent(f"{coll}/event-test")


@case("instrumentation", "[sig-instrumentation] Events should delete a collection of events")
def events_delete_collection(cluster: Cluster) -> None:
    """Events (core/v1): deletecollection by label"""
    with cluster.namespace("evdel") as ns:
        coll = f"/api/v1/namespaces/{ns}/events"
        for i in range(3):
            cluster.create(coll, _core_event(f"event-test-{i}", ns))
        assert len(cluster.read(coll, params={"labelSelector": "testevent-set=true"})["items"]) == 3
        cluster.ok("DELETE", coll, params={"labelSelector": "testevent-set=true"})
        wait_for(lambda: not cluster.read(coll, params={"labelSelector": "testevent-set=true"})["items"],
                 what="events deleted")


def _events_v1(name: str, ns: str) -> dict:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name, "labels": {"testevent-set": "true"}},
            "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "test-controller",
            "reportingInstance": "test-node", "action": "Do", "reason": "Test", "type": "Normal",
            "note": "This is a test event", "regarding": {"kind": "Pod", "namespace": ns, "name": "nothing"}}


@case("instrumentation", "[sig-instrumentation] Events API should ensure that an event can be fetched, patched, deleted, and listed")
def events_api_lifecycle(cluster: Cluster) -> None:
    """Events API (events.k8s.io/v1): fetch, patch note, update series, delete"""
    with cluster.namespace("evapi") as ns:
        coll = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
        cluster.create(coll, _events_v1("event-test", ns))
        got = cluster.read(f"{coll}/event-test")
        assert got["note"] == "This is a test event" and got["regarding"]["name"] == "nothing", got
        # The same object is visible through core/v1 with the mapped field names.
        core = cluster.read(f"/api/v1/namespaces/{ns}/events/event-test")
        assert core["message"] == "This is a test event" and core["involvedObject"]["name"] == "nothing", core
        patched = cluster.ok("PATCH", f"{coll}/event-test", {"note": "This is a test event - patched"},
                             kind="strategic")
        assert patched["note"] == "This is a test event - patched"
        got["series"] = {"count": 100, "lastObservedTime": "2024-01-01T00:00:01.000000Z"}
        got = cluster.read(f"{coll}/event-test") | {"series": got["series"]}
        updated = cluster.ok("PUT", f"{coll}/event-test", got, expect=200)
        assert updated["series"]["count"] == 100
        listed = cluster.read("/apis/events.k8s.io/v1/events", params={"labelSelector": "testevent-set=true"})
        assert any(i["metadata"]["namespace"] == ns for i in listed["items"])
        cluster.ok("DELETE", f"{coll}/event-test")
        assert not cluster.read(coll)["items"]


@case("instrumentation", "[sig-instrumentation] Events API should delete a collection of events")
def events_api_delete_collection(cluster: Cluster) -> None:
    """Events API (events.k8s.io/v1): deletecollection"""
    with cluster.namespace("evapidel") as ns:
        coll = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
        for i in range(3):
            cluster.create(coll, _events_v1(f"event-test-{i}", ns))
        assert len(cluster.read(coll)["items"]) == 3
        cluster.ok("DELETE", coll, params={"labelSelector": "testevent-set=true"})
        wait_for(lambda: not cluster.read(coll)["items"], what="events deleted")


# -- leases, limit ranges, classes ---------------------------------------------------------

@case("node", "[sig-node] Lease lease API should be available")
def lease_api(cluster: Cluster) -> None:
    """Lease: create, get, update, patch, list, deletecollection, delete"""
    with cluster.namespace("lease") as ns:
        coll = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
        spec = {"holderIdentity": "holder", "leaseDurationSeconds": 30,
                "acquireTime": "2024-01-01T00:00:00.000000Z", "renewTime": "2024-01-01T00:00:00.000000Z",
                "leaseTransitions": 0}
        cluster.create(coll, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": "lease"}, "spec": spec})
        got = cluster.read(f"{coll}/lease")
        assert got["spec"] == spec, got["spec"]
        got["spec"]["holderIdentity"] = "holder2"
        got["spec"]["leaseTransitions"] = 1
        updated = cluster.ok("PUT", f"{coll}/lease", got, expect=200)
        assert updated["spec"]["holderIdentity"] == "holder2"
        patched = cluster.ok("PATCH", f"{coll}/lease", {"spec": {"holderIdentity": "holder3", "leaseTransitions": 2}},
                             kind="strategic")
        assert cluster.read(f"{coll}/lease")["spec"] == patched["spec"]
        assert patched["spec"]["holderIdentity"] == "holder3"
        cluster.create(coll, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": "lease2", "labels": {"deletecollection": "true"}},
                              "spec": spec})
        assert len(cluster.read(coll)["items"]) == 2
        cluster.ok("DELETE", coll, params={"labelSelector": "deletecollection=true"})
        wait_for(lambda: [i["metadata"]["name"] for i in cluster.read(coll)["items"]] == ["lease"],
                 what="only the labelled lease deleted")
        cluster.ok("DELETE", f"{coll}/lease")
        assert cluster.get(f"{coll}/lease").status_code == 404


@case("scheduling", "[sig-scheduling] LimitRange should list, patch and delete a LimitRange by collection")
def limitrange_collection(cluster: Cluster) -> None:
    """LimitRange: list across namespaces, patch, delete by collection"""
    label = unique("lr")
    with cluster.namespace("lr1") as ns1, cluster.namespace("lr2") as ns2:
        lr = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"labels": {"e2e-limitrange": label}},
              "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "500Mi"},
                                   "defaultRequest": {"cpu": "100m", "memory": "200Mi"}}]}}
        for ns in (ns1, ns2):
            cluster.create(f"/api/v1/namespaces/{ns}/limitranges", dict(lr, metadata={**lr["metadata"], "name": "e2e"}))
        found = cluster.read("/api/v1/limitranges", params={"labelSelector": f"e2e-limitrange={label}"})
        assert len(found["items"]) == 2, found
        patched = cluster.ok("PATCH", f"/api/v1/namespaces/{ns1}/limitranges/e2e",
                             {"metadata": {"labels": {"patched": "true"}}}, kind="strategic")
        assert patched["metadata"]["labels"]["patched"] == "true"
        cluster.ok("DELETE", f"/api/v1/namespaces/{ns1}/limitranges",
                   params={"labelSelector": f"e2e-limitrange={label}"})
        wait_for(lambda: len(cluster.read("/api/v1/limitranges",
                                          params={"labelSelector": f"e2e-limitrange={label}"})["items"]) == 1,
                 what="one limit range left")


@case("scheduling", "[sig-scheduling] SchedulerPreemption PriorityClass endpoints verify PriorityClass endpoints can be operated with different HTTP methods")
def priorityclass_endpoints(cluster: Cluster) -> None:
    """PriorityClass: mutable fields change, value is immutable"""
    coll = "/apis/scheduling.k8s.io/v1/priorityclasses"
    names = cluster.read(coll)["items"]
    assert {"system-cluster-critical", "system-node-critical"} <= {i["metadata"]["name"] for i in names}
    name = unique("pc")
    cluster.create(coll, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                          "metadata": {"name": name}, "value": 1000})
    try:
        patched = cluster.ok("PATCH", f"{coll}/{name}", {"description": "patched"})
        assert patched["description"] == "patched" and patched["preemptionPolicy"] == "PreemptLowerPriority"
        resp = cluster.patch(f"{coll}/{name}", {"value": 2000})
        assert resp.status_code == 422 and "value: Forbidden: may not be changed in an update." in resp.text, resp.text
        cur = cluster.read(f"{coll}/{name}")
        cur["description"] = "updated"
        assert cluster.ok("PUT", f"{coll}/{name}", cur, expect=200)["description"] == "updated"
        cur = cluster.read(f"{coll}/{name}")
        cur["value"] = 5
        assert cluster.put(f"{coll}/{name}", cur).status_code == 422
    finally:
        cluster.delete(f"{coll}/{name}")


@case("node", "[sig-node] RuntimeClass should support RuntimeClasses API operations")
def runtimeclass_operations(cluster: Cluster) -> None:
    """RuntimeClass: standard API operations"""
    api_operations(cluster, "node.k8s.io", "v1", "runtimeclasses",
                   lambda n: {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "handler": "runc"})


@case("network", "[sig-network] IngressClass API should support creating IngressClass API operations")
def ingressclass_operations(cluster: Cluster) -> None:
    """IngressClass: standard API operations"""
    api_operations(cluster, "networking.k8s.io", "v1", "ingressclasses",
                   lambda n: {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                              "spec": {"controller": "example.com/controller"}})


@case("network", "[sig-network] EndpointSlice should support creating EndpointSlice API operations")
def endpointslice_operations(cluster: Cluster) -> None:
    """EndpointSlice: standard API operations"""
    with cluster.namespace("eps") as ns:
        api_operations(cluster, "discovery.k8s.io", "v1", "endpointslices",
                       lambda n: {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                  "addressType": "IPv4", "endpoints": [{"addresses": ["1.2.3.4", "5.6.7.8"]}],
                                  "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
                       namespace=ns)


@case("network", "[sig-network] ServiceCIDR and IPAddress API should support IPAddress API operations")
def ipaddress_operations(cluster: Cluster) -> None:
    """IPAddress: standard API operations"""
    octet = iter(range(10, 250))

    def make(name: str) -> dict:
        ip = f"192.0.2.{next(octet)}"
        return {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress", "metadata": {"name": ip},
                "spec": {"parentRef": {"group": "", "resource": "services", "name": "foo", "namespace": "bar"}}}

    # IPAddress names must be the address itself, so the names come from ``make``.
    api_operations_with_names(cluster, make)


def api_operations_with_names(cluster: Cluster, make) -> None:
    """Like api_operations, for a resource whose object names are fixed by ``make``."""
    from framework import check_discovery

    check_discovery(cluster, "networking.k8s.io", "v1", ["ipaddresses"])
    coll = "/apis/networking.k8s.io/v1/ipaddresses"
    label = unique("ipops")
    names = []
    for _ in range(3):
        obj = make("")
        obj["metadata"]["labels"] = {"e2e-ops": label}
        names.append(cluster.create(coll, obj)["metadata"]["name"])
    assert len(cluster.read(coll, params={"labelSelector": f"e2e-ops={label}"})["items"]) == 3
    cluster.ok("PATCH", f"{coll}/{names[0]}", {"metadata": {"annotations": {"patched": "true"}}})
    cur = cluster.read(f"{coll}/{names[0]}")
    cur["metadata"]["annotations"]["updated"] = "true"
    cluster.ok("PUT", f"{coll}/{names[0]}", cur, expect=200)
    cluster.ok("DELETE", f"{coll}/{names[0]}")
    cluster.ok("DELETE", coll, params={"labelSelector": f"e2e-ops={label}"})
    wait_for(lambda: not cluster.read(coll, params={"labelSelector": f"e2e-ops={label}"})["items"],
             what="ipaddresses deleted")


@case("network", "[sig-network] ServiceCIDR and IPAddress API should support ServiceCIDR API operations")
def servicecidr_operations(cluster: Cluster) -> None:
    """ServiceCIDR: standard API operations and the default service CIDR"""
    default = cluster.read("/apis/networking.k8s.io/v1/servicecidrs/kubernetes")
    assert default["spec"]["cidrs"] == ["10.43.0.0/16"], default
    octet = iter(range(1, 200))
    api_operations(cluster, "networking.k8s.io", "v1", "servicecidrs",
                   lambda n: {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
                              "spec": {"cidrs": [f"198.{next(octet)}.0.0/24"]}},
                   subresources=("status",))


@case("auth", "[sig-auth] Certificates API [Privileged:ClusterAdmin] should support CSR API operations")
def csr_operations(cluster: Cluster) -> None:
    """CSR: standard API operations plus /approval and /status"""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    req = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2e.example.com")])).sign(key, hashes.SHA256())
    pem = base64.b64encode(req.public_bytes(serialization.Encoding.PEM)).decode()

    def make(name: str) -> dict:
        return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                "spec": {"request": pem, "signerName": "example.com/e2e-" + name[-6:],
                         "usages": ["digital signature", "key encipherment", "server auth"]}}

    api_operations(cluster, "certificates.k8s.io", "v1", "certificatesigningrequests", make,
                   subresources=("approval", "status"))
    name = unique("csr")
    coll = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    cluster.create(coll, dict(make(name), metadata={"name": name}))
    try:
        cur = cluster.read(f"{coll}/{name}/approval")
        cur.setdefault("status", {})["conditions"] = [{"type": "Approved", "status": "True", "reason": "E2E",
                                        "message": "Set from an e2e test"}]
        approved = cluster.ok("PUT", f"{coll}/{name}/approval", cur, expect=200)
        assert approved["status"]["conditions"][0]["type"] == "Approved", approved["status"]
        assert approved["status"]["conditions"][0]["lastUpdateTime"]
        status = cluster.ok("PATCH", f"{coll}/{name}/status",
                            {"metadata": {"annotations": {"patchedstatus": "true"}}})
        assert status["metadata"]["annotations"]["patchedstatus"] == "true"
    finally:
        cluster.delete(f"{coll}/{name}")


# -- storage -------------------------------------------------------------------------------

@case("storage", "[sig-storage] StorageClasses CSI Conformance should run through the lifecycle of a StorageClass")
def storageclass_lifecycle(cluster: Cluster) -> None:
    """StorageClass: create, read, patch, delete, replace, update, deletecollection"""
    coll = "/apis/storage.k8s.io/v1/storageclasses"
    label = unique("sc")

    def sc(name: str) -> dict:
        return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": name, "labels": {"e2e-sc": label}}, "provisioner": "e2e-fake-provisioner"}

    name = unique("sc")
    created = cluster.create(coll, sc(name))
    assert created["reclaimPolicy"] == "Delete" and created["volumeBindingMode"] == "Immediate", created
    patched = cluster.ok("PATCH", f"{coll}/{name}", {"metadata": {"labels": {"patched": "true"}}})
    assert patched["metadata"]["labels"]["patched"] == "true"
    cluster.ok("DELETE", f"{coll}/{name}")
    assert cluster.absent(f"{coll}/{name}")
    name2 = unique("sc")
    cur = cluster.create(coll, sc(name2))
    cur["metadata"]["labels"]["updated"] = "true"
    assert cluster.ok("PUT", f"{coll}/{name2}", cur, expect=200)["metadata"]["labels"]["updated"] == "true"
    cur["provisioner"] = "other"
    assert cluster.put(f"{coll}/{name2}", cluster.read(f"{coll}/{name2}") | {"provisioner": "other"}).status_code == 422
    cluster.ok("DELETE", coll, params={"labelSelector": f"e2e-sc={label}"})
    wait_for(lambda: cluster.absent(f"{coll}/{name2}"), what="deleted by collection")


@case("storage", "[sig-storage] CSIInlineVolumes should run through the lifecycle of a CSIDriver")
def csidriver_lifecycle(cluster: Cluster) -> None:
    """CSIDriver: create two, patch, update, list, delete, deletecollection"""
    coll = "/apis/storage.k8s.io/v1/csidrivers"
    label = unique("csi")
    names = [f"{unique('e2e')}.example.com" for _ in range(2)]
    for n in names:
        got = cluster.create(coll, {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
                                    "metadata": {"name": n, "labels": {"e2e-csi": label}},
                                    "spec": {"volumeLifecycleModes": ["Ephemeral"]}})
        assert got["spec"]["attachRequired"] is True and got["spec"]["podInfoOnMount"] is False, got["spec"]
    patched = cluster.ok("PATCH", f"{coll}/{names[0]}", {"metadata": {"labels": {"patched": "true"}}})
    assert patched["metadata"]["labels"]["patched"] == "true"
    cur = cluster.read(f"{coll}/{names[0]}")
    cur["metadata"]["labels"]["updated"] = "true"
    assert cluster.ok("PUT", f"{coll}/{names[0]}", cur, expect=200)["metadata"]["labels"]["updated"] == "true"
    assert len(cluster.read(coll, params={"labelSelector": f"e2e-csi={label}"})["items"]) == 2
    cluster.ok("DELETE", f"{coll}/{names[0]}")
    cluster.ok("DELETE", coll, params={"labelSelector": f"e2e-csi={label}"})
    wait_for(lambda: not cluster.read(coll, params={"labelSelector": f"e2e-csi={label}"})["items"],
             what="csidrivers deleted")
