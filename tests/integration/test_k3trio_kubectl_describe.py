"""``k3trio kubectl describe`` against the real kubectl on the same objects: identical text
(field names, order, alignment and values) for the common kinds."""

from __future__ import annotations

import pytest
import yaml

from ._kubectl_compare import Pair
from ._server import ServerProcess
from .conftest import Kubectl, unique


@pytest.fixture(scope="module")
def pair(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("homes"))


@pytest.fixture(scope="module")
def ns(kctl: Kubectl) -> str:
    ns = unique("desc")
    kctl.ok("create", "namespace", ns)
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                "spec": {"containers": [{
                    "name": "c", "image": "nginx:1.25", "command": ["sh", "-c"], "args": ["x"],
                    "ports": [{"containerPort": 80}, {"containerPort": 443}],
                    "env": [{"name": "A", "value": "1"},
                            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
                    "resources": {"limits": {"cpu": "500m", "memory": "64Mi"},
                                  "requests": {"cpu": "250m"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}]}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "nodeSelector": {"disk": "ssd"},
                    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]}}
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "cfg", "labels": {"a": "1", "b": "2"},
            "annotations": {"short": "x", "long": "word " * 40, "multi": "l1\nl2"}},
         "data": {"k": "v", "multi": "a\nb\n", "tab": "x\ty"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
         "stringData": {"pw": "hunter2", "empty": ""}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "template": template}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
         "spec": {"replicas": 0, "serviceName": "db", "selector": {"matchLabels": {"app": "web"}},
                  "template": template}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
         "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
         "spec": {"suspend": True, "template": {**template, "spec": {**template["spec"],
                                                                    "restartPolicy": "Never"}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"type": "NodePort", "selector": {"app": "web"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
    ]
    kctl.ok("create", "-f", "-", "-n", ns, input=yaml.safe_dump_all(docs))
    return ns


@pytest.mark.parametrize("args", [
    ["cm", "cfg"], ["secret/sec"], ["deploy", "web"], ["sts", "db"], ["ds", "agent"],
    ["job", "once"], ["svc", "web"], ["cm"], ["cm", "cf"], ["cm", "-l", "a=1"],
    ["cm", "nope"], ["cm", "-l", "a=9"], ["cm", "cfg", "--show-events=false"],
])
def test_describe_namespaced(pair: Pair, ns: str, args: list[str]) -> None:
    # Events columns show ages, which can tick over between the two runs.
    pair.compare("describe", *args, "-n", ns, mode="masked")


def test_describe_cluster_scoped(pair: Pair, ns: str) -> None:
    pair.compare("describe", "ns", ns, mode="exact")
    pair.compare("describe", "ns", "default", mode="exact")


def test_describe_pod_and_node(pair: Pair, ns: str, kctl: Kubectl) -> None:
    import json

    from .conftest import wait_until

    wait_until(lambda: kctl.run("get", "serviceaccount", "default", "-n", ns).returncode == 0,
               timeout=20)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "labels": {"app": "x"}},
           "spec": {"containers": [
               {"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                "env": [{"name": "A", "value": "1"}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
                "resources": {"requests": {"cpu": "100m"}}},
               {"name": "d", "image": "busybox", "command": ["sleep", "1"]}],
               "tolerations": [{"key": "k", "operator": "Equal", "value": "v",
                                "effect": "NoExecute", "tolerationSeconds": 60}]}}
    kctl.ok("create", "-f", "-", "-n", ns, input=json.dumps(pod))
    pair.compare("describe", "pod", "p1", "-n", ns, mode="masked", stderr="ignore")
    node = unique("node")
    kctl.ok("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"a": "b"}},
         "spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}))
    pair.compare("describe", "node", node, mode="masked")
