"""Scheduler decision-logic benchmark: time ``schedule_one`` over a synthetic cluster.

    .venv/bin/python bench/scheduler_bench.py [--nodes 100] [--pods 1000]

Builds ``--nodes`` nodes in 3 zones with 10 running pods each, then schedules ``--pods`` pods
(a Deployment-like mix: service-selected pods with default spreading, some with preferred
anti-affinity, some with topology spread constraints), assuming each onto its node as the
real loop does. Prints per-pod latency percentiles and pods/second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from k3trio.scheduler.framework import Scheduler
from k3trio.scheduler.nodeinfo import Snapshot

ZONE = "topology.kubernetes.io/zone"


def node(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}", ZONE: f"z{i % 3}",
                                                          "kubernetes.io/os": "linux"}},
            "spec": {}, "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"}}}


def pod(i: int, app: str, node_name: str | None = None, kind: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": f"img-{app}:1",
                                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
                            "nodeSelector": {"kubernetes.io/os": "linux"},
                            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                             "effect": "NoExecute", "tolerationSeconds": 300}]}
    if kind == 1:
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": app}},
                                                "topologyKey": "kubernetes.io/hostname"}}]}}
    elif kind == 2:
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                                              "labelSelector": {"matchLabels": {"app": app}}}]
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": f"{app}-{i}", "namespace": "default", "labels": {"app": app}}, "spec": spec,
            "status": {"phase": "Running" if node_name else "Pending"}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=1000)
    args = parser.parse_args()
    apps = [f"app{i}" for i in range(10)]
    nodes = [node(i) for i in range(args.nodes)]
    running = [pod(i, apps[i % 10], f"node-{i % args.nodes}") for i in range(args.nodes * 10)]
    services = [{"metadata": {"name": a, "namespace": "default"}, "spec": {"selector": {"app": a}}} for a in apps]
    snap = Snapshot.build(nodes, running, services=services)
    sched = Scheduler(seed=1)
    times = []
    started = time.perf_counter()
    for i in range(args.pods):
        p = pod(100000 + i, apps[i % 10], kind=i % 3)
        t0 = time.perf_counter()
        result = sched.schedule_one(p, snap)
        times.append(time.perf_counter() - t0)
        if result.node is None:
            raise SystemExit(f"pod {i} unschedulable: {result.message}")
        p["spec"]["nodeName"] = result.node
        snap.by_name[result.node].add_pod(p)
    wall = time.perf_counter() - started
    times.sort()
    ms = [t * 1000 for t in times]
    print(f"nodes={args.nodes} pods={args.pods} existing={len(running)}")
    print(f"per pod ms: mean={statistics.mean(ms):.2f} p50={ms[len(ms) // 2]:.2f} "
          f"p90={ms[int(len(ms) * 0.9)]:.2f} p99={ms[int(len(ms) * 0.99)]:.2f} max={ms[-1]:.2f}")
    print(f"throughput: {args.pods / wall:.0f} pods/s")


if __name__ == "__main__":
    main()
