"""StatefulSets and DaemonSets in a real ``k3trio server`` driven by real kubectl.

Three hollow nodes (``k3trio hollow-nodes``) run the pods bound to them; the server's own
scheduler binds them (DaemonSet pods through their node-name affinity, as upstream).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ._server import ServerProcess
from .conftest import Kubectl, unique, wait_until

@pytest.fixture(scope="module")
def nodes(api_server: ServerProcess, kctl: Kubectl,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Three Ready hollow nodes."""
    prefix = unique("wn") + "-"
    logs = tmp_path_factory.mktemp("sts-ds")
    hollow = subprocess.Popen(
        [sys.executable, "-m", "k3trio", "hollow-nodes", "--count", "3",
         "--kubeconfig", str(api_server.kubeconfig), "--name-prefix", prefix],
        stdout=open(logs / "hollow.log", "wb"), stderr=subprocess.STDOUT)
    try:
        def ready() -> list[str] | None:
            out = kctl.ok("get", "nodes", "--no-headers")
            rows = [r.split() for r in out.splitlines() if r.startswith(prefix)]
            return [r[0] for r in rows] if len(rows) == 3 and all(
                r[1] == "Ready" for r in rows) else None

        yield wait_until(ready, timeout=30)
    finally:
        for proc in (hollow,):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def ns(kctl: Kubectl, nodes: list[str]) -> str:
    name = unique("sd")
    kctl.ok("create", "namespace", name)
    wait_until(lambda: "default" in kctl.run("get", "sa", "default", "-n", name).stdout,
               timeout=15)
    return name


def statefulset(name: str, image: str, replicas: int = 3) -> dict[str, Any]:
    lab = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name,
                     "selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "db", "image": image}]}},
                     "volumeClaimTemplates": [{
                         "metadata": {"name": "data"},
                         "spec": {"accessModes": ["ReadWriteOnce"],
                                  "resources": {"requests": {"storage": "1Gi"}}}}]}}


def daemonset(name: str, image: str) -> dict[str, Any]:
    lab = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


def provision(kctl: Kubectl, ns: str, claims: list[str], app: str) -> None:
    """Pre-bind the claims a StatefulSet will use (hostPath PVs reserved for them).

    There is no dynamic provisioner in this test cluster; with the claims already Bound the
    scheduler can place each pod as soon as the controller creates it.
    """
    for claim in claims:
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": f"{ns}-{claim}"},
              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                       "hostPath": {"path": f"/tmp/{ns}-{claim}"},
                       "claimRef": {"namespace": ns, "name": claim}}}
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": claim, "namespace": ns, "labels": {"app": app}},
               "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": f"{ns}-{claim}",
                        "resources": {"requests": {"storage": "1Gi"}}}}
        kctl.create(pv)
        kctl.create(pvc)
    wait_until(lambda: kctl.ok("get", "pvc", "-n", ns, "-l", f"app={app}", "-o",
                               "jsonpath={.items[*].status.phase}").split()
               == ["Bound"] * len(claims), timeout=40)


def pods(kctl: Kubectl, ns: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        kctl.ok("get", "pods", "-n", ns, "-l", selector, "-o", "json"))["items"]
    return items


def test_statefulset_ordered_rollout_history_undo(kctl: Kubectl, ns: str) -> None:
    provision(kctl, ns, [f"data-db-{i}" for i in range(3)], "db")
    kctl.ok("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(statefulset("db", "db:1")))
    # creation order: db-0, then db-1, then db-2 (each after the previous is Running/Ready)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while len(seen) < 3 and time.monotonic() < deadline:
        for p in sorted(pods(kctl, ns, "app=db"),
                        key=lambda p: (p["metadata"]["creationTimestamp"],
                                       p["metadata"]["name"])):
            if p["metadata"]["name"] not in seen:
                seen.append(p["metadata"]["name"])
        time.sleep(0.1)
    assert seen == ["db-0", "db-1", "db-2"]
    out = kctl.ok("rollout", "status", "statefulset/db", "-n", ns, "--timeout=60s",
                  timeout=70)
    assert "partitioned roll out complete: 3 new pods have been updated" in out
    created = {p["metadata"]["name"]: p["metadata"]["creationTimestamp"]
               for p in pods(kctl, ns, "app=db")}
    assert created["db-0"] <= created["db-1"] <= created["db-2"]
    pvcs = kctl.ok("get", "pvc", "-n", ns, "-o", "name").split()
    assert sorted(pvcs) == [f"persistentvolumeclaim/data-db-{i}" for i in range(3)]
    pod1 = kctl.json("get", "pod", "db-1", "-n", ns)
    assert pod1["spec"]["hostname"] == "db-1" and pod1["spec"]["subdomain"] == "db"
    assert pod1["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert pod1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    sts = kctl.json("get", "statefulset", "db", "-n", ns)
    st = sts["status"]
    assert (st["replicas"], st["readyReplicas"], st["currentReplicas"],
            st["updatedReplicas"], st["availableReplicas"]) == (3, 3, 3, 3, 3)
    assert st["currentRevision"] == st["updateRevision"]
    assert pod1["metadata"]["labels"]["controller-revision-hash"] == st["updateRevision"]
    # a rolling update, then history and undo
    kctl.ok("set", "image", "statefulset/db", "db=db:2", "-n", ns)
    kctl.ok("rollout", "status", "statefulset/db", "-n", ns, "--timeout=90s", timeout=100)
    wait_until(lambda: all(p["spec"]["containers"][0]["image"] == "db:2"
                           and p["status"].get("phase") == "Running"
                           for p in pods(kctl, ns, "app=db")), timeout=60)
    history = kctl.ok("rollout", "history", "statefulset/db", "-n", ns)
    assert "REVISION" in history and "1 " in history and "2 " in history
    kctl.ok("rollout", "undo", "statefulset/db", "-n", ns)
    kctl.ok("rollout", "status", "statefulset/db", "-n", ns, "--timeout=90s", timeout=100)
    wait_until(lambda: sorted(p["spec"]["containers"][0]["image"]
                              for p in pods(kctl, ns, "app=db")) == ["db:1"] * 3, timeout=60)
    revs = {r["metadata"]["name"]: r["revision"] for r in json.loads(kctl.ok(
        "get", "controllerrevisions", "-n", ns, "-o", "json"))["items"]}
    assert sorted(revs.values()) == [2, 3]
    # scale down removes the highest ordinals; the claims stay (Retain)
    kctl.ok("scale", "statefulset/db", "--replicas=1", "-n", ns)
    wait_until(lambda: [p["metadata"]["name"] for p in pods(kctl, ns, "app=db")] == ["db-0"],
               timeout=60)
    assert len(kctl.ok("get", "pvc", "-n", ns, "-o", "name").split()) == 3


def test_daemonset_one_pod_per_node_rollout(kctl: Kubectl, ns: str, nodes: list[str]) -> None:
    kctl.ok("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(daemonset("agent", "agent:1")))
    out = kctl.ok("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=60s",
                  timeout=70)
    assert 'daemon set "agent" successfully rolled out' in out
    running = pods(kctl, ns, "app=agent")
    assert sorted(p["spec"]["nodeName"] for p in running) == sorted(nodes)
    for p in running:
        terms = p["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                           "values": [p["spec"]["nodeName"]]}]}]
    st = kctl.json("get", "daemonset", "agent", "-n", ns)["status"]
    assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"],
            st["numberAvailable"], st["updatedNumberScheduled"]) == (3, 3, 3, 3, 3)
    kctl.ok("set", "image", "daemonset/agent", "agent=agent:2", "-n", ns)
    out = kctl.ok("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=90s",
                  timeout=100)
    assert "successfully rolled out" in out
    wait_until(lambda: sorted(p["spec"]["containers"][0]["image"]
                              for p in pods(kctl, ns, "app=agent")
                              if not p["metadata"].get("deletionTimestamp"))
               == ["agent:2"] * 3, timeout=60)
    history = kctl.ok("rollout", "history", "daemonset/agent", "-n", ns)
    assert "1 " in history and "2 " in history
    kctl.ok("rollout", "undo", "daemonset/agent", "-n", ns)
    kctl.ok("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=90s", timeout=100)
    image = kctl.ok("get", "daemonset", "agent", "-n", ns, "-o",
                    "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "agent:1"


def test_parallel_statefulset_and_pvc_retention(kctl: Kubectl, ns: str) -> None:
    manifest = statefulset("web", "web:1", replicas=2)
    manifest["spec"]["podManagementPolicy"] = "Parallel"
    manifest["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete",
                                                                "whenScaled": "Retain"}
    provision(kctl, ns, ["data-web-0", "data-web-1"], "web")
    kctl.ok("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(manifest))
    kctl.ok("rollout", "status", "statefulset/web", "-n", ns, "--timeout=60s", timeout=70)
    uid = kctl.ok("get", "statefulset", "web", "-n", ns, "-o", "jsonpath={.metadata.uid}")
    pvc = kctl.json("get", "pvc", "data-web-0", "-n", ns)
    assert [(r["kind"], r["uid"]) for r in pvc["metadata"]["ownerReferences"]] == \
        [("StatefulSet", uid)]
    kctl.ok("delete", "statefulset", "web", "-n", ns)

    def claims_deleted() -> bool:
        # the garbage collector deletes the claims (they may linger in pvc-protection)
        items = json.loads(kctl.ok("get", "pvc", "-n", ns, "-l", "app=web", "-o",
                                   "json"))["items"]
        return all(c["metadata"].get("deletionTimestamp") for c in items)

    wait_until(claims_deleted, timeout=60)
