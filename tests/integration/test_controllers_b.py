"""Job, CronJob, namespace deletion, garbage collection, endpoints and the per-namespace
defaults against a real server, driven and observed with real kubectl.

The server runs with ``--disable controllers``; the controllers under test run in a helper
process (``_run_controllers.py``) with the admin kubeconfig, so these tests do not depend on
how the server's controller-manager gets its per-controller credentials. Pods are completed by
writing ``pods/status`` (there is no kubelet: ``--disable-agent``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import free_port
from ._server import ServerProcess
from .conftest import Kubectl, unique, wait_until

CONTROLLERS = ("job,cronjob,endpoint,endpointslice,namespace,garbagecollector,serviceaccount,"
               "root-ca-cert-publisher,replicaset,deployment")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("ctlb") / "data", free_port(),
                        extra=["--disable", "controllers"]).start()
    try:
        srv.wait_ready(timeout=30)
        yield srv
    finally:
        srv.kill()


@pytest.fixture(scope="module")
def controllers(server: ServerProcess) -> Iterator[subprocess.Popen[bytes]]:
    log = open(server.data_dir / "controllers.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_run_controllers.py")),
         str(server.kubeconfig), CONTROLLERS], stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def k(server: ServerProcess, controllers: Any, kubectl: str,
      tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    kc = Kubectl(kubectl, server.kubeconfig, tmp_path_factory.mktemp("home"))
    wait_until(lambda: kc.run("get", "sa", "default", "-n", "default").returncode == 0, 20)
    return kc


def succeed_pod(k: Kubectl, ns: str, name: str) -> None:
    status = {"status": {"phase": "Succeeded", "containerStatuses": [{
        "name": "c", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                 "startedAt": "2026-01-01T00:00:00Z",
                                 "finishedAt": "2026-01-01T00:00:01Z"}}}]}}
    k.ok("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
         "-p", json.dumps(status))


def pods_of(k: Kubectl, ns: str, selector: str) -> list[dict[str, Any]]:
    return list(k.json("get", "pods", "-n", ns, "-l", selector)["items"])


def test_defaults_per_namespace(k: Kubectl) -> None:
    ns = unique("defaults")
    k.ok("create", "namespace", ns)
    wait_until(lambda: k.run("get", "sa", "default", "-n", ns).returncode == 0)
    cm = json.loads(wait_until(lambda: k.run("get", "cm", "kube-root-ca.crt", "-n", ns,
                                             "-o", "json").stdout))
    assert cm["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


def test_job_with_completions_finishes(k: Kubectl) -> None:
    name = unique("job")
    k.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
              "spec": {"completions": 3, "parallelism": 2, "template": {
                  "metadata": {"labels": {"job-under-test": name}},
                  "spec": {"restartPolicy": "Never",
                           "containers": [{"name": "c", "image": "busybox"}]}}}})
    done: set[str] = set()

    def step() -> bool:
        for pod in pods_of(k, "default", f"job-under-test={name}"):
            pname = pod["metadata"]["name"]
            if pname not in done and pod.get("status", {}).get("phase") != "Succeeded":
                succeed_pod(k, "default", pname)
                done.add(pname)
        job = k.json("get", "job", name)
        return any(c["type"] == "Complete" and c["status"] == "True"
                   for c in job.get("status", {}).get("conditions") or [])

    wait_until(step, 30, 0.3)
    job = k.json("get", "job", name)
    assert job["status"]["succeeded"] == 3 and job["status"]["completionTime"]
    assert len(done) == 3
    out = k.ok("get", "job", name)
    assert "Complete" in out and "3/3" in out
    events = k.ok("get", "events", "--field-selector", f"involvedObject.name={name}")
    assert "SuccessfulCreate" in events and "Completed" in events


def test_cronjob_creates_jobs(k: Kubectl) -> None:
    name = unique("cron")
    k.create({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
              "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                  "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    # Pretend the last run was two minutes ago, so a run is due now instead of at the next
    # minute boundary.
    last = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    k.ok("patch", "cronjob", name, "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"lastScheduleTime": last.strftime("%Y-%m-%dT%H:%M:%SZ")}}))
    jobs = wait_until(lambda: [j for j in k.json("get", "jobs")["items"]
                               if j["metadata"]["name"].startswith(name + "-")], 20, 0.3)
    job = jobs[0]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    minutes = int(job["metadata"]["name"].rsplit("-", 1)[1])
    cj = wait_until(lambda: k.json("get", "cronjob", name).get("status", {}).get("active"), 10)
    assert cj[0]["name"] == job["metadata"]["name"]
    status = k.json("get", "cronjob", name)["status"]
    assert status["lastScheduleTime"].endswith(":00Z")
    assert minutes * 60 >= int(last.timestamp()) + 60


def test_deleting_namespace_removes_content(k: Kubectl) -> None:
    ns = unique("doomed")
    k.ok("create", "namespace", ns)
    k.ok("create", "configmap", "c1", "-n", ns, "--from-literal=a=b")
    k.ok("create", "secret", "generic", "s1", "-n", ns, "--from-literal=a=b")
    k.ok("create", "deployment", "web", "-n", ns, "--image=nginx")
    wait_until(lambda: pods_of(k, ns, "app=web"), 20)
    k.ok("delete", "namespace", ns, "--wait=false")
    wait_until(lambda: k.run("get", "namespace", ns).returncode != 0, 30, 0.2)
    assert k.json("get", "configmaps,secrets,pods", "-n", ns)["items"] == []


def test_deleting_deployment_collects_replicasets_and_pods(k: Kubectl) -> None:
    name = unique("gc")
    k.ok("create", "deployment", name, "--image=nginx", "--replicas=2")
    wait_until(lambda: len(pods_of(k, "default", f"app={name}")) == 2, 20)
    k.ok("delete", "deployment", name)
    wait_until(lambda: not pods_of(k, "default", f"app={name}"), 20)
    rs = k.json("get", "rs", "-l", f"app={name}")["items"]
    assert rs == []


def test_foreground_deletion_and_orphans(k: Kubectl) -> None:
    name = unique("fg")
    k.ok("create", "deployment", name, "--image=nginx")
    wait_until(lambda: pods_of(k, "default", f"app={name}"), 20)
    k.ok("delete", "deployment", name, "--cascade=foreground", timeout=60)
    assert k.run("get", "deployment", name).returncode != 0
    assert not k.json("get", "rs", "-l", f"app={name}")["items"]
    orphan = unique("orph")
    k.ok("create", "deployment", orphan, "--image=nginx")
    wait_until(lambda: k.json("get", "rs", "-l", f"app={orphan}")["items"], 20)
    k.ok("delete", "deployment", orphan, "--cascade=orphan")
    rs = wait_until(lambda: [r for r in k.json("get", "rs", "-l", f"app={orphan}")["items"]
                             if not r["metadata"].get("ownerReferences")], 20)
    assert rs


def test_endpoints_follow_ready_pods(k: Kubectl) -> None:
    name = unique("ep")
    k.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
              "spec": {"selector": {"ep": name}, "ports": [{"name": "http", "port": 80,
                                                             "targetPort": "web"}]}})
    k.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": name, "labels": {"ep": name}},
              "spec": {"containers": [{"name": "c", "image": "nginx",
                                       "ports": [{"name": "web", "containerPort": 8080}]}]}})
    k.ok("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"phase": "Running", "podIP": "10.42.0.7", "podIPs": [{"ip": "10.42.0.7"}],
                    "conditions": [{"type": "Ready", "status": "True"}]}}))

    def ready_ips() -> list[str]:
        ep = k.json("get", "endpoints", name)
        return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]

    assert wait_until(ready_ips, 15) == ["10.42.0.7"]
    ep = k.json("get", "endpoints", name)
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    slices = k.json("get", "endpointslices", "-l", f"kubernetes.io/service-name={name}")["items"]
    assert len(slices) == 1
    assert slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"
    assert slices[0]["endpoints"][0]["conditions"] == {
        "ready": True, "serving": True, "terminating": False}
    k.ok("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}))
    wait_until(lambda: not ready_ips(), 15)
    assert "10.42.0.7" in k.ok("get", "endpoints", name, "-o",
                                "jsonpath={.subsets[0].notReadyAddresses[0].ip}")
