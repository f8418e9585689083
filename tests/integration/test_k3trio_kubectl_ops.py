"""Node, rollout and wait commands through ``k3trio kubectl`` and the real kubectl. Each side
works on its own objects: the node is named after the side's namespace."""

from __future__ import annotations

import json

import pytest

from ._kubectl_compare import Pair, Twin
from ._server import ServerProcess
from .conftest import Kubectl, unique


@pytest.fixture(scope="module")
def pair(api_server: ServerProcess, kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(kubectl, api_server.kubeconfig, tmp_path_factory.mktemp("homes"))


@pytest.fixture
def twin(pair: Pair, kctl: Kubectl) -> Twin:
    real_ns, ours_ns = unique("real"), unique("ours")
    for ns in (real_ns, ours_ns):
        kctl.ok("create", "namespace", ns)
        kctl.ok("create", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": ns, "labels": {"pool": ns}}}))
    return Twin(pair, real_ns, ours_ns)


def test_cordon_taint_drain(twin: Twin) -> None:
    for args in (["cordon", "{ns}"], ["cordon", "{ns}"], ["uncordon", "{ns}"],
                 ["uncordon", "{ns}"], ["cordon", "-l", "pool={ns}"],
                 ["taint", "nodes", "{ns}", "k=v:NoSchedule"],
                 ["taint", "node", "{ns}", "k=v2:NoSchedule"],
                 ["taint", "node", "{ns}", "k=v2:NoSchedule", "--overwrite"],
                 ["taint", "node", "{ns}", "k2:NoExecute"], ["taint", "node", "{ns}", "k-"],
                 ["taint", "node", "{ns}", "k-"], ["taint", "node", "{ns}", "k=v:Bad"],
                 ["drain", "{ns}"], ["uncordon", "nosuchnode"]):
        twin.run(*args)
    twin.run("get", "node", "{ns}", "-o", "yaml", stdout="yaml")


def test_rollout_and_wait(twin: Twin) -> None:
    twin.run("create", "deployment", "web", "--image=nginx")
    for args in (["rollout", "status", "deploy/web", "--watch=false"],
                 ["rollout", "history", "deploy/web"], ["rollout", "pause", "deploy/web"],
                 ["rollout", "pause", "deploy/web"], ["rollout", "resume", "deploy/web"],
                 ["rollout", "resume", "deploy/web"], ["rollout", "history", "cm/x"],
                 ["rollout", "restart", "deployment", "web"],
                 ["wait", "--for=delete", "cm/nonexist", "--timeout=1s"],
                 ["wait", "--for=create", "deploy/web"],
                 ["wait", "--for=jsonpath={.spec.replicas}=1", "deploy/web"],
                 ["wait", "--for=condition=Nope", "deploy/web", "--timeout=1s"]):
        twin.run(*args)


@pytest.mark.parametrize("args", [
    ["explain", "pods"], ["explain", "deploy.spec.replicas"], ["explain", "pods.spec"],
    ["explain", "pods.nope"], ["explain", "cm.data"], ["explain", "pods", "--recursive"],
    ["explain", "deploy.spec.template.spec.containers.resources.limits"],
    ["auth", "whoami"], ["auth", "can-i", "get", "pods"],
    ["auth", "can-i", "list", "nosuch"], ["auth", "can-i", "get", "pods", "--as=nobody"],
    ["auth", "can-i", "create", "deployments.apps", "-n", "kube-system"],
    ["logs", "nope"], ["exec", "nope", "--", "ls"], ["top", "pods"], ["events"],
])
def test_read_only_commands(pair: Pair, args: list[str]) -> None:
    pair.compare(*args, mode="exact")


def test_run_expose_autoscale_set_diff(twin: Twin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    twin.run("run", "px", "--image=nginx", "--labels=a=b", "--env=A=1", "--port=80",
             "--dry-run=client", "-o", "json")
    twin.run("run", "py", "--image=busybox", "--restart=Never", "--command", "--dry-run=client",
             "-o", "yaml", "--", "sleep", "10")
    twin.run("create", "deployment", "web", "--image=nginx", "--port=80")
    twin.run("expose", "deploy", "web", "--port=8080", "--target-port=80", "--dry-run=client",
             "-o", "json")
    twin.run("expose", "deploy", "web", "--port=8080", "--target-port=80")
    twin.run("autoscale", "deploy", "web", "--min=1", "--max=3", "--cpu=50%", "--dry-run=client",
             "-o", "json")
    twin.run("autoscale", "deploy", "web", "--max=3")
    twin.run("set", "image", "deploy/web", "nginx=nginx:1.26")
    twin.run("set", "env", "deploy/web", "A=1", "B=2")
    twin.run("set", "env", "deploy/web", "A-")
    twin.run("set", "resources", "deploy/web", "--limits=cpu=200m,memory=64Mi")
    twin.same_objects("deploy,svc,hpa")
    manifest = tmp_path / "d.yaml"
    real = twin.pair.real("get", "deploy", "web", "-n", twin.real_ns, "-o", "yaml").out
    real = "\n".join(ln for ln in real.splitlines()
                     if not ln.strip().startswith(("resourceVersion:", "uid:")))
    manifest.write_text(real.replace(twin.real_ns, "{ns}").replace("replicas: 1", "replicas: 4"))
    twin.run("apply", "-f", "-", input=manifest.read_text(), stderr="first")
    changed = manifest.read_text().replace("replicas: 4", "replicas: 2")
    r, o = twin.pair.both("diff", "-f", "-")  # warm-up: no manifest, both fail alike
    assert r.code == o.code
    real_diff = twin.pair.real("-n", twin.real_ns, "diff", "-f", "-",
                               input=changed.replace("{ns}", twin.real_ns))
    ours_diff = twin.pair.ours("-n", twin.ours_ns, "diff", "-f", "-",
                               input=changed.replace("{ns}", twin.ours_ns))
    assert real_diff.code == ours_diff.code == 1

    def body(text: str, ns: str) -> list[str]:
        return [ln.replace(ns, "NS") for ln in text.splitlines()
                if not ln.startswith(("diff ", "--- ", "+++ ")) and "Timestamp" not in ln
                and "uid:" not in ln and "resourceVersion" not in ln and "generation" not in ln]

    assert body(real_diff.out, twin.real_ns) == body(ours_diff.out, twin.ours_ns)


def _watch_both(pair: Pair, ns: str, kctl: Kubectl, *args: str) -> tuple[str, str]:
    import subprocess
    import sys
    import time

    def start(argv: list[str], home: str) -> subprocess.Popen[str]:
        env = pair._env(pair.home_real if home == "real" else pair.home_ours, None)
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

    base = ["--kubeconfig", str(pair.kubeconfig), "-n", ns, "get", *args, "--request-timeout=4s"]
    real = start([pair.kubectl, *base], "real")
    ours = start([sys.executable, "-m", "k3trio", "kubectl", *base], "ours")
    time.sleep(2.0)
    kctl.ok("create", "configmap", "w1", "-n", ns)
    kctl.ok("label", "configmap", "w1", "a=b", "-n", ns)
    kctl.ok("delete", "configmap", "w1", "-n", ns)
    r_out, _ = real.communicate(timeout=30)
    o_out, _ = ours.communicate(timeout=30)
    assert real.returncode == ours.returncode == 0
    return r_out, o_out


def test_get_watch(pair: Pair, kctl: Kubectl) -> None:
    import re

    def cells(text: str) -> list[list[str]]:
        age = re.compile(r"^\d+[smhd]$")
        return [["AGE" if age.match(c) else c for c in ln.split()] for ln in text.splitlines()]

    ns = unique("watch")
    kctl.ok("create", "namespace", ns)
    kctl.ok("create", "configmap", "first", "-n", ns)
    real, ours = _watch_both(pair, ns, kctl, "cm", "-w", "--output-watch-events")
    assert cells(real) == cells(ours), (real, ours)  # rows after the first table may misalign
    real, ours = _watch_both(pair, ns, kctl, "cm", "--watch-only", "-o", "name")
    assert real == ours
