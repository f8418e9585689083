"""Pod network benchmark: request latency through a Service ClusterIP against the pod IP.

Usage: CI=true flock /tmp/k3trio-e2e.lock python bench/net.py [--requests 500] [--rounds 3]
(root, real containerd: the harness of tests/e2e). Prints the figures and one JSON line.

A busybox client pod makes HTTP/1.0 requests with ``nc`` to a busybox-httpd pod, alternately
by pod IP and by ClusterIP (rounds interleaved so machine load affects both alike), timed
inside the pod (``/proc/uptime``: 10 ms resolution, hence many requests). Each request includes starting ``nc``, so the ratio measures what the service
proxy's DNAT adds on top of a short connection, not the bare network path.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from k3trio.agent.images import busybox_image, ensure_archive  # noqa: E402
from tests.e2e.test_pods import AgentServer  # noqa: E402
from tests.e2e.test_services import (  # noqa: E402
    HTTPD,
    apply,
    k,
    remove_orphan_pod_netns,
    wait,
)


def _timed_requests(srv: AgentServer, host: str, port: int, n: int) -> float:
    """Seconds per request for ``n`` sequential requests from the client pod."""
    script = ("read s _ < /proc/uptime; "
              f"for i in $(seq {n}); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
              f"nc -w 2 {host} {port} >/dev/null || echo FAIL; done; "
              "read e _ < /proc/uptime; echo $s $e")
    out = k(srv, "exec", "bench-client", "--", "sh", "-c", script, timeout=600).stdout.decode()
    if "FAIL" in out:
        raise RuntimeError(f"requests to {host}:{port} failed")
    start, end = (float(x) for x in out.split()[-2:])
    return (end - start) / n


def clusterip_latency(srv: AgentServer, *, requests: int = 500, rounds: int = 3
                      ) -> dict[str, Any]:
    """ClusterIP vs pod-IP latency from a pod on a running agent server (creates and deletes
    its own pods and Service in ``default``)."""
    apply(srv, {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "bench-web", "labels": {"app": "bench-web"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "httpd", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", HTTPD],
                    "ports": [{"name": "http", "containerPort": 8080}]}]}})
    apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench-web"},
                "spec": {"selector": {"app": "bench-web"},
                         "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    apply(srv, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench-client"},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "c", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"]}]}})
    try:
        def running(pod: str) -> bool:
            return k(srv, "get", "pod", pod, "-o", "jsonpath={.status.phase}",
                     check=False).stdout == b"Running"

        wait(lambda: running("bench-web") and running("bench-client"), 90, srv, "pods running")
        pod_ip = k(srv, "get", "pod", "bench-web", "-o", "jsonpath={.status.podIP}").stdout.decode()
        cluster_ip = k(srv, "get", "svc", "bench-web", "-o",
                       "jsonpath={.spec.clusterIP}").stdout.decode()
        wait(lambda: "bench-web" in k(srv, "exec", "bench-client", "--", "sh", "-c",
                                      f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 "
                                      f"{cluster_ip} 80", check=False).stdout.decode(),
             60, srv, "service answers")
        direct, via_service = [], []
        for _ in range(rounds):
            direct.append(_timed_requests(srv, pod_ip, 8080, requests))
            via_service.append(_timed_requests(srv, cluster_ip, 80, requests))
        d, s = min(direct), min(via_service)
        return {"pod_ip_ms": round(d * 1000, 3), "cluster_ip_ms": round(s * 1000, 3),
                "ratio": round(s / d, 3), "requests": requests, "rounds": rounds}
    finally:
        k(srv, "delete", "pod", "bench-web", "bench-client", "--wait=false", check=False)
        k(srv, "delete", "svc", "bench-web", "--wait=false", check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    remove_orphan_pod_netns()
    srv = AgentServer(Path(tempfile.mkdtemp(prefix="k3trio-bench-net-")) / "data")
    ensure_archive(srv.data_dir / "agent" / "images" / "busybox.tar", busybox_image())
    srv.start()
    try:
        wait(lambda: srv.kubeconfig.exists(), 60, srv, "kubeconfig")
        wait(lambda: k(srv, "get", "sa", "default", "-o", "name", check=False).stdout.strip()
             == b"serviceaccount/default", 60, srv, "default service account")
        result = clusterip_latency(srv, requests=args.requests, rounds=args.rounds)
    finally:
        srv.stop()
        remove_orphan_pod_netns()
    print(f"pod IP:     {result['pod_ip_ms']:.3f} ms/request (best of {args.rounds} rounds "
          f"of {args.requests})")
    print(f"ClusterIP:  {result['cluster_ip_ms']:.3f} ms/request")
    print(f"ratio:      {result['ratio']:.3f}")
    print(json.dumps({"clusterip_latency": result}))


if __name__ == "__main__":
    main()
