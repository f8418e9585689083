"""Scale benchmark: hollow nodes, Deployments, scheduler throughput and pod startup latency.

Usage:
    python bench/scale.py [--nodes 100] [--deployments 30] [--replicas 100]
                          [--kubeconfig FILE] [--timeout 600]

Without ``--kubeconfig`` it starts ``k3trio server --disable-agent`` from the source tree on a
free port (and reports its RSS). It then starts ``k3trio hollow-nodes --count NODES`` as a
separate process, waits for every node to be Ready, creates DEPLOYMENTS Deployments of
REPLICAS replicas (3,000 pods by default) at once, and watches the pods:

* time until all pods are Running (from the first Deployment create);
* scheduler throughput: pods bound per second, between the first and the last binding;
* pod startup latency p50/p99: pod creation -> Running as written by the hollow kubelet, both
  taken from the watch as this process saw them (millisecond resolution);
* the hollow kubelets' share: bound -> Running p50/p99;
* server RSS (VmRSS now and VmHWM peak) when all pods run.

Prints the figures and, last, one JSON line. Targets: p99 <= 5 s, >= 100 pods/s scheduled,
server RSS <= 400 MiB.

Nodes get podCIDRs from the server's node-ipam controller; if none has one 15 s after the
nodes registered, the benchmark runs that controller itself with the admin identity (and
says so).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from k3trio.client import NODES, PODS, AlreadyExists, Client, ClientConfig, Gone  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.integration._server import ServerProcess  # noqa: E402

NAMESPACE = "bench-scale"
DEPLOYMENTS = ("apps", "v1", "deployments")
NAMESPACES = ("", "v1", "namespaces")
SERVICEACCOUNTS = ("", "v1", "serviceaccounts")
NODE_PREFIX = "scale-node-"

_IPAM = """
import sys, trio
from k3trio.client import Client
from k3trio.controllers.nodeipam import run_nodeipam
async def main():
    async with Client.from_kubeconfig(sys.argv[1]) as c:
        await run_nodeipam(c)
trio.run(main)
"""


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "app", "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }]},
            },
        },
    }


class PodTimes:
    """First-seen times of each pod's creation, binding and Running state."""

    def __init__(self) -> None:
        self.created: dict[str, float] = {}
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.changed = trio.Event()

    def observe(self, pod: dict[str, Any], now: float) -> None:
        uid = pod["metadata"]["uid"]
        self.created.setdefault(uid, now)
        if (pod.get("spec") or {}).get("nodeName"):
            self.bound.setdefault(uid, now)
        if (pod.get("status") or {}).get("phase") == "Running":
            if uid not in self.running:
                self.running[uid] = now
                self.changed.set()


async def watch_pods(client: Client, times: PodTimes, rv: str) -> None:
    while True:
        try:
            async with client.watch(PODS, namespace=NAMESPACE, resource_version=rv,
                                    timeout_seconds=900) as events:
                async for ev in events:
                    rv = ev.resource_version or rv
                    if ev.type in ("ADDED", "MODIFIED"):
                        times.observe(ev.object, time.monotonic())
        except Gone:
            listed = await client.list(PODS, namespace=NAMESPACE)
            rv = listed["metadata"]["resourceVersion"]
            for p in listed.get("items") or []:
                times.observe(p, time.monotonic())


async def wait_nodes(client: Client, count: int, kubeconfig: Path, timeout: float,
                     notes: list[str], children: list[subprocess.Popen[bytes]]) -> float:
    start = time.monotonic()
    ipam_started = False
    while True:
        nodes = [n for n in (await client.list(NODES))["items"]
                 if n["metadata"]["name"].startswith(NODE_PREFIX)]
        with_cidr = [n for n in nodes if n["spec"].get("podCIDR")]
        ready = [n for n in with_cidr
                 if any(c["type"] == "Ready" and c["status"] == "True"
                        for c in n["status"].get("conditions") or [])]
        if len(ready) >= count:
            return time.monotonic() - start
        if (len(nodes) >= count and not with_cidr and not ipam_started
                and time.monotonic() - start > 15):
            notes.append("the server assigned no podCIDRs; ran the node-ipam controller "
                         "with the admin identity")
            children.append(subprocess.Popen([sys.executable, "-c", _IPAM, str(kubeconfig)]))
            ipam_started = True
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{len(ready)}/{count} nodes Ready after {timeout:.0f}s")
        await trio.sleep(0.5)


async def ensure_namespace(client: Client) -> None:
    try:
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": NAMESPACE}})
    except AlreadyExists:
        pass
    await trio.sleep(1.0)  # give a service-account controller the chance to create "default"
    try:
        await client.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                              "metadata": {"name": "default",
                                                           "namespace": NAMESPACE}})
    except AlreadyExists:
        pass


async def run(args: argparse.Namespace, kubeconfig: Path, server_pid: int | None,
              notes: list[str], children: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    total = args.deployments * args.replicas
    cfg = ClientConfig.from_kubeconfig(kubeconfig, component="bench-scale")
    async with Client(cfg) as client:
        await ensure_namespace(client)
        hollow_log = open(Path(tempfile.gettempdir()) / "bench-scale-hollow.log", "wb")
        children.append(subprocess.Popen(
            [sys.executable, "-m", "k3trio", "hollow-nodes", "--count", str(args.nodes),
             "--kubeconfig", str(kubeconfig), "--name-prefix", NODE_PREFIX],
            stdout=hollow_log, stderr=hollow_log))
        nodes_ready = await wait_nodes(client, args.nodes, kubeconfig, args.timeout, notes,
                                       children)
        print(f"{args.nodes} hollow nodes Ready in {nodes_ready:.1f}s", flush=True)
        times = PodTimes()
        listed = await client.list(PODS, namespace=NAMESPACE)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_pods, client, times, listed["metadata"]["resourceVersion"])
            t0 = time.monotonic()
            async with trio.open_nursery() as creating:
                for i in range(args.deployments):
                    creating.start_soon(client.create, DEPLOYMENTS,
                                        deployment(f"scale-{i}", args.replicas))
            created_all = time.monotonic() - t0
            with trio.move_on_after(args.timeout):
                last_report = 0.0
                while len(times.running) < total:
                    times.changed = trio.Event()
                    with trio.move_on_after(1.0):
                        await times.changed.wait()
                    now = time.monotonic() - t0
                    if now - last_report >= 5:
                        last_report = now
                        print(f"  {now:5.1f}s: {len(times.created)} created, "
                              f"{len(times.bound)} bound, {len(times.running)} running",
                              flush=True)
            all_running = time.monotonic() - t0
            nursery.cancel_scope.cancel()
    rss = rss_mib(server_pid) if server_pid else (float("nan"), float("nan"))
    binds = sorted(times.bound.values())
    window = binds[-1] - binds[0] if len(binds) > 1 else float("nan")
    latencies = [times.running[u] - times.created[u] for u in times.running if u in times.created]
    kubelet = [times.running[u] - times.bound[u] for u in times.running if u in times.bound]
    return {
        "nodes": args.nodes,
        "pods": total,
        "pods_running": len(times.running),
        "deployments_created_s": round(created_all, 2),
        "all_running_s": round(all_running, 2),
        "scheduled_pods_per_s": round(len(binds) / window, 1) if window == window and window
        else None,
        "startup_p50_s": round(percentile(latencies, 0.50), 3),
        "startup_p99_s": round(percentile(latencies, 0.99), 3),
        "bound_to_running_p50_s": round(percentile(kubelet, 0.50), 3),
        "bound_to_running_p99_s": round(percentile(kubelet, 0.99), 3),
        "server_rss_mib": round(rss[0], 1),
        "server_peak_rss_mib": round(rss[1], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=30)
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--server-pid", type=int,
                        help="with --kubeconfig: the server process whose RSS to report")
    args = parser.parse_args()
    server: ServerProcess | None = None
    children: list[subprocess.Popen[bytes]] = []
    notes: list[str] = []
    try:
        if args.kubeconfig is None:
            server = ServerProcess(Path(tempfile.mkdtemp(prefix="bench-scale-")), free_port())
            server.start()
            server.wait_ready(60)
            kubeconfig = server.kubeconfig
        else:
            kubeconfig = args.kubeconfig
        pid = server.proc.pid if server and server.proc else args.server_pid
        result = trio.run(run, args, kubeconfig, pid, notes, children)
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if server is not None:
            server.kill()
    for note in notes:
        print(f"note: {note}")
    print(f"pods Running:            {result['pods_running']}/{result['pods']} "
          f"on {result['nodes']} hollow nodes")
    print(f"time until all Running:  {result['all_running_s']:.1f} s "
          f"(creates sent in {result['deployments_created_s']:.2f} s)")
    print(f"scheduler throughput:    {result['scheduled_pods_per_s']} pods/s (target >= 100)")
    print(f"pod startup latency:     p50 {result['startup_p50_s']:.3f} s, "
          f"p99 {result['startup_p99_s']:.3f} s (target p99 <= 5 s)")
    print(f"hollow kubelet latency:  p50 {result['bound_to_running_p50_s']:.3f} s, "
          f"p99 {result['bound_to_running_p99_s']:.3f} s (bound -> Running)")
    print(f"server RSS:              {result['server_rss_mib']} MiB now, "
          f"{result['server_peak_rss_mib']} MiB peak (target <= 400 MiB)")
    print(json.dumps(result))
    return 0 if result["pods_running"] == result["pods"] else 1


if __name__ == "__main__":
    sys.exit(main())
