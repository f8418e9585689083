"""Pod conditions and container statuses as a kubelet writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from k3trio.agent.node import (
    normalize_image,
    pod_conditions,
    running_container_status,
    terminated_container_status,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u", "generation": 1},
            "spec": {"containers": [{"name": "a", "image": "nginx"},
                                    {"name": "b", "image": "busybox"}], **spec},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "DisruptionTarget", "status": "True", "reason": "X"}]}}


def test_normalize_image() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("nginx:1.27") == "docker.io/library/nginx:1.27"
    assert normalize_image("bitnami/redis") == "docker.io/bitnami/redis:latest"
    assert normalize_image("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert normalize_image("localhost:5000/x") == "localhost:5000/x:latest"
    assert normalize_image("nginx@sha256:ab") == "docker.io/library/nginx@sha256:ab"


def test_running_conditions_in_upstream_order() -> None:
    p = pod()
    sts = [running_container_status(p, c, container_id="containerd://1", image_id="i",
                                    started_at=T0) for c in p["spec"]["containers"]]
    conds = pod_conditions(p, phase="Running", container_statuses=sts, now=T0)
    assert [c["type"] for c in conds] == [
        "DisruptionTarget", "PodReadyToStartContainers", "Initialized", "Ready",
        "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in conds)
    scheduled = conds[-1]
    assert scheduled["lastTransitionTime"] == "2026-01-01T00:00:00Z"  # kept
    assert conds[3]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert conds[3]["observedGeneration"] == 1 and conds[3]["lastProbeTime"] is None


def test_unready_containers_and_readiness_gates() -> None:
    p = pod()
    sts = [running_container_status(p, p["spec"]["containers"][0], container_id="c",
                                    image_id="i", started_at=T0)]
    conds = {c["type"]: c for c in pod_conditions(p, phase="Running", container_statuses=sts,
                                                  now=T0)}
    assert conds["ContainersReady"]["reason"] == "ContainersNotReady"
    assert conds["Ready"]["message"] == "containers with unready status: [b]"
    gated = pod(readinessGates=[{"conditionType": "example.com/lb"}])
    sts = [running_container_status(gated, c, container_id="c", image_id="i", started_at=T0)
           for c in gated["spec"]["containers"]]
    conds = {c["type"]: c for c in pod_conditions(gated, phase="Running",
                                                  container_statuses=sts, now=T0)}
    assert conds["ContainersReady"]["status"] == "True"
    assert conds["Ready"]["reason"] == "ReadinessGatesNotReady"
    assert conds["Ready"]["message"] == (
        'corresponding condition of pod readiness gate "example.com/lb" does not exist.')


def test_terminal_conditions() -> None:
    p = pod()
    done = {c["type"]: c for c in pod_conditions(p, phase="Succeeded", container_statuses=[],
                                                 sandbox_ready=False, now=T0)}
    assert done["Initialized"] == {**done["Initialized"], "status": "True",
                                   "reason": "PodCompleted"}
    assert done["Ready"]["reason"] == done["ContainersReady"]["reason"] == "PodCompleted"
    assert done["PodReadyToStartContainers"]["status"] == "False"
    failed = {c["type"]: c for c in pod_conditions(p, phase="Failed", container_statuses=[],
                                                   sandbox_ready=False, now=T0)}
    assert failed["Ready"]["reason"] == "PodFailed"


def test_container_status_shapes() -> None:
    p = pod(securityContext={"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000})
    c = {"name": "a", "image": "nginx:1.27",
         "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}},
         "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True},
                          {"name": "w", "mountPath": "/w"}]}
    st = running_container_status(p, c, container_id="containerd://x", image_id="img",
                                  started_at=T0)
    assert st["state"] == {"running": {"startedAt": "2026-01-02T03:04:05Z"}}
    assert st["ready"] is True and st["started"] is True and st["restartCount"] == 0
    assert st["lastState"] == {} and st["image"] == "docker.io/library/nginx:1.27"
    assert st["user"] == {"linux": {"uid": 1000, "gid": 3000, "supplementalGroups": [2000, 3000]}}
    assert st["volumeMounts"] == [
        {"name": "v", "mountPath": "/v", "readOnly": True, "recursiveReadOnly": "Disabled"},
        {"name": "w", "mountPath": "/w"}]
    assert st["allocatedResources"] == {"cpu": "100m"}
    assert st["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}
    t = terminated_container_status(p, c, container_id="containerd://x", image_id="img",
                                    exit_code=2, started_at=T0,
                                    finished_at=T0 + timedelta(seconds=3))
    assert t["state"]["terminated"] == {
        "containerID": "containerd://x", "exitCode": 2, "reason": "Error",
        "startedAt": "2026-01-02T03:04:05Z", "finishedAt": "2026-01-02T03:04:08Z"}
    assert t["ready"] is False and t["started"] is False
