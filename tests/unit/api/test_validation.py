"""Validation messages and paths for the cases users hit most often."""

from __future__ import annotations

import copy

import pytest

from k3trio.api.defaults import apply_defaults
from k3trio.api.errors import Invalid
from k3trio.api.validation import parse_schedule, validate, validate_status_update


def msgs(errs: list) -> list[str]:
    return [str(e) for e in errs]


def pod(**spec: object) -> dict:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}
    apply_defaults("", "v1", "Pod", obj)
    return obj


def deployment(labels: dict | None = None, selector: dict | None = None) -> dict:
    obj = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"matchLabels": selector if selector is not None else {"app": "web"}},
                    "template": {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    apply_defaults("apps", "v1", "Deployment", obj)
    return obj


def test_valid_objects_have_no_errors() -> None:
    assert validate("", "v1", "Pod", pod()) == []
    assert validate("apps", "v1", "Deployment", deployment()) == []


def test_metadata_rules() -> None:
    obj = pod()
    del obj["metadata"]["name"]
    obj["metadata"]["namespace"] = "Bad_NS"
    obj["metadata"]["labels"] = {"ok": "-bad"}
    obj["metadata"]["finalizers"] = ["orphan", "foregroundDeletion"]
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "1", "controller": True},
                                          {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "s", "controller": True}]
    out = msgs(validate("", "v1", "Pod", obj))
    assert out[0] == "metadata.name: Required value: name or generateName is required"
    assert out[1].startswith('metadata.namespace: Invalid value: "Bad_NS": a lowercase RFC 1123 label')
    assert any(m.startswith('metadata.labels: Invalid value: "-bad": a valid label must be') for m in out)
    assert "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty" in out
    assert any("Only one reference can have Controller set to true" in m for m in out)
    assert any("finalizer orphan and foregroundDeletion cannot be both set" in m for m in out)


def test_cluster_scoped_namespace_forbidden_and_generate_name() -> None:
    out = msgs(validate("", "v1", "Namespace", {"metadata": {"name": "x", "namespace": "default"}}))
    assert out == ["metadata.namespace: Forbidden: not allowed on this type"]
    gen = {"metadata": {"generateName": "web-", "namespace": "default"}, "spec": pod()["spec"]}
    assert msgs(validate("", "v1", "Pod", gen)) == ["metadata.name: Required value: name or generateName is required"]
    gen["metadata"]["name"] = "web-x7k2q"
    assert validate("", "v1", "Pod", gen) == []
    gen["metadata"]["generateName"] = "Web-"
    assert msgs(validate("", "v1", "Pod", gen))[0].startswith('metadata.generateName: Invalid value: "Web-": a lowercase RFC 1123 subdomain')


def test_pod_container_errors() -> None:
    obj = pod()
    obj["spec"]["containers"] = [
        {"name": "c", "image": "a", "ports": [{"containerPort": 70000, "protocol": "TCP", "name": "http"},
                                              {"containerPort": 80, "protocol": "XYZ", "name": "http"}],
         "env": [{"name": "A=B"}], "volumeMounts": [{"name": "missing", "mountPath": "/x"}],
         "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}},
         "livenessProbe": {"exec": {"command": ["true"]}, "httpGet": {"port": 80}, "successThreshold": 2}},
        {"name": "c", "image": ""},
    ]
    obj["spec"]["restartPolicy"] = "Sometimes"
    out = msgs(validate("", "v1", "Pod", obj))
    assert "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive" in out
    assert 'spec.containers[0].ports[1].name: Duplicate value: "http"' in out
    assert 'spec.containers[0].ports[1].protocol: Unsupported value: "XYZ": supported values: "SCTP", "TCP", "UDP"' in out
    assert any(m.startswith('spec.containers[0].env[0].name: Invalid value: "A=B"') for m in out)
    assert 'spec.containers[0].volumeMounts[0].name: Not found: "missing"' in out
    assert 'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1' in out
    assert "spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type" in out
    assert "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1" in out
    assert 'spec.containers[1].name: Duplicate value: "c"' in out
    assert "spec.containers[1].image: Required value" in out
    assert 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' in out


def test_pod_volumes_and_empty_containers() -> None:
    obj = pod(volumes=[{"name": "v", "emptyDir": {}, "hostPath": {"path": "/"}}, {"name": "v", "emptyDir": {}}])
    obj["spec"]["containers"] = []
    out = msgs(validate("", "v1", "Pod", obj))
    assert "spec.containers: Required value" in out
    assert "spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type" in out
    assert 'spec.volumes[1].name: Duplicate value: "v"' in out


def test_pod_update_rules() -> None:
    old = pod()
    old["metadata"].update(resourceVersion="5", uid="u1", creationTimestamp="2026-11-24T21:00:00Z")
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.36"
    new["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    new["metadata"]["labels"] = {"a": "b"}
    assert validate("", "v1", "Pod", new, old) == []
    bad = copy.deepcopy(old)
    bad["spec"]["restartPolicy"] = "Never"
    bad["metadata"]["uid"] = "u2"
    out = msgs(validate("", "v1", "Pod", bad, old))
    assert 'metadata.uid: Invalid value: "u2": field is immutable' in out
    spec_err = [m for m in out if m.startswith("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`")]
    assert spec_err and "restartPolicy" in spec_err[0]
    no_rv = copy.deepcopy(new)
    del no_rv["metadata"]["resourceVersion"]
    assert 'metadata.resourceVersion: Invalid value: "": must be specified for an update' in msgs(validate("", "v1", "Pod", no_rv, old))


def test_deployment_rules() -> None:
    out = msgs(validate("apps", "v1", "Deployment", deployment(labels={"app": "other"})))
    assert out == ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: '
                   "`selector` does not match template `labels`"]
    d = deployment()
    d["spec"]["replicas"] = -1
    d["spec"]["strategy"]["rollingUpdate"] = {"maxUnavailable": 0, "maxSurge": 0}
    d["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    out = msgs(validate("apps", "v1", "Deployment", d))
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in out
    assert "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0" in out
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' in out
    nosel = deployment()
    del nosel["spec"]["selector"]
    assert "spec.selector: Required value" in msgs(validate("apps", "v1", "Deployment", nosel))
    old = deployment()
    old["metadata"]["resourceVersion"] = "1"
    changed = deployment(labels={"app": "x"}, selector={"app": "x"})
    changed["metadata"]["resourceVersion"] = "1"
    assert any(m.startswith("spec.selector: Invalid value") and m.endswith("field is immutable")
               for m in msgs(validate("apps", "v1", "Deployment", changed, old)))


def test_statefulset_update_forbidden() -> None:
    old = {"metadata": {"name": "db", "namespace": "d", "resourceVersion": "1"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "db",
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    apply_defaults("apps", "v1", "StatefulSet", old)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    assert validate("apps", "v1", "StatefulSet", new, old) == []
    new["spec"]["serviceName"] = "other"
    assert any(m.startswith("spec: Forbidden: updates to statefulset spec for fields other than 'replicas'")
               for m in msgs(validate("apps", "v1", "StatefulSet", new, old)))


def test_service_rules() -> None:
    svc = {"metadata": {"name": "Svc", "namespace": "d"}, "spec": {"ports": [{"port": 0}, {"port": 80, "nodePort": 30001}]}}
    apply_defaults("", "v1", "Service", svc)
    out = msgs(validate("", "v1", "Service", svc))
    assert out[0].startswith('metadata.name: Invalid value: "Svc": a DNS-1035 label must consist of lower case')
    assert "spec.ports[0].name: Required value" in out
    assert "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" in out
    assert "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" in out
    empty = {"metadata": {"name": "s", "namespace": "d"}, "spec": {}}
    apply_defaults("", "v1", "Service", empty)
    assert msgs(validate("", "v1", "Service", empty)) == ["spec.ports: Required value"]
    old = {"metadata": {"name": "s", "namespace": "d", "resourceVersion": "3"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.5", "clusterIPs": ["10.43.0.5"], "ports": [{"port": 80, "protocol": "TCP"}]}}
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"], new["spec"]["clusterIPs"] = "10.43.0.6", ["10.43.0.6"]
    assert 'spec.clusterIPs[0]: Invalid value: []string{"10.43.0.6"}: may not change once set' in msgs(
        validate("", "v1", "Service", new, old))


def test_job_and_cronjob() -> None:
    job = {"metadata": {"name": "j", "namespace": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    apply_defaults("batch", "v1", "Job", job)
    assert msgs(validate("batch", "v1", "Job", job)) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']
    cj = {"metadata": {"name": "c", "namespace": "d"}, "spec": {"schedule": "61 * * * *", "timeZone": "Mars/Base",
          "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}}
    apply_defaults("batch", "v1", "CronJob", cj)
    assert msgs(validate("batch", "v1", "CronJob", cj)) == [
        'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
        'spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base']


@pytest.mark.parametrize(
    "schedule,error",
    [("*/5 * * * *", None), ("0 0 * * MON-FRI", None), ("@hourly", None), ("@every 1h30m", None),
     ("foo", "expected exactly 5 fields, found 1: [foo]"), ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
     ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"), ("*/0 * * * *", "step of range should be a positive number: */0"),
     ("@weird", "unrecognized descriptor: @weird"), ("0 0 0 * *", "beginning of range (0) below minimum (1): 0")],
)
def test_cron_parser(schedule: str, error: str | None) -> None:
    assert parse_schedule(schedule) == error


def test_configmap_secret_namespace_rbac() -> None:
    cm = {"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "x", "k": "v"}, "binaryData": {"k": "AA=="}}
    out = msgs(validate("", "v1", "ConfigMap", cm))
    assert out[0].startswith('data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters')
    assert 'data[k]: Invalid value: "k": duplicate of key present in binaryData' in out
    big = {"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "x" * (1024 * 1024 + 1)}}
    assert msgs(validate("", "v1", "ConfigMap", big)) == ["Too long: must have at most 1048576 bytes"]
    tls = {"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "AA=="}}
    assert msgs(validate("", "v1", "Secret", tls)) == ["data[tls.key]: Required value"]
    assert msgs(validate("", "v1", "Namespace", {"metadata": {"name": "A"}}))[0].startswith(
        'metadata.name: Invalid value: "A": a lowercase RFC 1123 label')
    role = {"metadata": {"name": "r", "namespace": "d"}, "rules": [{"apiGroups": [""]}, {"verbs": ["get"], "nonResourceURLs": ["/x"]}]}
    assert msgs(validate("rbac.authorization.k8s.io", "v1", "Role", role)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].resources: Required value: resource rules must supply at least one resource",
        'rules[1].nonResourceURLs: Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs']
    crb = {"metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
           "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}
    assert msgs(validate("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", crb)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"', "subjects[0].namespace: Required value"]


def test_invalid_status_message_composition() -> None:
    errs = validate("apps", "v1", "Deployment", deployment(labels={"app": "other"}))
    status = Invalid("Deployment", "web", errs, group="apps").to_status()
    assert status["message"] == ('Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
                                 'map[string]string{"app":"other"}: `selector` does not match template `labels`')
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": 'Invalid value: map[string]string{"app":"other"}: '
                                            "`selector` does not match template `labels`", "field": "spec.template.metadata.labels"}]


def test_status_update_and_lease() -> None:
    old = {"metadata": {"name": "d", "namespace": "n", "resourceVersion": "2"}, "status": {}}
    new = copy.deepcopy(old)
    new["status"]["replicas"] = -1
    assert msgs(validate_status_update("apps", "v1", "Deployment", new, old)) == [
        "status.replicas: Invalid value: -1: must be greater than or equal to 0"]
    lease = {"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}}
    assert msgs(validate("coordination.k8s.io", "v1", "Lease", lease)) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
