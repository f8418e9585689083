"""Hollow nodes against a real ``k3trio server``: registration, Leases, pods, deletion.

The server runs without its own node-ipam controller; the tests run ``run_nodeipam`` with the
admin identity instead, so the nodes get podCIDRs whatever the controller-manager's RBAC.
Pods are bound with ``pods/binding`` by the tests (no scheduler needed).
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from k3trio.agent.node import NodeConfig
from k3trio.client import LEASES, NODES, PODS, Client, ClientConfig, NotFound
from k3trio.controllers.nodeipam import run_nodeipam
from k3trio.hollow import HollowCluster

from ..conftest import free_port
from ._server import ServerProcess
from .conftest import Kubectl, unique, wait_until

SA = {"apiVersion": "v1", "kind": "ServiceAccount",
      "metadata": {"name": "default", "namespace": "default"}}


@pytest.fixture(scope="module")
def hollow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # The tests bind pods themselves and run node IPAM in-process: the server's own
    # scheduler and node-ipam controller stay off so they do not race the tests.
    srv = ServerProcess(tmp_path_factory.mktemp("hollow-server"), free_port(),
                        extra=["--disable", "node-ipam-controller", "--disable", "scheduler"])
    srv.start()
    try:
        srv.wait_ready(30)
        yield srv
    finally:
        srv.kill()


@pytest.fixture(scope="module")
def hkctl(hollow_server: ServerProcess, kubectl: str,
          tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(kubectl, hollow_server.kubeconfig, tmp_path_factory.mktemp("kubectl-home"))


def client_of(srv: ServerProcess) -> Client:
    return Client(ClientConfig.from_kubeconfig(srv.kubeconfig, component="hollow-test"))


def pod(name: str, node: str | None = None, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", **extra.pop("meta", {})}
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}], **extra}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


async def wait_for(fn: Any, timeout: float = 15.0) -> Any:
    with trio.fail_after(timeout):
        while True:
            value = await fn()
            if value:
                return value
            await trio.sleep(0.05)


async def ensure_sa(c: Client) -> None:
    try:
        await c.get(("", "v1", "serviceaccounts"), "default", namespace="default")
    except NotFound:
        await c.create(("", "v1", "serviceaccounts"), SA)


def configs(prefix: str, n: int, **kw: Any) -> list[NodeConfig]:
    return [NodeConfig(name=f"{prefix}{i}", internal_ip=f"172.31.0.{i + 1}", **kw)
            for i in range(n)]


async def test_pods_run_complete_and_delete(hollow_server: ServerProcess) -> None:
    prefix = unique("hn") + "-"
    async with client_of(hollow_server) as c, trio.open_nursery() as nursery:
        await ensure_sa(c)
        await nursery.start(run_nodeipam, c)
        cluster = HollowCluster(c, configs(prefix, 2, pods=3), workers=4,
                                status_update_period=0.5)
        await nursery.start(cluster.run)
        node0, node1 = (f"{prefix}0", f"{prefix}1")

        async def ready(name: str) -> dict[str, Any] | None:
            node = await c.get(NODES, name)
            conds = {x["type"]: x for x in node["status"].get("conditions") or []}
            ok = node["spec"].get("podCIDR") and conds.get("Ready", {}).get("status") == "True"
            return node if ok else None

        n0 = await wait_for(lambda: ready(node0))
        cidr = ipaddress.ip_network(n0["spec"]["podCIDR"])
        assert n0["status"]["conditions"][-1]["reason"] == "KubeletReady"

        # A pod bound through pods/binding runs with an IP of the node's podCIDR.
        name = unique("web")
        await c.create(PODS, pod(name))
        await c.create(PODS, {"apiVersion": "v1", "kind": "Binding",
                              "metadata": {"name": name, "namespace": "default"},
                              "target": {"apiVersion": "v1", "kind": "Node", "name": node0}},
                       name=name, subresource="binding")

        async def running(n: str) -> dict[str, Any] | None:
            p = await c.get(PODS, n)
            return p if p["status"].get("phase") == "Running" and p["status"].get("podIP") else None

        p = await wait_for(lambda: running(name))
        st = p["status"]
        assert ipaddress.ip_address(st["podIP"]) in cidr
        assert st["hostIP"] == "172.31.0.1" and st["podIPs"] == [{"ip": st["podIP"]}]
        assert [x["type"] for x in st["conditions"]] == [
            "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
            "PodScheduled"]
        cs = st["containerStatuses"][0]
        assert cs["containerID"].startswith("containerd://") and len(cs["containerID"]) == 77
        assert cs["ready"] is True and "running" in cs["state"] and st["startTime"]

        # A Job-like pod completes; the exit-code annotation fails it.
        ann = {"hollow.k3trio.io/complete-after": "300ms", "hollow.k3trio.io/exit-code": "2"}
        failing = unique("fail")
        await c.create(PODS, pod(failing, node1, restartPolicy="Never", meta={"annotations": ann}))

        async def phase(n: str, want: str) -> dict[str, Any] | None:
            p = await c.get(PODS, n)
            return p if p["status"].get("phase") == want else None

        done = await wait_for(lambda: phase(failing, "Failed"))
        term = done["status"]["containerStatuses"][0]["state"]["terminated"]
        assert term["exitCode"] == 2 and term["reason"] == "Error"

        # Pod capacity is enforced by kubelet admission (3 pods, one already terminated).
        fillers = [unique("fill") for _ in range(4)]
        for f in fillers:
            await c.create(PODS, pod(f, node1))
        rejected = []
        for f in fillers:
            p = await wait_for(lambda f=f: _settled(c, f))
            if p["status"]["phase"] == "Failed":
                rejected.append(p["status"]["reason"])
        assert rejected == ["OutOfpods"]

        # Deletion: graceful delete -> the hollow kubelet finishes it with grace 0.
        await c.delete(PODS, name, namespace="default")

        async def gone() -> bool:
            try:
                await c.get(PODS, name)
            except NotFound:
                return True
            return False

        await wait_for(gone)
        nursery.cancel_scope.cancel()


async def _settled(c: Client, name: str) -> dict[str, Any] | None:
    p = await c.get(PODS, name)
    return p if p["status"].get("phase") in ("Running", "Failed") else None


def test_cli_nodes_ready_leases_renew_then_go_stale(
    hollow_server: ServerProcess, hkctl: Kubectl, tmp_path: Path
) -> None:
    prefix = unique("cli") + "-"
    # podCIDRs come from the node-ipam controller run with the admin identity
    ipam = subprocess.Popen([sys.executable, "-c", _IPAM, str(hollow_server.kubeconfig)])
    log = open(tmp_path / "hollow.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "k3trio", "hollow-nodes", "--count", "3",
         "--kubeconfig", str(hollow_server.kubeconfig), "--name-prefix", prefix,
         "--node-lease-duration-seconds", "2", "--node-status-update-frequency", "0.5"],
        stdout=log, stderr=log)
    try:
        def nodes_ready() -> list[list[str]] | None:
            out = hkctl.ok("get", "nodes", "--no-headers")
            rows = [r.split() for r in out.splitlines() if r.startswith(prefix)]
            ok = len(rows) == 3 and all(r[1] == "Ready" for r in rows)
            return rows if ok else None

        rows = wait_until(nodes_ready, timeout=20)
        for row in rows:
            assert row[2] == "<none>" and row[4] == "v1.36.0+k3trio1"

        def renew_time() -> str:
            return str(hkctl.json("get", "lease", "-n", "kube-node-lease", f"{prefix}0")
                       ["spec"]["renewTime"])

        first = renew_time()
        wait_until(lambda: renew_time() != first, timeout=5)
        lease = hkctl.json("get", "lease", "-n", "kube-node-lease", f"{prefix}1")
        assert lease["spec"]["holderIdentity"] == f"{prefix}1"
        assert lease["spec"]["leaseDurationSeconds"] == 2
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        ipam.kill()
        ipam.wait()
    stopped = renew_time()
    time.sleep(1.5)  # three renew intervals of a 2 s lease
    assert renew_time() == stopped


_IPAM = """
import sys, trio
from k3trio.client import Client
from k3trio.controllers.nodeipam import run_nodeipam
async def main():
    async with Client.from_kubeconfig(sys.argv[1]) as c:
        await run_nodeipam(c)
trio.run(main)
"""
