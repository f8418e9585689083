"""Table columns and cells against upstream printer behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from k3trio.api.tables import build_table, human_duration, printer_for

NOW = datetime(2026, 11, 24, 21, 0, 0, tzinfo=timezone.utc)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "seconds,expected",
    [
        (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"),
        (200, "3m20s"), (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"),
        (5 * 3600 + 180, "5h3m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
        (3 * 86400 + 5 * 3600, "3d5h"), (8 * 86400, "8d"), (729 * 86400, "729d"),
        (730 * 86400, "2y"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, expected: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == expected


def cells(group: str, resource: str, obj: dict) -> list:
    return build_table(group, resource, [obj], now=NOW)["rows"][0]["cells"]


def pod(**status: object) -> dict:
    return {
        "metadata": {"name": "p", "creationTimestamp": ts(300)},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "n1"},
        "status": status,
    }


def test_pod_columns_and_running_row() -> None:
    table = build_table(
        "", "pods",
        [pod(phase="Running", podIPs=[{"ip": "10.42.0.5"}], conditions=[{"type": "Ready", "status": "True"}],
             containerStatuses=[{"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}])],
        now=NOW, include_object="Object",
    )
    names = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                     ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["rows"][0]["cells"] == ["p", "1/1", "Running", "0", "5m", "10.42.0.5", "n1", "<none>", "<none>"]
    assert table["rows"][0]["object"]["metadata"]["name"] == "p"
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"


@pytest.mark.parametrize(
    "status,expected",
    [
        ({"phase": "Pending"}, "Pending"),
        ({"phase": "Pending", "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]},
         "ContainerCreating"),
        ({"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
         "CrashLoopBackOff"),
        ({"phase": "Succeeded", "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
         "Completed"),
        ({"phase": "Failed", "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 2}}}]}, "ExitCode:2"),
        ({"phase": "Failed", "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}, "Signal:9"),
        ({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]},
         "SchedulingGated"),
        ({"phase": "Failed", "reason": "Evicted"}, "Evicted"),
    ],
)
def test_pod_status_reasons(status: dict, expected: str) -> None:
    assert cells("", "pods", pod(**status))[2] == expected


def test_pod_init_container_reasons() -> None:
    p = pod(phase="Pending", initContainerStatuses=[
        {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
        {"name": "i2", "state": {"running": {}}},
    ])
    p["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    assert cells("", "pods", p)[2] == "Init:1/2"
    p["status"]["initContainerStatuses"][1]["state"] = {"waiting": {"reason": "PodInitializing"}}
    assert cells("", "pods", p)[2] == "Init:1/2"
    p["status"]["initContainerStatuses"][1]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    assert cells("", "pods", p)[2] == "Init:ImagePullBackOff"
    p["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    assert cells("", "pods", p)[2] == "Init:Error"
    p["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 3}}
    assert cells("", "pods", p)[2] == "Init:ExitCode:3"


def test_pod_sidecar_counts_as_container() -> None:
    p = pod(phase="Running", conditions=[{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            initContainerStatuses=[{"name": "side", "started": True, "ready": True, "restartCount": 1, "state": {"running": {}}}],
            containerStatuses=[{"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}])
    p["spec"]["initContainers"] = [{"name": "side", "restartPolicy": "Always"}]
    row = cells("", "pods", p)
    assert row[1:4] == ["2/2", "Running", "1"]


def test_pod_terminating_and_restarts_ago() -> None:
    p = pod(phase="Running", containerStatuses=[{
        "name": "c", "ready": True, "restartCount": 3, "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(300)}}}])
    p["metadata"]["deletionTimestamp"] = ts(1)
    row = cells("", "pods", p)
    assert row[2] == "Terminating"
    assert row[3] == "3 (5m ago)"
    done = pod(phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ts(1)
    table = build_table("", "pods", [done], now=NOW)
    assert table["rows"][0]["cells"][2] == "Succeeded"
    assert table["rows"][0]["conditions"][0]["reason"] == "Succeeded"


def test_pod_readiness_gates_and_unknown_age() -> None:
    p = pod(phase="Running", conditions=[{"type": "x/ok", "status": "True"}])
    p["spec"]["readinessGates"] = [{"conditionType": "x/ok"}, {"conditionType": "x/other"}]
    del p["metadata"]["creationTimestamp"]
    row = cells("", "pods", p)
    assert row[4] == "<unknown>" and row[8] == "1/2"


def test_deployment_row() -> None:
    d = {"metadata": {"name": "web", "creationTimestamp": ts(3 * 86400 + 5 * 3600)},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"}},
                  "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis"}]}}},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    table = build_table("apps", "deployments", [d], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert table["rows"][0]["cells"] == ["web", "2/3", 3, 2, "3d5h", "a,b", "nginx:1,redis", "app=web,tier=fe"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


@pytest.mark.parametrize(
    "spec,status,expected",
    [
        ({"type": "ClusterIP", "clusterIPs": ["10.43.0.10"], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
         {}, ["ClusterIP", "10.43.0.10", "<none>", "53/UDP,53/TCP"]),
        ({"type": "NodePort", "clusterIPs": ["10.43.0.2"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
         {}, ["NodePort", "10.43.0.2", "<none>", "80:30080/TCP"]),
        ({"type": "LoadBalancer", "clusterIPs": ["10.43.0.3"], "ports": [{"port": 443, "nodePort": 31000, "protocol": "TCP"}]},
         {}, ["LoadBalancer", "10.43.0.3", "<pending>", "443:31000/TCP"]),
        ({"type": "LoadBalancer", "clusterIPs": ["10.43.0.3"], "ports": []},
         {"loadBalancer": {"ingress": [{"ip": "192.168.1.9"}, {"hostname": "lb.example"}]}},
         ["LoadBalancer", "10.43.0.3", "192.168.1.9,lb.example", "<none>"]),
        ({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}, {}, ["ClusterIP", "None", "<none>", "<none>"]),
        ({"type": "ExternalName", "externalName": "db.example.com"}, {}, ["ExternalName", "<none>", "db.example.com", "<none>"]),
    ],
)
def test_service_rows(spec: dict, status: dict, expected: list) -> None:
    svc = {"metadata": {"name": "s", "creationTimestamp": ts(10)}, "spec": spec, "status": status}
    row = cells("", "services", svc)
    assert row[1:5] == expected
    assert row[6] == "<none>"


def test_node_row() -> None:
    node = {"metadata": {"name": "n1", "creationTimestamp": ts(7200),
                         "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.4"}, {"type": "Hostname", "address": "n1"}],
                       "nodeInfo": {"kubeletVersion": "v1.36.0+k3trio", "osImage": "Debian", "kernelVersion": "6.1",
                                    "containerRuntimeVersion": "containerd://1.7"}}}
    assert cells("", "nodes", node) == [
        "n1", "NotReady,SchedulingDisabled", "control-plane,master", "120m", "v1.36.0+k3trio",
        "10.0.0.4", "<none>", "Debian", "6.1", "containerd://1.7"]
    assert cells("", "nodes", {"metadata": {"name": "x"}})[1:3] == ["Unknown", "<none>"]


def test_simple_core_rows() -> None:
    assert cells("", "namespaces", {"metadata": {"name": "default", "creationTimestamp": ts(30)}, "status": {"phase": "Active"}}) == [
        "default", "Active", "30s"]
    assert cells("", "configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}})[1] == 2
    assert cells("", "secrets", {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}})[1:3] == ["Opaque", 1]
    assert cells("", "serviceaccounts", {"metadata": {"name": "default"}})[1] == 0


def test_endpoints_formatting() -> None:
    ep = {"metadata": {"name": "e"}, "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]}
    assert cells("", "endpoints", ep)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
    assert cells("", "endpoints", {"metadata": {"name": "e"}})[1] == "<none>"
    v6 = {"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]}
    assert cells("", "endpoints", v6)[1] == "[fd00::1]:80"


def test_event_row_all_columns() -> None:
    ev = {"metadata": {"name": "p.17a"}, "type": "Normal", "reason": "Scheduled", "message": " Successfully assigned \n",
          "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
          "source": {"component": "default-scheduler"}, "firstTimestamp": ts(65), "lastTimestamp": ts(5), "count": 2}
    assert cells("", "events", ev) == ["5s", "Normal", "Scheduled", "pod/p", "spec.containers{c}", "default-scheduler",
                                       "Successfully assigned", "65s", 2, "p.17a"]
    new_style = {"metadata": {"name": "x"}, "eventTime": "2026-11-24T20:59:00.000000Z", "involvedObject": {"kind": "Node"},
                 "reportingComponent": "kubelet", "reportingInstance": "n1"}
    row = cells("", "events", new_style)
    assert row[0] == "60s" and row[3] == "node" and row[5] == "kubelet, n1" and row[8] == 1


def test_job_and_cronjob_rows() -> None:
    job = {"metadata": {"name": "j", "creationTimestamp": ts(100)}, "spec": {"completions": 1, "parallelism": 1,
           "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
           "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
           "status": {"succeeded": 1, "startTime": ts(100), "completionTime": ts(88),
                      "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}}
    assert cells("batch", "jobs", job) == ["j", "Complete", "1/1", "12s", "100s", "c", "busybox",
                                           "batch.kubernetes.io/controller-uid=u"]
    running = {"metadata": {"name": "j2"}, "spec": {"parallelism": 3}, "status": {"startTime": ts(30)}}
    assert cells("batch", "jobs", running)[1:4] == ["Running", "0/1 of 3", "30s"]
    cj = {"metadata": {"name": "cj", "creationTimestamp": ts(3600)}, "spec": {"schedule": "*/1 * * * *", "suspend": False},
          "status": {"active": [{"name": "x"}], "lastScheduleTime": ts(40)}}
    assert cells("batch", "cronjobs", cj)[:7] == ["cj", "*/1 * * * *", "<none>", "False", 1, "40s", "60m"]


def test_statefulset_daemonset_replicaset() -> None:
    sts = {"metadata": {"name": "db"}, "spec": {"replicas": 3, "template": {"spec": {"containers": []}}}, "status": {"readyReplicas": 1}}
    assert cells("apps", "statefulsets", sts)[:2] == ["db", "1/3"]
    ds = {"metadata": {"name": "ds"}, "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}},
          "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1, "updatedNumberScheduled": 1,
                     "numberAvailable": 1}}
    assert cells("apps", "daemonsets", ds)[:7] == ["ds", 1, 1, 1, 1, 1, "kubernetes.io/os=linux"]
    rs = {"metadata": {"name": "rs"}, "spec": {"replicas": 2, "selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["b", "a"]}, {"key": "canary", "operator": "DoesNotExist"}]}}}
    assert cells("apps", "replicasets", rs)[-1] == "app in (a,b),!canary"


def test_other_groups() -> None:
    pv = {"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
          "persistentVolumeReclaimPolicy": "Delete", "claimRef": {"namespace": "ns", "name": "c"}, "storageClassName": "local-path",
          "volumeMode": "Filesystem"}, "status": {"phase": "Bound"}}
    assert cells("", "persistentvolumes", pv) == ["pv1", "1Gi", "RWO,RWX", "Delete", "Bound", "ns/c", "local-path", "<unset>", "",
                                                  "<unknown>", "Filesystem"]
    pvc = {"metadata": {"name": "c"}, "spec": {"storageClassName": "local-path"}, "status": {"phase": "Pending"}}
    assert cells("", "persistentvolumeclaims", pvc)[:6] == ["c", "Pending", "", "", "", "local-path"]
    sc = {"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
    assert cells("storage.k8s.io", "storageclasses", sc)[:5] == ["local-path (default)", "rancher.io/local-path", "Delete",
                                                                 "WaitForFirstConsumer", False]
    rb = {"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
          "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "namespace": "ns", "name": "sa"},
                       {"kind": "Group", "name": "devs"}, {"kind": "User", "name": "bob"}]}
    assert cells("rbac.authorization.k8s.io", "rolebindings", rb) == ["rb", "ClusterRole/view", "<unknown>", "alice, bob", "devs", "ns/sa"]
    lease = {"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}}
    assert cells("coordination.k8s.io", "leases", lease)[:2] == ["n1", "n1"]
    pdb = {"metadata": {"name": "p"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    assert cells("policy", "poddisruptionbudgets", pdb)[:4] == ["p", "50%", "N/A", 1]
    hpa = {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
           "status": {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}}
    assert cells("autoscaling", "horizontalpodautoscalers", hpa)[:6] == ["h", "Deployment/web", "cpu: 12%/80%", "1", 5, 2]
    ing = {"metadata": {"name": "i"}, "spec": {"ingressClassName": "traefik", "rules": [{"host": "a.example"}, {}], "tls": [{}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.4"}]}}}
    assert cells("networking.k8s.io", "ingresses", ing)[:5] == ["i", "traefik", "a.example", "10.0.0.4", "80, 443"]
    es = {"metadata": {"name": "s-abc"}, "addressType": "IPv4", "ports": [{"port": 80, "name": "http"}],
          "endpoints": [{"addresses": ["10.42.0.1"]}]}
    assert cells("discovery.k8s.io", "endpointslices", es)[:4] == ["s-abc", "IPv4", "80", "10.42.0.1"]
    assert cells("discovery.k8s.io", "endpointslices", {"metadata": {"name": "e"}})[2:4] == ["<unset>", "<unset>"]
    pc = {"metadata": {"name": "system-node-critical"}, "value": 2000001000, "preemptionPolicy": "PreemptLowerPriority"}
    assert cells("scheduling.k8s.io", "priorityclasses", pc) == ["system-node-critical", 2000001000, False, "<unknown>",
                                                                 "PreemptLowerPriority"]


def test_default_table_for_kinds_without_printer() -> None:
    assert printer_for("rbac.authorization.k8s.io", "roles") is None
    table = build_table("apiextensions.k8s.io", "customresourcedefinitions",
                        [{"metadata": {"name": "foos.example.com", "creationTimestamp": "2026-11-20T10:00:00Z"}}],
                        now=NOW, include_object="None")
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [("Name", "string"), ("Created At", "date")]
    assert table["rows"] == [{"cells": ["foos.example.com", "2026-11-20T10:00:00Z"]}]
    assert "Name must be unique" in table["columnDefinitions"][0]["description"]


def test_include_object_validation() -> None:
    with pytest.raises(ValueError):
        build_table("", "pods", [], now=NOW, include_object="Everything")
