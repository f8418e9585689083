"""Defaulting of minimal objects compared with what kube-apiserver stores for them."""

from __future__ import annotations

import copy

import pytest

from k3trio.api.defaults import apply_defaults, default_image_pull_policy

POD_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}
CONTAINER = {
    "name": "c",
    "image": "nginx:1.27",
    "imagePullPolicy": "IfNotPresent",
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}


def template() -> dict:
    return {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}


def defaulted(group: str, version: str, kind: str, obj: dict) -> dict:
    apply_defaults(group, version, kind, obj)
    again = copy.deepcopy(obj)
    apply_defaults(group, version, kind, again)
    assert again == obj, "defaulting must be idempotent"
    return obj


@pytest.mark.parametrize(
    "image,policy",
    [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
     ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
     ("busybox@sha256:" + "a" * 64, "IfNotPresent"), ("r.io/a/b:latest@sha256:" + "b" * 64, "Always")],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert default_image_pull_policy(image) == policy


def test_pod_minimal() -> None:
    pod = defaulted("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
    assert pod["spec"] == {**POD_SPEC_DEFAULTS, "enableServiceLinks": True, "containers": [CONTAINER]}


def test_pod_nested_defaults() -> None:
    pod = defaulted("", "v1", "Pod", {"spec": {
        "hostNetwork": True,
        "containers": [{
            "name": "c", "image": "app",
            "ports": [{"containerPort": 8080}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
        }],
        "volumes": [{"name": "a", "configMap": {"name": "cm"}}, {"name": "b", "secret": {"secretName": "s"}},
                    {"name": "c"}, {"name": "d", "hostPath": {"path": "/x"}},
                    {"name": "e", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
    }})
    c = pod["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Always"
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["periodSeconds"] == 5
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"apiVersion": "v1", "fieldPath": "spec.nodeName"}
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    vols = pod["spec"]["volumes"]
    assert vols[0]["configMap"]["defaultMode"] == 420
    assert vols[1]["secret"]["defaultMode"] == 420
    assert vols[2] == {"name": "c", "emptyDir": {}}
    assert vols[3]["hostPath"] == {"path": "/x", "type": ""}
    assert vols[4]["projected"] == {"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}]}


def test_deployment() -> None:
    d = defaulted("apps", "v1", "Deployment", {"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template()}})
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"] == {**POD_SPEC_DEFAULTS, "containers": [CONTAINER]}
    recreate = defaulted("apps", "v1", "Deployment", {"spec": {"strategy": {"type": "Recreate"}, "template": template()}})
    assert recreate["spec"]["strategy"] == {"type": "Recreate"}


def test_statefulset_daemonset_replicaset() -> None:
    sts = defaulted("apps", "v1", "StatefulSet", {"spec": {"template": template(), "volumeClaimTemplates": [
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}})["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert sts["replicas"] == 1 and sts["revisionHistoryLimit"] == 10
    assert sts["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert sts["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}
    ds = defaulted("apps", "v1", "DaemonSet", {"spec": {"template": template()}})["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["revisionHistoryLimit"] == 10
    rs = defaulted("apps", "v1", "ReplicaSet", {"spec": {"template": template()}})["spec"]
    assert rs["replicas"] == 1


def test_job_and_cronjob() -> None:
    job = defaulted("batch", "v1", "Job", {"spec": {"template": template()}})["spec"]
    assert {k: job[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend",
                                "podReplacementPolicy")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed"}
    par = defaulted("batch", "v1", "Job", {"spec": {"parallelism": 3, "podFailurePolicy": {"rules": []}, "template": template()}})["spec"]
    assert "completions" not in par and par["parallelism"] == 3 and par["podReplacementPolicy"] == "Failed"
    cj = defaulted("batch", "v1", "CronJob", {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}}})["spec"]
    assert (cj["concurrencyPolicy"], cj["suspend"], cj["successfulJobsHistoryLimit"], cj["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "backoffLimit" not in cj["jobTemplate"]["spec"]
    assert cj["jobTemplate"]["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"


def test_service_variants() -> None:
    svc = defaulted("", "v1", "Service", {"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}})["spec"]
    assert svc == {"selector": {"app": "a"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                   "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"}
    lb = defaulted("", "v1", "Service", {"spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}],
                                                  "sessionAffinity": "ClientIP"}})["spec"]
    assert lb["externalTrafficPolicy"] == "Cluster" and lb["allocateLoadBalancerNodePorts"] is True
    assert lb["ports"][0]["targetPort"] == "https"
    assert lb["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    ext = defaulted("", "v1", "Service", {"spec": {"type": "ExternalName", "externalName": "x.example"}})["spec"]
    assert "internalTrafficPolicy" not in ext


def test_simple_kinds() -> None:
    sec = defaulted("", "v1", "Secret", {"stringData": {"user": "admin"}, "data": {"x": "eA=="}})
    assert sec == {"type": "Opaque", "data": {"x": "eA==", "user": "YWRtaW4="}}
    ns = defaulted("", "v1", "Namespace", {"metadata": {"name": "dev"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"} and ns["status"] == {"phase": "Active"}
    pv = defaulted("", "v1", "PersistentVolume", {"spec": {"hostPath": {"path": "/d"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"] == {"phase": "Pending"}
    pvc = defaulted("", "v1", "PersistentVolumeClaim", {"spec": {}})
    assert pvc["spec"] == {"volumeMode": "Filesystem"} and pvc["status"] == {"phase": "Pending"}
    assert defaulted("scheduling.k8s.io", "v1", "PriorityClass", {"value": 5})["preemptionPolicy"] == "PreemptLowerPriority"
    sc = defaulted("storage.k8s.io", "v1", "StorageClass", {"provisioner": "p"})
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    rb = defaulted("rbac.authorization.k8s.io", "v1", "RoleBinding", {"subjects": [
        {"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]})
    assert [s["apiGroup"] for s in rb["subjects"]] == ["rbac.authorization.k8s.io", ""]
    ep = defaulted("", "v1", "Endpoints", {"subsets": [{"ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    es = defaulted("discovery.k8s.io", "v1", "EndpointSlice", {"ports": [{"port": 80}]})
    assert es["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    np = defaulted("networking.k8s.io", "v1", "NetworkPolicy", {"spec": {"egress": [{"ports": [{"port": 53}]}]}})
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"] and np["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    cm = {"data": {"a": "b"}}
    assert defaulted("", "v1", "ConfigMap", cm) == {"data": {"a": "b"}}


def test_hpa_v2_behavior() -> None:
    hpa = defaulted("autoscaling", "v2", "HorizontalPodAutoscaler",
                    {"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}})["spec"]
    assert hpa["minReplicas"] == 1
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert hpa["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert hpa["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
