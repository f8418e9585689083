"""Watch fan-out measured by a light client: ``python bench/_watch_fanout.py --kubeconfig K ...``.

One process holds every watch as a plain TLS socket (HTTP/1.1, client certificate from the
kubeconfig) under one ``selectors`` loop and recognises an event by the object's name in the
bytes received, without parsing JSON: per watcher and event that costs microseconds, so the
figure is the server's fan-out, not the client's decoding. The same process makes the writes
(one ConfigMap at a time), so start and arrival share one clock. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import selectors
import socket
import ssl
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "conformance"))

from framework import Cluster  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Watcher:
    """One watch stream: a TLS socket and the tail of what it received."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.tail = b""


def open_watch(cluster: Cluster, host: str, port: int, path: str) -> Watcher:
    raw = socket.create_connection((host, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = cluster.ssl_context.wrap_socket(raw, server_hostname=host)
    headers = "".join(f"{k}: {v}\r\n" for k, v in cluster.headers.items())
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n{headers}\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("watch closed before its response")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"watch answered {head.splitlines()[0]!r}")
    w = Watcher(sock)
    w.tail = head.split(b"\r\n\r\n", 1)[1]
    sock.setblocking(False)
    return w


def create(conn: http.client.HTTPSConnection, cluster: Cluster, ns: str, name: str) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"key": "v" * 64}})
    conn.request("POST", f"/api/v1/namespaces/{ns}/configmaps", body=body,
                 headers={"Content-Type": "application/json", **cluster.headers})
    resp = conn.getresponse()
    text = resp.read()
    if resp.status != 201:
        raise RuntimeError(f"create {name}: {resp.status} {text[:200]!r}")


def run(kubeconfig: Path, namespace: str, watchers: int, writes: int) -> dict[str, object]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < watchers + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, watchers + 1024), hard))
    cluster = Cluster.from_kubeconfig(kubeconfig)
    url = urlsplit(cluster.server)
    host, port = url.hostname or "127.0.0.1", url.port or 443
    writer = http.client.HTTPSConnection(host, port, context=cluster.ssl_context, timeout=30)
    writer.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?limit=1", headers=cluster.headers)
    rv = json.loads(writer.getresponse().read())["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{namespace}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=600"
    t0 = time.perf_counter()
    streams = [open_watch(cluster, host, port, path) for _ in range(watchers)]
    connect_s = time.perf_counter() - t0
    sel = selectors.DefaultSelector()
    for w in streams:
        sel.register(w.sock, selectors.EVENT_READ, w)
    latencies: list[float] = []
    missed = 0
    for k in range(writes):
        name = f"fan-{os.getpid()}-{k}"
        marker = name.encode()
        waiting = set(range(len(streams)))
        index = {id(w): i for i, w in enumerate(streams)}
        for w in streams:
            w.tail = w.tail[-len(marker):]
        start = time.perf_counter()
        create(writer, cluster, namespace, name)
        deadline = start + 10
        while waiting and time.perf_counter() < deadline:
            for key, _ in sel.select(timeout=0.5):
                w = key.data
                data = b""
                while True:  # drain the socket and what TLS has buffered
                    try:
                        chunk = w.sock.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        break
                    if not chunk:
                        sel.unregister(w.sock)
                        break
                    data += chunk
                if not data:
                    continue
                now = time.perf_counter()
                buf = w.tail + data
                i = index[id(w)]
                if i in waiting and marker in buf:
                    waiting.discard(i)
                    latencies.append(now - start)
                w.tail = buf[-len(marker):]
        missed += len(waiting)
    for w in streams:
        w.sock.close()
    return {"watchers": watchers, "established": len(streams), "connect_s": round(connect_s, 2),
            "delivered": len(latencies), "expected": watchers * writes, "missed": missed,
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2), "client": "selectors"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.kubeconfig, args.namespace, args.watchers, args.writes)))


if __name__ == "__main__":
    main()
