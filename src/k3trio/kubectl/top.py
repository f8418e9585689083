"""``kubectl top node|pod``: resource usage from the ``metrics.k8s.io`` API, in kubectl's
columns; ``error: Metrics API not available`` when no metrics server is registered."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .rest import StatusError

SHORT = "Display resource (CPU/memory) usage"
SUBCOMMANDS = {"node": "Display resource (CPU/memory) usage of nodes",
               "pod": "Display resource (CPU/memory) usage of pods"}
SUBCOMMANDS.update({"nodes": SUBCOMMANDS["node"], "no": SUBCOMMANDS["node"],
                    "pods": SUBCOMMANDS["pod"], "po": SUBCOMMANDS["pod"]})


def flags(sub: str | None) -> list[Flag]:
    return [Flag("all-namespaces", "bool", False, "", short="A"),
            Flag("no-headers", "bool", False, ""),
            Flag("selector", "string", "", "", short="l"),
            Flag("sort-by", "string", "", ""),
            Flag("containers", "bool", False, ""),
            Flag("sum", "bool", False, "")]


def _cpu(v: str) -> int:
    if v.endswith("n"):
        return int(v[:-1]) // 1_000_000
    if v.endswith("u"):
        return int(v[:-1]) // 1000
    if v.endswith("m"):
        return int(v[:-1])
    return int(float(v) * 1000)


def _mem(v: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1000, "M": 10**6, "G": 10**9}
    for u, m in units.items():
        if v.endswith(u):
            return int(float(v[: -len(u)]) * m) // 2**20
    return int(v) // 2**20


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    try:
        f.client.get("/apis/metrics.k8s.io/v1beta1")
    except StatusError as exc:
        raise CommandError("error: Metrics API not available") from exc
    from .printers.tabwriter import format_rows

    if sub in ("node", "nodes", "no"):
        items = f.client.get("/apis/metrics.k8s.io/v1beta1/nodes",
                             params={"labelSelector": opts["selector"] or None}).get("items") or []
        rows = [] if opts["no_headers"] else [["NAME", "CPU(cores)", "MEMORY(bytes)"]]
        for m in items:
            u = m.get("usage") or {}
            rows.append([m["metadata"]["name"], f"{_cpu(u.get('cpu', '0'))}m",
                         f"{_mem(u.get('memory', '0'))}Mi"])
    else:
        ns = None if opts["all_namespaces"] else f.namespace
        path = (f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods" if ns
                else "/apis/metrics.k8s.io/v1beta1/pods")
        items = f.client.get(path, params={"labelSelector": opts["selector"] or None}).get("items") or []
        if not items:
            raise CommandError(f"error: No resources found in {ns} namespace." if ns else
                               "error: No resources found")
        header = (["NAMESPACE"] if not ns else []) + ["NAME", "CPU(cores)", "MEMORY(bytes)"]
        rows = [] if opts["no_headers"] else [header]
        for m in items:
            cpu = sum(_cpu((c.get("usage") or {}).get("cpu", "0")) for c in m.get("containers") or [])
            mem = sum(_mem((c.get("usage") or {}).get("memory", "0")) for c in m.get("containers") or [])
            rows.append(([m["metadata"]["namespace"]] if not ns else []) +
                        [m["metadata"]["name"], f"{cpu}m", f"{mem}Mi"])
    f.out.write(format_rows(rows))
    return 0
