"""Real pods on real containerd: init containers, volumes, env, service account, probes,
crash-loop back-off, Jobs and graceful deletion (root; see ``test_pods`` for the harness)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import trio

from k3trio.client import Client
from k3trio.client.resource import CONFIGMAPS, PODS, SECRETS, Resource

import pytest

from tests.e2e.test_pods import (  # noqa: F401  (server is a fixture)
    _REASON,
    AgentServer,
    _client,
    _wait,
    _wait_node_ready,
    server,
)

if _REASON is not None:
    pytestmark = pytest.mark.skip(reason=_REASON)

JOBS = Resource("batch", "v1", "jobs", "Job", True, subresources=("status",))
NS = "default"


def _container(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script], **extra}


def _pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, **spec, "containers": containers}}


def _cs(pod: Any, name: str = "main") -> dict[str, Any]:
    return next((s for s in (pod or {}).get("status", {}).get("containerStatuses") or []
                 if s["name"] == name), {})


def _ready(pod: Any) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod or {}).get("status", {}).get("conditions") or [])


async def _log(client: Client, name: str, container: str = "main") -> str:
    return await client.get_text(PODS, name, namespace=NS, params={"container": container})


def _log_file(server: AgentServer, pod: Any, container: str = "main") -> str:
    uid = pod["metadata"]["uid"]
    d = Path("/var/log/pods") / f"{NS}_{pod['metadata']['name']}_{uid}" / container
    return "".join(p.read_text(errors="replace") for p in sorted(d.glob("*.log")))


async def _delete_all(client: Client, server: AgentServer, names: list[str]) -> None:
    for name in names:
        try:
            await client.delete(PODS, name, namespace=NS)
        except Exception:
            pass
    for name in names:
        await _wait(client, name, lambda p: p is None, 60, server)


async def test_init_volumes_env_service_account(server: AgentServer) -> None:
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        await client.create(CONFIGMAPS, {"metadata": {"name": "cfg"},
                                         "data": {"greeting": "hello"}}, namespace=NS)
        await client.create(SECRETS, {"metadata": {"name": "creds"}, "data": {
            "password": base64.b64encode(b"s3cret").decode()}}, namespace=NS)
        script = ("cat /work/from-init; echo PASSWORD=$PASSWORD; echo POD=$POD_NAME; "
                  "echo CFG=$(cat /etc/config/greeting); "
                  "echo NS=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace); "
                  "echo TOKEN=$(head -c 3 /var/run/secrets/kubernetes.io/serviceaccount/token); "
                  "grep -c BEGIN /var/run/secrets/kubernetes.io/serviceaccount/ca.crt; "
                  "echo SVC=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT; "
                  "while true; do echo LIVE=$(cat /etc/config/greeting); sleep 0.5; done")
        pod = _pod("vol", [_container("main", script, env=[
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                "key": "password"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            volumeMounts=[{"name": "work", "mountPath": "/work"},
                          {"name": "config", "mountPath": "/etc/config"}])],
            initContainers=[_container("init", "echo from-init > /work/from-init",
                                       volumeMounts=[{"name": "work", "mountPath": "/work"}])],
            volumes=[{"name": "work", "emptyDir": {}},
                     {"name": "config", "configMap": {"name": "cfg"}}])
        await client.create(PODS, pod, namespace=NS)
        running = await _wait(client, "vol", lambda p: _ready(p), 60, server)
        init = running["status"]["initContainerStatuses"][0]
        assert init["state"]["terminated"]["reason"] == "Completed"

        async def log_has(text: str) -> bool:
            return text in _log_file(server, running)

        with trio.fail_after(20):
            while not await log_has("SVC="):
                await trio.sleep(0.2)
        out = _log_file(server, running)
        for expected in ("from-init", "PASSWORD=s3cret", "POD=vol", "CFG=hello", "NS=default",
                         "TOKEN=eyJ", "SVC=10.43.0.1:443"):
            assert expected in out, out
        # ConfigMap updates reach the running container
        cm = await client.get(CONFIGMAPS, "cfg", namespace=NS)
        cm["data"]["greeting"] = "bonjour"
        await client.update(CONFIGMAPS, cm, namespace=NS)
        with trio.fail_after(60):
            while not await log_has("LIVE=bonjour"):
                await trio.sleep(0.5)
        await _delete_all(client, server, ["vol"])


async def test_probes_and_crash_loop(server: AgentServer) -> None:
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        # readiness gates Ready until /tmp/ready exists
        await client.create(PODS, _pod("ready", [_container(
            "main", "sleep 4; touch /tmp/ready; sleep 3600", readinessProbe={
                "exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1})]),
            namespace=NS)
        # liveness kills a container whose health file disappears
        await client.create(PODS, _pod("live", [_container(
            "main", "touch /tmp/ok; sleep 3; rm /tmp/ok; sleep 3600", livenessProbe={
                "exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 1,
                "failureThreshold": 2})]), namespace=NS)
        # a container that keeps failing goes into CrashLoopBackOff
        await client.create(PODS, _pod("crashy", [_container("main", "exit 1")]), namespace=NS)
        # an httpGet probe against a server in the pod
        await client.create(PODS, _pod("http", [_container(
            "main", "mkdir -p /www && echo ok > /www/index.html && httpd -f -p 8080 -h /www",
            readinessProbe={"httpGet": {"path": "/index.html", "port": 8080},
                            "periodSeconds": 1},
            ports=[{"containerPort": 8080}])]), namespace=NS)

        p = await _wait(client, "ready", lambda p: _cs(p).get("started"), 60, server)
        assert not _ready(p)
        began = time.monotonic()
        await _wait(client, "ready", _ready, 30, server)
        print(f"readiness flipped after {time.monotonic() - began:.1f}s")

        live = await _wait(client, "live", lambda p: _cs(p).get("restartCount", 0) >= 1, 60,
                           server)
        assert _cs(live)["lastState"]["terminated"]["exitCode"] == 137

        crashy = await _wait(client, "crashy", lambda p: (_cs(p).get("state") or {}).get(
            "waiting", {}).get("reason") == "CrashLoopBackOff", 60, server)
        msg = _cs(crashy)["state"]["waiting"]["message"]
        assert msg.startswith("back-off 10s restarting failed container=main pod=crashy_default(")
        assert _cs(crashy)["lastState"]["terminated"]["reason"] == "Error"

        await _wait(client, "http", _ready, 60, server)
        await _delete_all(client, server, ["ready", "live", "crashy", "http"])


async def test_job_and_graceful_deletion(server: AgentServer) -> None:
    async with await _client(server) as client:
        await _wait_node_ready(client, server)
        await client.create(JOBS, {"apiVersion": "batch/v1", "kind": "Job",
                                   "metadata": {"name": "two"},
                                   "spec": {"completions": 2, "parallelism": 1,
                                            "template": {"spec": {
                                                "restartPolicy": "Never",
                                                "terminationGracePeriodSeconds": 1,
                                                "containers": [_container("main", "echo done")]}}}},
                            namespace=NS)
        with trio.fail_after(90):
            while True:
                job = await client.get(JOBS, "two", namespace=NS)
                if (job.get("status") or {}).get("succeeded") == 2:
                    break
                await trio.sleep(0.5)

        # a process that exits on TERM is gone long before its 30 s grace period
        await client.create(PODS, _pod("term", [_container(
            "main", "trap 'exit 0' TERM; while true; do sleep 0.2; done")],
            terminationGracePeriodSeconds=30), namespace=NS)
        await _wait(client, "term", _ready, 60, server)
        began = time.monotonic()
        await client.delete(PODS, "term", namespace=NS)
        await _wait(client, "term", lambda p: p is None, 30, server)
        took = time.monotonic() - began
        print(f"graceful deletion took {took:.2f}s")
        assert took < 10
        await client.delete(JOBS, "two", namespace=NS)
        pods = await client.list(PODS, namespace=NS, label_selector="job-name=two")
        await _delete_all(client, server, [p["metadata"]["name"] for p in pods["items"]])
