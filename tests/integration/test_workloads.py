"""Workload controllers in a real ``k3trio server`` driven by real kubectl.

There is no kubelet here (``--disable-agent``), so the test plays it: pods the controllers
create are marked Running/Ready through the ``pods/status`` API.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from .conftest import Kubectl, unique, wait_until


def mark_ready_loop(kctl: Kubectl, ns: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pods = json.loads(kctl.ok("get", "pods", "-n", ns, "-o", "json"))["items"]
        except AssertionError:
            time.sleep(0.2)
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") == "Running" \
                    or pod["metadata"].get("deletionTimestamp"):
                continue
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            patch = {"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}}
            kctl.run("patch", "pod", pod["metadata"]["name"], "-n", ns, "--subresource=status",
                     "--type=merge", "-p", json.dumps(patch))
        time.sleep(0.2)


@pytest.fixture
def namespace(kctl: Kubectl) -> Any:
    ns = unique("wl")
    kctl.ok("create", "namespace", ns)
    if "default" not in kctl.run("get", "sa", "-n", ns).stdout:  # no SA controller here yet
        kctl.run("create", "serviceaccount", "default", "-n", ns)
    stop = threading.Event()
    t = threading.Thread(target=mark_ready_loop, args=(kctl, ns, stop), daemon=True)
    t.start()
    yield ns
    stop.set()
    t.join(5)


def test_deployment_rollout_history_undo(kctl: Kubectl, namespace: str) -> None:
    ns = namespace
    kctl.ok("create", "deployment", "web", "--image=nginx:1.25", "--replicas=6", "-n", ns)
    out = kctl.ok("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert 'deployment "web" successfully rolled out' in out
    rs = json.loads(kctl.ok("get", "rs", "-n", ns, "-o", "json"))["items"]
    assert len(rs) == 1 and rs[0]["status"]["readyReplicas"] == 6
    kctl.ok("set", "image", "deployment/web", "nginx=nginx:1.26", "-n", ns)
    out = kctl.ok("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert "successfully rolled out" in out
    history = kctl.ok("rollout", "history", "deployment/web", "-n", ns)
    assert "REVISION" in history and "1 " in history and "2 " in history
    kctl.ok("rollout", "undo", "deployment/web", "-n", ns)
    kctl.ok("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    image = kctl.ok("get", "deployment", "web", "-n", ns, "-o",
                    "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "nginx:1.25"
    d = json.loads(kctl.ok("get", "deployment", "web", "-n", ns, "-o", "json"))
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    conds = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
    assert conds == {"Available": "MinimumReplicasAvailable",
                     "Progressing": "NewReplicaSetAvailable"}
    kctl.ok("rollout", "restart", "deployment/web", "-n", ns)
    kctl.ok("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert "4" in kctl.ok("rollout", "history", "deployment/web", "-n", ns)
    events = kctl.ok("get", "events", "-n", ns, "--field-selector", "reason=ScalingReplicaSet")
    assert "Scaled up replica set web-" in events


def test_scale_replicaset_and_rc(kctl: Kubectl, namespace: str) -> None:
    ns = namespace
    kctl.ok("create", "deployment", "s", "--image=nginx", "--replicas=2", "-n", ns)
    kctl.ok("scale", "deployment/s", "--replicas=5", "-n", ns)
    kctl.ok("rollout", "status", "deployment/s", "-n", ns, "--timeout=60s")
    wait_until(lambda: kctl.ok("get", "deployment", "s", "-n", ns, "-o",
                               "jsonpath={.status.availableReplicas}") == "5", timeout=30)
    rc = {"apiVersion": "v1", "kind": "ReplicationController",
          "metadata": {"name": "rc", "namespace": ns},
          "spec": {"replicas": 3, "selector": {"app": "rc"},
                   "template": {"metadata": {"labels": {"app": "rc"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    kctl.create(rc, "-n", ns)
    wait_until(lambda: kctl.ok("get", "rc", "rc", "-n", ns, "-o",
                               "jsonpath={.status.readyReplicas}") == "3", timeout=30)
