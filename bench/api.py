"""API server benchmark: request rates, latencies, watch fan-out and memory of ``k3trio server``.

Usage:
    python bench/api.py [--kubeconfig FILE] [--clients 32] [--duration 5] [--watchers 1000]
                        [--objects 10000] [--file dist/k3trio-x86_64]

Without ``--kubeconfig`` it starts ``k3trio server --disable-agent`` (source tree, or the single
file given by ``--file``) on a free port and measures its RSS too. With 32 concurrent clients
over TLS it measures, for HTTP/1.1 keep-alive and for HTTP/2:

* GET of one ConfigMap, LIST of a namespace with 1,000 ConfigMaps, CREATE of ConfigMaps:
  requests/s, p50 and p99 latency;

first the server's RSS after it stores 10,000 ConfigMaps (on the fresh server), last watch
fan-out (1,000 watchers on one namespace; time from the start of a write until each watcher
has the event; p50/p99 over several writes). Prints the figures and, last, one JSON line.

Targets: GET >= 1,500/s, CREATE >= 500/s, single-object p99 < 50 ms, fan-out p99 < 200 ms,
RSS with 10,000 ConfigMaps <= 200 MiB.

Load generators (``--load``): ``native`` (the default when installed: ``wrk`` for HTTP/1.1 and
``h2load`` for HTTP/2, bearer-token authenticated, see ``bench/_native_load.py``; watch
fan-out from a selectors-based client, ``bench/_watch_fanout.py``) or ``python`` (httpx under
trio in ``--procs`` processes, client certificates). On a 2-core machine the Python client
needs as much CPU as the server, so its figures are the client's as much as the server's.
"""

from __future__ import annotations

import argparse
import itertools
import os
import json
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "conformance"))

from framework import Cluster  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
import _native_load  # noqa: E402
from tests.integration._server import ServerProcess  # noqa: E402

NS_OPS = "bench-ops"
NS_LIST = "bench-list"
NS_WATCH = "bench-watch"
NS_RSS = "bench-rss"
PAYLOAD = {"key": "v" * 64, "other": "some configuration text"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def rss_mib(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Bench:
    def __init__(self, cluster: Cluster, clients: int, duration: float, *, procs: int = 1,
                 kubeconfig: Path | None = None) -> None:
        self.cluster = cluster
        self.procs = procs
        self.kubeconfig = kubeconfig
        self.clients = clients
        self.duration = duration
        self.names = itertools.count()

    def client(self, *, http2: bool, connections: int | None = None, timeout: float = 30) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=connections or self.clients,
            max_keepalive_connections=connections or self.clients,
        )
        return httpx.AsyncClient(
            base_url=self.cluster.server,
            verify=self.cluster.ssl_context,
            headers=self.cluster.headers,
            http1=not http2,
            http2=http2,
            limits=limits,
            timeout=timeout,
        )

    async def ensure_namespace(self, client: httpx.AsyncClient, name: str) -> None:
        resp = await client.post(
            "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        if resp.status_code not in (201, 409):
            raise RuntimeError(f"create namespace {name}: {resp.status_code} {resp.text}")

    async def create_cm(self, client: httpx.AsyncClient, ns: str, name: str | None = None) -> httpx.Response:
        name = name or f"cm-{next(self.names)}"
        resp = await client.post(
            f"/api/v1/namespaces/{ns}/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": PAYLOAD},
        )
        if resp.status_code != 201:
            raise RuntimeError(f"create {ns}/{name}: {resp.status_code} {resp.text[:300]}")
        return resp

    async def fill(self, client: httpx.AsyncClient, ns: str, count: int) -> None:
        """Make ``ns`` hold at least ``count`` ConfigMaps (created concurrently)."""
        have = (await client.get(f"/api/v1/namespaces/{ns}/configmaps", params={"limit": 1})).json()
        existing = len(have.get("items", [])) + int(have["metadata"].get("remainingItemCount", 0))
        todo = iter(range(max(0, count - existing)))

        async def worker() -> None:
            for _ in todo:
                await self.create_cm(client, ns)

        async with trio.open_nursery() as nursery:
            for _ in range(self.clients):
                nursery.start_soon(worker)

    async def closed_loop(self, op: Callable[[], Awaitable[None]], raw: bool = False) -> dict[str, Any]:
        """``self.clients`` workers run ``op`` back to back for ``self.duration`` seconds."""
        latencies: list[float] = []
        errors = 0
        first_error = ""
        deadline = time.perf_counter() + self.duration

        async def worker() -> None:
            nonlocal errors, first_error
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await op()
                except Exception as exc:
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"[:200]
                    if errors > 200:
                        raise
                    continue
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        cpu0 = time.process_time()
        async with trio.open_nursery() as nursery:
            for _ in range(self.clients):
                nursery.start_soon(worker)
        elapsed = time.perf_counter() - start
        # The load generator's own CPU share: near 1.0 means the figures are client-bound.
        client_cpu = (time.process_time() - cpu0) / elapsed
        out: dict[str, Any] = {
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "requests": len(latencies),
            "errors": errors,
            "client_cpu": round(client_cpu, 2),
        }
        if first_error:
            out["first_error"] = first_error
        if raw:
            out["latencies"] = latencies
            out["elapsed"] = elapsed
        return out

    async def request_rates(self, http2: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with self.client(http2=http2) as client:
            await self.ensure_namespace(client, NS_OPS)
            await self.ensure_namespace(client, NS_LIST)
            await self.create_cm(client, NS_OPS, f"one-{'h2' if http2 else 'h1'}")
            await self.fill(client, NS_LIST, 1000)
        for op in ("get", "list_1000", "create"):
            if self.procs > 1:
                out[op] = await self.in_processes(op, http2)
            else:
                out[op] = await self.one_process(op, http2)
        return out

    async def bench_token(self) -> str:
        """A token of a ServiceAccount bound to cluster-admin (for the native generators)."""
        async with self.client(http2=False) as client:
            await self.ensure_namespace(client, NS_OPS)
            await client.post(f"/api/v1/namespaces/{NS_OPS}/serviceaccounts",
                              json={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bench"}})
            await client.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json={
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "bench-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "bench", "namespace": NS_OPS}]})
            resp = await client.post(f"/api/v1/namespaces/{NS_OPS}/serviceaccounts/bench/token", json={
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": 3600}})
            if resp.status_code != 201:
                raise RuntimeError(f"token request: {resp.status_code} {resp.text[:200]}")
            return str(resp.json()["status"]["token"])

    async def native_rates(self, http2: bool, token: str) -> dict[str, Any]:
        """GET, LIST and CREATE rates from ``h2load`` (HTTP/2) or ``wrk`` (HTTP/1.1)."""
        label = "h2" if http2 else "h1"
        async with self.client(http2=False) as client:
            await self.ensure_namespace(client, NS_OPS)
            await self.ensure_namespace(client, NS_LIST)
            await self.create_cm(client, NS_OPS, f"one-{label}")
            await self.fill(client, NS_LIST, 1000)
        base = self.cluster.server
        phase = _native_load.h2load_phase if http2 else _native_load.wrk_phase
        urls = {
            "get": (f"{base}/api/v1/namespaces/{NS_OPS}/configmaps/one-{label}", None),
            "list_1000": (f"{base}/api/v1/namespaces/{NS_LIST}/configmaps", None),
            "create": (f"{base}/api/v1/namespaces/{NS_OPS}/configmaps",
                       {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"generateName": f"gen-{label}-"}, "data": PAYLOAD}),
        }
        out: dict[str, Any] = {}
        for op, (url, body) in urls.items():
            # One second first, so connections, the token cache and the caches are warm.
            await trio.to_thread.run_sync(
                lambda: phase(url, token, clients=self.clients, duration=1, body=body))
            out[op] = await trio.to_thread.run_sync(
                lambda: phase(url, token, clients=self.clients, duration=self.duration, body=body))
        return out

    async def light_watch_fanout(self, watchers: int, writes: int = 10) -> dict[str, Any]:
        """Watch fan-out from ``bench/_watch_fanout.py`` (one selectors loop, no JSON parsing)."""
        async with self.client(http2=False) as setup:
            await self.ensure_namespace(setup, NS_WATCH)
        proc = await trio.run_process(
            [sys.executable, str(ROOT / "bench" / "_watch_fanout.py"), "--kubeconfig", str(self.kubeconfig),
             "--namespace", NS_WATCH, "--watchers", str(watchers), "--writes", str(writes)],
            capture_stdout=True, check=True)
        return dict(json.loads(proc.stdout))

    def op(self, client: httpx.AsyncClient, name: str, http2: bool) -> Callable[[], Awaitable[None]]:
        one = f"/api/v1/namespaces/{NS_OPS}/configmaps/one-{'h2' if http2 else 'h1'}"
        prefix = f"p{os.getpid()}-{id(client) % 1000}-"

        async def get_one() -> None:
            resp = await client.get(one)
            if resp.status_code != 200:
                raise RuntimeError(resp.text)

        async def list_1000() -> None:
            resp = await client.get(f"/api/v1/namespaces/{NS_LIST}/configmaps")
            if resp.status_code != 200:
                raise RuntimeError(resp.text)
            if len(resp.json()["items"]) < 1000:
                raise RuntimeError("short list")

        async def create() -> None:
            await self.create_cm(client, NS_OPS, f"{prefix}{next(self.names)}")

        return {"get": get_one, "list_1000": list_1000, "create": create}[name]

    async def one_process(self, op: str, http2: bool, raw: bool = False) -> dict[str, Any]:
        async with self.client(http2=http2) as client:
            return await self.closed_loop(self.op(client, op, http2), raw=raw)

    async def in_processes(self, op: str, http2: bool) -> dict[str, Any]:
        """Run the phase in ``self.procs`` worker processes (one Python client saturates a core)."""
        results: list[dict[str, Any]] = []
        per = max(1, self.clients // self.procs)

        async def spawn() -> None:
            argv = [sys.executable, __file__, "--worker", op, "--kubeconfig", str(self.kubeconfig),
                    "--clients", str(per), "--duration", str(self.duration)]
            if http2:
                argv.append("--http2")
            proc = await trio.run_process(argv, capture_stdout=True, check=True)
            results.append(json.loads(proc.stdout))

        async with trio.open_nursery() as nursery:
            for _ in range(self.procs):
                nursery.start_soon(spawn)
        latencies = [x for r in results for x in r["latencies"]]
        elapsed = max(r["elapsed"] for r in results)
        out: dict[str, Any] = {
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "requests": len(latencies),
            "errors": sum(r["errors"] for r in results),
            "client_cpu": round(max(r["client_cpu"] for r in results), 2),
            "procs": self.procs,
        }
        first = next((r["first_error"] for r in results if r.get("first_error")), None)
        if first:
            out["first_error"] = first
        return out

    async def watch_fanout(self, watchers: int, writes: int = 10) -> dict[str, Any]:
        latencies: list[float] = []
        started: dict[str, float] = {}
        got: dict[str, int] = {}
        ready = 0
        all_ready = trio.Event()
        async with self.client(http2=False) as setup:
            await self.ensure_namespace(setup, NS_WATCH)
            rv = (await setup.get(f"/api/v1/namespaces/{NS_WATCH}/configmaps", params={"limit": 1})).json()[
                "metadata"]["resourceVersion"]
        clients = [self.client(http2=False, connections=watchers // 8 + 1, timeout=120) for _ in range(8)]

        async def watcher(client: httpx.AsyncClient) -> None:
            nonlocal ready
            params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "600"}
            async with client.stream("GET", f"/api/v1/namespaces/{NS_WATCH}/configmaps", params=params) as resp:
                if resp.status_code != 200:
                    raise RuntimeError(f"watch: {resp.status_code}")
                ready += 1
                if ready == watchers:
                    all_ready.set()
                async for line in resp.aiter_lines():
                    if not line.strip():
                        continue
                    now = time.perf_counter()
                    name = json.loads(line)["object"]["metadata"]["name"]
                    if name in started:
                        latencies.append(now - started[name])
                        got[name] = got.get(name, 0) + 1

        t_connect = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for i in range(watchers):
                nursery.start_soon(watcher, clients[i % len(clients)])
            with trio.move_on_after(60):
                await all_ready.wait()
            connect_s = time.perf_counter() - t_connect
            async with self.client(http2=False) as writer:
                for k in range(writes):
                    name = f"fan-{k}-{next(self.names)}"
                    started[name] = time.perf_counter()
                    await self.create_cm(writer, NS_WATCH, name)
                    with trio.move_on_after(10):
                        while got.get(name, 0) < ready:
                            await trio.sleep(0.005)
            nursery.cancel_scope.cancel()
        for c in clients:
            await c.aclose()
        expected = ready * writes
        return {
            "watchers": watchers,
            "established": ready,
            "connect_s": round(connect_s, 2),
            "delivered": len(latencies),
            "expected": expected,
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        }

    async def rss_after(self, objects: int, pid: int | None) -> dict[str, Any]:
        async with self.client(http2=False) as client:
            await self.ensure_namespace(client, NS_RSS)
            t0 = time.perf_counter()
            await self.fill(client, NS_RSS, objects)
            fill_s = time.perf_counter() - t0
            # Read them all once (list), as a controller resync would.
            await client.get(f"/api/v1/namespaces/{NS_RSS}/configmaps", params={"limit": 500})
        out: dict[str, Any] = {"objects": objects, "fill_s": round(fill_s, 1)}
        if pid is not None:
            rss, peak = rss_mib(pid)
            out["rss_mib"] = round(rss, 1)
            out["peak_rss_mib"] = round(peak, 1)
        return out


async def run(args: argparse.Namespace, cluster: Cluster, pid: int | None) -> dict[str, Any]:
    bench = Bench(cluster, args.clients, args.duration, procs=args.procs, kubeconfig=args.kubeconfig)
    if args.worker:
        return await bench.one_process(args.worker, args.http2, raw=True)
    figures: dict[str, Any] = {"bench": "api", "clients": args.clients, "procs": args.procs}
    if pid is not None:
        figures["idle_rss_mib"] = round(rss_mib(pid)[0], 1)
    try:
        figures["rss"] = await bench.rss_after(args.objects, pid)
    except Exception as exc:
        figures["rss"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    native = args.load == "native"
    figures["load"] = args.load
    token = await bench.bench_token() if native else ""
    for label, http2 in (("http1", False), ("http2", True)):
        try:
            figures[label] = await (bench.native_rates(http2, token) if native else bench.request_rates(http2))
        except Exception as exc:  # report and continue with the other phases
            figures[label] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        figures["watch"] = await (bench.light_watch_fanout(args.watchers) if native
                                  else bench.watch_fanout(args.watchers))
    except Exception as exc:
        figures["watch"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return figures


def report(figures: dict[str, Any]) -> None:
    for label in ("http1", "http2"):
        part = figures.get(label, {})
        if "error" in part:
            print(f"{label}: error {part['error']}")
            continue
        for op in ("get", "list_1000", "create"):
            f = part[op]
            client = f.get("client") or f"client cpu {f['client_cpu']:.2f}"
            print(f"{label:5} {op:10} {f['rps']:9.1f} req/s  p50 {f['p50_ms']:7.2f} ms  "
                  f"p99 {f['p99_ms']:7.2f} ms  ({f['requests']} ok, {f['errors']} errors, {client})")
            if "first_error" in f:
                print(f"      first error: {f['first_error']}")
    w = figures.get("watch", {})
    if "error" in w:
        print(f"watch fan-out: error {w['error']}")
    else:
        print(f"watch fan-out {w['established']}/{w['watchers']} watchers (connect {w['connect_s']} s): "
              f"p50 {w['p50_ms']} ms  p99 {w['p99_ms']} ms  delivered {w['delivered']}/{w['expected']}")
    r = figures.get("rss", {})
    if "error" in r:
        print(f"rss: error {r['error']}")
    else:
        print(f"stored {r['objects']} configmaps in {r['fill_s']} s; RSS {r.get('rss_mib', '?')} MiB "
              f"(peak {r.get('peak_rss_mib', '?')} MiB, idle {figures.get('idle_rss_mib', '?')} MiB)")
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", type=Path, help="benchmark this cluster instead of starting one")
    parser.add_argument("--pid", type=int, help="server pid for RSS when using --kubeconfig")
    parser.add_argument("--file", help="run this single-file build instead of the source tree")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per request-rate phase")
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=10000, help="ConfigMaps stored for the RSS figure")
    parser.add_argument("--procs", type=int, default=4, help="load-generating processes per phase")
    parser.add_argument("--load", choices=("native", "python"),
                        default="native" if _native_load.available() else "python",
                        help="load generators: wrk/h2load (default when installed) or httpx")
    parser.add_argument("--worker", choices=("get", "list_1000", "create"), help=argparse.SUPPRESS)
    parser.add_argument("--http2", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(trio.run(run, args, Cluster.from_kubeconfig(args.kubeconfig), None)))
        return
    if args.kubeconfig:
        figures = trio.run(run, args, Cluster.from_kubeconfig(args.kubeconfig), args.pid)
        report(figures)
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [args.file] if args.file else [sys.executable, "-m", "k3trio"]
    with tempfile.TemporaryDirectory() as tmp:
        srv = ServerProcess(Path(tmp) / "data", port, command=command).start()
        try:
            srv.wait_ready(timeout=30)
            assert srv.proc is not None
            args.kubeconfig = srv.kubeconfig
            figures = trio.run(run, args, Cluster.from_kubeconfig(srv.kubeconfig), srv.proc.pid)
        finally:
            srv.kill()
    report(figures)


if __name__ == "__main__":
    main()
