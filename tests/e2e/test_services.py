"""Services on real pods: the service proxy's ClusterIP, NodePort and LoadBalancer rules and
ServiceLB, driven with real kubectl (root; see ``test_pods`` for the harness).

A busybox client pod fetches busybox-httpd pages (each replica serves its own hostname)
through the ClusterIP; the set of answering replicas follows scaling; the host reaches the
NodePort and the load-balancer ingress address; no K3TRIO chain is left after the server
stops.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from k3trio.agent.images import busybox_image, ensure_archive
from tests.e2e.test_pods import _REASON, AgentServer

if _REASON is not None:
    pytestmark = pytest.mark.skip(reason=_REASON)

KUBECTL = str(Path(sys.prefix) / "bin" / "kubectl")
HTTPD = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def remove_orphan_pod_netns() -> None:
    """Delete CNI network namespaces no process lives in any more (a pod sandbox always has
    its pause process): left by killed test containers, their veths on ``cni0`` would keep
    pod IPs that host-local IPAM of a new data dir hands out again."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in (line.split()[0] for line in listing.splitlines() if line.strip()):
        if not name.startswith("cni-"):
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        if pids.returncode == 0 and not pids.stdout.strip():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    remove_orphan_pod_netns()
    server = AgentServer(tmp_path_factory.mktemp("services") / "data")
    ensure_archive(server.data_dir / "agent" / "images" / "busybox.tar", busybox_image())
    server.start()
    try:
        wait(lambda: server.kubeconfig.exists(), 60, server)
        wait(lambda: k(server, "get", "sa", "default", "-o", "name", check=False).stdout.strip()
             == b"serviceaccount/default", 60, server)
        wait(lambda: k(server, "get", "node", server.node, "-o",
                       "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                       check=False).stdout == b"True", 60, server)
        yield server
    finally:
        server.stop()
        remove_orphan_pod_netns()


def k(srv: AgentServer, *args: str, check: bool = True, timeout: float = 60,
      input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, KUBECONFIG=str(srv.kubeconfig))
    proc = subprocess.run([KUBECTL, *args], capture_output=True, env=env, timeout=timeout,
                          input=input)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr, srv.tail())
    return proc


def wait(cond: Callable[[], Any], timeout: float, srv: AgentServer, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert srv.proc is not None and srv.proc.poll() is None, srv.tail()
        got = cond()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out: {what}\n{srv.tail()}")


def apply(srv: AgentServer, obj: dict[str, Any]) -> None:
    k(srv, "apply", "-f", "-", input=json.dumps(obj).encode())


def fetch_in_pod(srv: AgentServer, pod: str, host: str, port: int, times: int) -> list[str]:
    """The page bodies (one word each) of ``times`` requests made from ``pod`` with nc (the
    image's static wget cannot run in a container without the libc's NSS modules)."""
    request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
    script = (f"for i in $(seq {times}); do b=$({request} | nc -w 2 {host} {port} | tail -n 1); "
              'echo "${b:-FAIL}"; done')
    out = k(srv, "exec", pod, "--", "sh", "-c", script, check=False, timeout=120)
    return out.stdout.decode().split()


def fetch_from_host(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return str(resp.read().decode().strip())
    except OSError:
        return ""


def web_pods(srv: AgentServer) -> set[str]:
    items = json.loads(k(srv, "get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"] for p in items
            if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in p["status"].get("conditions") or [])}


def answering(srv: AgentServer, ip: str, times: int) -> set[str]:
    return set(fetch_in_pod(srv, "client", ip, 80, times)) - {"FAIL"}


def chains() -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "K3TRIO-" in line]


def test_services_end_to_end(srv: AgentServer) -> None:
    apply(srv, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                             "terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "httpd", "image": "busybox:latest",
                                             "imagePullPolicy": "IfNotPresent",
                                             "command": ["sh", "-c", HTTPD],
                                             "ports": [{"name": "http",
                                                        "containerPort": 8080}]}]}}}})
    apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "type": "NodePort",
                         "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    apply(srv, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "c", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"]}]}})
    try:
        svc = json.loads(k(srv, "get", "svc", "web", "-o", "json").stdout)
        cluster_ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
        wait(lambda: len(web_pods(srv)) == 2, 90, srv, "2 web replicas ready")
        wait(lambda: k(srv, "get", "pod", "client", "-o", "jsonpath={.status.phase}",
                       check=False).stdout == b"Running", 60, srv, "client running")

        # Both replicas answer through the ClusterIP.
        pods = web_pods(srv)
        began = time.monotonic()
        wait(lambda: answering(srv, cluster_ip, 20) == pods, 60, srv, f"both of {pods} answer")
        print(f"ClusterIP answered by both replicas after {time.monotonic() - began:.1f}s")

        # Scaling to 3 adds the third; back to 1 removes the others.
        k(srv, "scale", "deployment", "web", "--replicas=3")
        wait(lambda: len(web_pods(srv)) == 3, 90, srv, "3 web replicas ready")
        pods = web_pods(srv)
        wait(lambda: answering(srv, cluster_ip, 30) == pods, 60, srv, f"all of {pods} answer")
        k(srv, "scale", "deployment", "web", "--replicas=1")
        wait(lambda: len(web_pods(srv)) == 1, 90, srv, "1 web replica left")
        pods = web_pods(srv)
        wait(lambda: answering(srv, cluster_ip, 10) == pods, 60, srv, f"only {pods} answers")

        # Hairpin: the only replica reaches itself through its own Service.
        only = next(iter(pods))
        assert fetch_in_pod(srv, only, cluster_ip, 80, 3) == [only] * 3

        # NodePort from the host on the node address.
        node = json.loads(k(srv, "get", "node", srv.node, "-o", "json").stdout)
        node_ip = next(a["address"] for a in node["status"]["addresses"]
                       if a["type"] == "InternalIP")
        wait(lambda: fetch_from_host(f"http://{node_ip}:{node_port}/") == only, 30, srv,
             "NodePort answers from the host")

        # LoadBalancer: ServiceLB publishes the node address; the proxy answers on it.
        apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-lb"},
                    "spec": {"selector": {"app": "web"}, "type": "LoadBalancer",
                             "ports": [{"name": "http", "port": 18080,
                                        "targetPort": "http"}]}})
        ingress = wait(lambda: json.loads(k(srv, "get", "svc", "web-lb", "-o", "json").stdout)
                       .get("status", {}).get("loadBalancer", {}).get("ingress"), 30, srv,
                       "load-balancer ingress")
        assert {"ip": node_ip, "ipMode": "VIP"} in ingress
        wait(lambda: fetch_from_host(f"http://{node_ip}:18080/") == only, 30, srv,
             "LoadBalancer answers from the host")
        assert any("K3TRIO-SVC-" in line for line in chains())
    finally:
        k(srv, "delete", "deployment", "web", "--wait=false", check=False)
        k(srv, "delete", "pod", "client", "--wait=false", check=False)
        k(srv, "delete", "svc", "web", "web-lb", "--wait=false", check=False)
    srv.stop()
    assert chains() == []


async def test_cleanup_removes_leftovers_of_an_earlier_run() -> None:
    """``--disable kube-proxy`` runs the cleanup: chains and jumps of an earlier run go."""
    from k3trio.agent.proxy.iptables import Applier
    from k3trio.agent.proxy.rules import NodeInfo
    from k3trio.agent.proxy.run import cleanup

    svc = {"metadata": {"namespace": "default", "name": "leftover"},
           "spec": {"clusterIP": "10.43.250.250", "ports": [{"port": 80, "protocol": "TCP"}]}}
    sl = {"metadata": {"namespace": "default", "name": "leftover-x",
                       "labels": {"kubernetes.io/service-name": "leftover"}},
          "addressType": "IPv4", "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
          "endpoints": [{"addresses": ["10.42.250.250"], "conditions": {"ready": True}}]}
    applier = Applier()
    try:
        await applier.start()
        assert await applier.sync(applier.payload([svc], [sl], NodeInfo("n")))
        assert not await applier.sync(applier.payload([svc], [sl], NodeInfo("n")))
        assert any("K3TRIO-SEP-" in line for line in chains())
        assert any(line.startswith("-A PREROUTING") for line in chains())
        # A later sync without the Service deletes its chains and keeps the rest.
        assert await applier.sync(applier.payload([], [], NodeInfo("n")))
        assert not any("K3TRIO-SVC-" in line or "K3TRIO-SEP-" in line for line in chains())
        assert any("K3TRIO-SERVICES" in line for line in chains())
    finally:
        await cleanup()
    assert chains() == []
