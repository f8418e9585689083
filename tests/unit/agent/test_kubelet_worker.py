"""The Kubelet's pod workers over the in-memory CRI runtime: init containers, volumes, env,
probes, hooks, status (time via the autojump clock)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import trio

from k3trio.agent.cri import ContainerState, ExecResult

from ._kubelet_harness import kubelet_harness

Obj = dict[str, Any]


def _setup_objects(api: Any) -> None:
    api.put("configmaps", {"metadata": {"name": "cfg", "namespace": "default"},
                           "data": {"greeting": "hello"}})
    api.put("secrets", {"metadata": {"name": "creds", "namespace": "default"},
                        "data": {"password": base64.b64encode(b"s3cret").decode()}})
    api.put("configmaps", {"metadata": {"name": "kube-root-ca.crt", "namespace": "default"},
                           "data": {"ca.crt": "CA"}})
    api.put("services", {"metadata": {"name": "kubernetes", "namespace": "default"},
                         "spec": {"clusterIP": "10.43.0.1",
                                  "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}})


def _full_pod() -> Obj:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "0000-web",
                     "labels": {"app": "web"}},
        "spec": {
            "restartPolicy": "Always", "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 5,
            "initContainers": [{"name": "init", "image": "busybox:1.36",
                                "command": ["sh", "-c", "echo init > /work/out"],
                                "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
            "containers": [{
                "name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "env": [
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                        "key": "password"}}},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath":
                                                                    "metadata.name"}}},
                    {"name": "MSG", "value": "$(POD_NAME) says $(greeting)"},
                ],
                "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": ""}],
                "volumeMounts": [
                    {"name": "work", "mountPath": "/work"},
                    {"name": "config", "mountPath": "/etc/config"},
                    {"name": "kube-api-access-x", "mountPath":
                     "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True},
                ],
            }],
            "volumes": [
                {"name": "work", "emptyDir": {}},
                {"name": "config", "configMap": {"name": "cfg", "defaultMode": 0o644}},
                {"name": "kube-api-access-x", "projected": {"defaultMode": 0o644, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}},
            ],
        },
    }


def _cs(pod: Obj, name: str, init: bool = False) -> Obj:
    key = "initContainerStatuses" if init else "containerStatuses"
    return next(s for s in (pod.get("status") or {}).get(key) or [] if s["name"] == name)


def _cond(pod: Obj, ctype: str) -> Obj:
    return next(c for c in pod["status"]["conditions"] if c["type"] == ctype)


async def test_init_volumes_env_and_status(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        _setup_objects(h.api)
        h.create(_full_pod())
        await h.until(lambda: ("create_container", "init") in h.runtime.calls)
        await h.until(lambda: (h.pod("web").get("status") or {}).get("initContainerStatuses"))
        pod = h.pod("web")
        assert pod["status"]["phase"] == "Pending"
        init_cond = _cond(pod, "Initialized")
        assert init_cond["status"] == "False"
        assert init_cond["message"] == "containers with incomplete status: [init]"
        assert _cs(pod, "main")["state"] == {"waiting": {"reason": "PodInitializing"}}
        assert ("create_container", "main") not in h.runtime.calls

        h.runtime.exit(h.container("init"), 0)
        await h.until(lambda: h.pod("web")["status"]["phase"] == "Running")
        pod = h.pod("web")
        assert _cond(pod, "Initialized")["status"] == "True"
        assert _cond(pod, "Ready")["status"] == "True"
        assert _cs(pod, "init", init=True)["state"]["terminated"]["reason"] == "Completed"

        _, cfg, _ = h.runtime.containers[h.container("main")]
        env = {kv.key: kv.value for kv in cfg.envs}
        assert env["PASSWORD"] == "s3cret"
        assert env["POD_NAME"] == "web"
        assert env["greeting"] == "hello"
        assert env["MSG"] == "web says hello"
        assert env["KUBERNETES_SERVICE_HOST"] == "10.43.0.1"
        assert env["KUBERNETES_SERVICE_PORT"] == "443"
        assert env["KUBERNETES_PORT_443_TCP"] == "tcp://10.43.0.1:443"
        mounts = {m.container_path: m for m in cfg.mounts}
        work = Path(mounts["/work"].host_path)
        assert work == tmp_path / "pods/0000-web/volumes/kubernetes.io~empty-dir/work"
        assert work.stat().st_mode & 0o777 == 0o777
        config = Path(mounts["/etc/config"].host_path)
        assert (config / "greeting").read_text() == "hello"
        assert (config / "greeting").is_symlink()
        sa = mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
        assert sa.readonly
        sa_dir = Path(sa.host_path)
        assert (sa_dir / "token").read_text() == "token-1"
        assert (sa_dir / "ca.crt").read_text() == "CA"
        assert (sa_dir / "namespace").read_text() == "default"
        request = h.api.tokens[0]
        assert request["name"] == "default"
        assert request["spec"]["expirationSeconds"] == 3607
        assert request["spec"]["boundObjectRef"] == {"apiVersion": "v1", "kind": "Pod",
                                                     "name": "web", "uid": "0000-web"}
        hosts = Path(mounts["/etc/hosts"].host_path).read_text()
        assert "\tweb\n" in hosts
        assert "/dev/termination-log" in mounts

        # a ConfigMap update reaches the running pod's volume on a later sync
        cm = h.api.obj("configmaps", "default", "cfg")
        cm["data"] = {"greeting": "bonjour"}
        h.api.put("configmaps", cm)
        await h.until(lambda: (config / "greeting").read_text() == "bonjour", timeout=30)

        # deletion: containers stopped, volumes removed, pod gone
        pod = h.pod("web")
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = 5
        h.api.put("pods", pod)
        await h.until(lambda: ("pods", "default", "web") not in h.api.objects)
        await h.until(lambda: not (tmp_path / "pods/0000-web").exists())
        assert not h.runtime.running()


async def test_missing_secret_is_a_config_error(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {"containers": [{
            "name": "c", "image": "busybox:1.36", "env": [{"name": "X", "valueFrom": {
                "secretKeyRef": {"name": "nope", "key": "k"}}}]}]}})
        await h.until(lambda: (h.pod("p").get("status") or {}).get("containerStatuses"))
        await h.until(lambda: _cs(h.pod("p"), "c")["state"]["waiting"]["reason"]
                      == "CreateContainerConfigError")
        assert _cs(h.pod("p"), "c")["state"]["waiting"]["message"] == 'secret "nope" not found'
        h.api.put("secrets", {"metadata": {"name": "nope", "namespace": "default"},
                              "data": {"k": base64.b64encode(b"v").decode()}})
        await h.until(lambda: h.pod("p")["status"]["phase"] == "Running")


async def test_missing_configmap_volume_blocks_start(tmp_path: Path, autojump_clock: Any
                                                     ) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {
            "containers": [{"name": "c", "image": "busybox:1.36"}],
            "volumes": [{"name": "v", "configMap": {"name": "absent"}}]}})
        await h.until(lambda: bool(h.messages("FailedMount")))
        assert h.messages("FailedMount")[0] == \
            'MountVolume.SetUp failed for volume "v" : configmap "absent" not found'
        assert ("create_container", "c") not in h.runtime.calls
        assert _cs(h.pod("p"), "c")["state"]["waiting"]["reason"] == "ContainerCreating"


async def test_readiness_probe_gates_ready(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        healthy = False
        h.runtime.exec_handler = lambda cid, cmd: ExecResult(0 if healthy else 1, b"",
                                                             b"not yet")
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {"containers": [{
            "name": "c", "image": "busybox:1.36", "readinessProbe": {
                "exec": {"command": ["cat", "/ready"]}, "periodSeconds": 2,
                "failureThreshold": 1}}]}})
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Running")
        await trio.sleep(5)
        pod = h.pod("p")
        assert _cs(pod, "c")["ready"] is False and _cs(pod, "c")["started"] is True
        assert _cond(pod, "Ready")["status"] == "False"
        assert _cond(pod, "ContainersReady")["message"] == "containers with unready status: [c]"
        assert "Readiness probe failed: not yet" in h.messages("Unhealthy")
        began = trio.current_time()
        healthy = True
        await h.until(lambda: _cond(h.pod("p"), "Ready")["status"] == "True")
        assert trio.current_time() - began <= 2.5
        assert _cs(h.pod("p"), "c")["ready"] is True


async def test_liveness_failure_restarts_container(tmp_path: Path, autojump_clock: Any
                                                   ) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.runtime.exec_handler = lambda cid, cmd: ExecResult(1, b"", b"dead")
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {"containers": [{
            "name": "c", "image": "busybox:1.36", "livenessProbe": {
                "exec": {"command": ["false"]}, "initialDelaySeconds": 3, "periodSeconds": 1,
                "failureThreshold": 2}}]}})
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Running")
        first = h.container("c")
        began = trio.current_time()
        await h.until(lambda: h.runtime.containers[first][2].state == ContainerState.EXITED)
        # first probe after 3 s, killed after the second failure
        assert 3.9 <= trio.current_time() - began <= 5.5
        assert "Container c failed liveness probe, will be restarted" in h.messages("Killing")
        assert h.messages("Unhealthy")[0] == "Liveness probe failed: dead"
        await h.until(lambda: _cs(h.pod("p"), "c")["restartCount"] == 1
                      and "running" in _cs(h.pod("p"), "c")["state"])
        assert _cs(h.pod("p"), "c")["lastState"]["terminated"]["exitCode"] == 137


async def test_crash_loop_back_off(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {"containers": [{
            "name": "c", "image": "busybox:1.36"}]}})
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Running")
        h.runtime.exit(h.container("c"), 1)
        await h.until(lambda: _cs(h.pod("p"), "c")["restartCount"] == 1)
        h.runtime.exit(h.container("c"), 1)
        await h.until(lambda: "waiting" in _cs(h.pod("p"), "c")["state"])
        waiting = _cs(h.pod("p"), "c")["state"]["waiting"]
        assert waiting == {"reason": "CrashLoopBackOff",
                           "message": "back-off 10s restarting failed container=c "
                                      "pod=p_default(0000-p)"}
        assert _cs(h.pod("p"), "c")["lastState"]["terminated"]["reason"] == "Error"
        assert "BackOff" in h.reasons()
        await h.until(lambda: _cs(h.pod("p"), "c")["restartCount"] == 2, timeout=15)


async def test_init_failure_with_never_fails_pod(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {
            "restartPolicy": "Never",
            "initContainers": [{"name": "i", "image": "busybox:1.36"}],
            "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        await h.until(lambda: ("create_container", "i") in h.runtime.calls)
        h.runtime.exit(h.container("i"), 2)
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Failed")
        pod = h.pod("p")
        assert _cs(pod, "i", init=True)["state"]["terminated"]["exitCode"] == 2
        assert ("create_container", "c") not in h.runtime.calls


async def test_hooks_and_termination_message(tmp_path: Path, autojump_clock: Any) -> None:
    async with kubelet_harness(tmp_path) as h:
        h.create({"metadata": {"name": "p", "uid": "0000-p"}, "spec": {
            "terminationGracePeriodSeconds": 10, "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1.36", "lifecycle": {
                "postStart": {"exec": {"command": ["touch", "/started"]}},
                "preStop": {"exec": {"command": ["touch", "/stopping"]}}}}]}})
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Running")
        assert ("exec_sync", "touch /started") in h.runtime.calls
        cid = h.container("c")
        _, cfg, _ = h.runtime.containers[cid]
        term = next(m for m in cfg.mounts if m.container_path == "/dev/termination-log")
        Path(term.host_path).write_text("all done")
        h.runtime.exit(cid, 0)
        await h.until(lambda: (h.pod("p").get("status") or {}).get("phase") == "Succeeded")
        assert _cs(h.pod("p"), "c")["state"]["terminated"]["message"] == "all done"

        h.create({"metadata": {"name": "q", "uid": "0000-q"}, "spec": {
            "terminationGracePeriodSeconds": 10,
            "containers": [{"name": "c", "image": "busybox:1.36", "lifecycle": {
                "preStop": {"exec": {"command": ["touch", "/stopping"]}}}}]}})
        await h.until(lambda: (h.pod("q").get("status") or {}).get("phase") == "Running")
        pod = h.pod("q")
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = 10
        h.api.put("pods", pod)
        await h.until(lambda: ("pods", "default", "q") not in h.api.objects)
        assert ("exec_sync", "touch /stopping") in h.runtime.calls
