"""The service proxy's rules, as kube-proxy's iptables mode writes them (pure: objects in,
``iptables-restore`` text out).

Chains (nat table)::

    PREROUTING, OUTPUT ──> K3TRIO-SERVICES ──(clusterIP:port)──> K3TRIO-SVC-<hash>
                                  │  (externalIP / LB ingress:port) ──> K3TRIO-EXT-<hash>
                                  └─(dst-type LOCAL)──> K3TRIO-NODEPORTS ──(nodePort)──> EXT
    K3TRIO-SVC-<hash>  cluster-wide endpoints (statistic random, probability 1/(n-i))
    K3TRIO-SVL-<hash>  node-local endpoints (internal/externalTrafficPolicy Local)
    K3TRIO-EXT-<hash>  external entry: Cluster policy masquerades then goes to SVC; Local
                       policy sends pod and host traffic to SVC, the rest to SVL unmasqueraded
    K3TRIO-FW-<hash>   load-balancer IPs with loadBalancerSourceRanges: allowed sources to EXT
    K3TRIO-SEP-<hash>  one endpoint: hairpin masquerade, then DNAT (recent --set for affinity)
    POSTROUTING ──> K3TRIO-POSTROUTING: MASQUERADE what carries the 0x4000 mark
    K3TRIO-MARK-MASQ: set the mark (traffic to a cluster IP from outside the cluster CIDR,
                      external traffic under Cluster policy, hairpin)

Filter table: ``K3TRIO-SERVICES`` (OUTPUT/FORWARD, new connections) REJECTs cluster IPs of
services without endpoints (DROP when only node-local endpoints would do and there are
none); ``K3TRIO-EXTERNAL-SERVICES`` (INPUT/FORWARD) does the same for node ports, external
IPs and load-balancer IPs (and drops load-balancer traffic from sources outside
``loadBalancerSourceRanges``); ``K3TRIO-FORWARD`` accepts marked and established traffic so a
restrictive FORWARD policy does not block service traffic.

Endpoints: the ready ones of the service's EndpointSlices (IPv4); when none is ready, the
serving terminating ones (as kube-proxy). A service port's target on each endpoint is the
slice port with the same name and protocol, so named targetPorts resolve per endpoint.

Chain names hash the service port name and protocol (and the endpoint), so they are stable
across restarts and never longer than iptables' 28 characters.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "BUILTIN_JUMPS", "CHAIN_PREFIXES", "Endpoint", "MASQ_MARK", "NodeInfo", "ServicePort",
    "TOP_CHAINS", "build_payload", "cleanup_payload", "endpoints_for", "service_ports",
]

Obj = Mapping[str, Any]

MASQ_MARK = "0x4000"
SERVICES = "K3TRIO-SERVICES"
EXTERNAL_SERVICES = "K3TRIO-EXTERNAL-SERVICES"
NODEPORTS = "K3TRIO-NODEPORTS"
POSTROUTING = "K3TRIO-POSTROUTING"
MARK_MASQ = "K3TRIO-MARK-MASQ"
FORWARD = "K3TRIO-FORWARD"

#: Our fixed chains per table (always present while the proxy runs).
TOP_CHAINS: dict[str, tuple[str, ...]] = {
    "nat": (SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ),
    "filter": (SERVICES, EXTERNAL_SERVICES, FORWARD),
}
#: Prefixes of the per-service chains this part owns (stale ones are deleted on sync).
CHAIN_PREFIXES = ("K3TRIO-SVC-", "K3TRIO-SVL-", "K3TRIO-EXT-", "K3TRIO-FW-", "K3TRIO-SEP-")

#: ``(table, built-in chain, rule spec)`` of the jumps into our chains (inserted once, first).
BUILTIN_JUMPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nat", "PREROUTING", ("-m", "comment", "--comment", "k3trio service portals",
                           "-j", SERVICES)),
    ("nat", "OUTPUT", ("-m", "comment", "--comment", "k3trio service portals", "-j", SERVICES)),
    ("nat", "POSTROUTING", ("-m", "comment", "--comment", "k3trio postrouting rules",
                            "-j", POSTROUTING)),
    ("filter", "INPUT", ("-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment",
                         "k3trio externally-visible service portals",
                         "-j", EXTERNAL_SERVICES)),
    ("filter", "FORWARD", ("-m", "comment", "--comment", "k3trio forwarding rules",
                           "-j", FORWARD)),
    ("filter", "FORWARD", ("-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment",
                           "k3trio service portals", "-j", SERVICES)),
    ("filter", "FORWARD", ("-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment",
                           "k3trio externally-visible service portals",
                           "-j", EXTERNAL_SERVICES)),
    ("filter", "OUTPUT", ("-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment",
                          "k3trio service portals", "-j", SERVICES)),
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_SECONDS = 10800


@attrs.frozen
class NodeInfo:
    """What the proxy needs to know about its own node."""

    name: str
    cluster_cidr: str = "10.42.0.0/16"


@attrs.frozen
class Endpoint:
    """One backend of one service port: ``ip:port`` on ``node``."""

    ip: str
    port: int
    node: str = ""
    ready: bool = True

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@attrs.frozen
class ServicePort:
    """One port of one service, with everything its rules depend on."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    port: int
    cluster_ip: str
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    ingress_ips: tuple[str, ...] = ()
    source_ranges: tuple[str, ...] = ()
    affinity_seconds: int = 0
    internal_local: bool = False
    external_local: bool = False

    @property
    def display(self) -> str:
        """``ns/name:port`` (``ns/name`` for an unnamed port), as kube-proxy's comments."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def proto(self) -> str:
        return self.protocol.lower()

    @property
    def has_external(self) -> bool:
        return bool(self.node_port or self.external_ips or self.ingress_ips)


def chain_name(prefix: str, *parts: str) -> str:
    """``K3TRIO-<prefix>-`` and 16 base32 characters of the parts' SHA-256."""
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return f"K3TRIO-{prefix}-" + base64.b32encode(digest).decode()[:16]


def _ipv4(value: Any) -> bool:
    try:
        return ipaddress.ip_address(str(value)).version == 4
    except ValueError:
        return False


def _ipv4_net(value: Any) -> bool:
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False).version == 4
    except ValueError:
        return False


def service_ports(svc: Obj) -> list[ServicePort]:
    """The proxied ports of a Service (none for headless and ExternalName services)."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    cluster_ip = spec.get("clusterIP") or ""
    if spec.get("type") == "ExternalName" or not _ipv4(cluster_ip):
        return []
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        affinity = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)
    stype = spec.get("type") or "ClusterIP"
    ingress: tuple[str, ...] = ()
    if stype == "LoadBalancer":
        ingress = tuple(i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {})
                        .get("ingress") or [] if _ipv4(i.get("ip"))
                        and i.get("ipMode", "VIP") == "VIP")
    external_ips = tuple(ip for ip in spec.get("externalIPs") or [] if _ipv4(ip))
    external_local = (spec.get("externalTrafficPolicy") == "Local"
                      and stype in ("NodePort", "LoadBalancer"))
    out = []
    for p in spec.get("ports") or []:
        out.append(ServicePort(
            namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""),
            port_name=str(p.get("name") or ""), protocol=str(p.get("protocol") or "TCP"),
            port=int(p["port"]), cluster_ip=cluster_ip,
            node_port=int(p.get("nodePort") or 0) if stype in ("NodePort", "LoadBalancer")
            else 0,
            external_ips=external_ips, ingress_ips=ingress, affinity_seconds=affinity,
            source_ranges=tuple(str(r).strip() for r in spec.get("loadBalancerSourceRanges") or []
                                if _ipv4_net(r)) if stype == "LoadBalancer" else (),
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=external_local))
    return out


def endpoints_for(sp: ServicePort, slices: Iterable[Obj]) -> list[Endpoint]:
    """The usable endpoints of a service port from its Service's EndpointSlices: ready ones,
    else serving-and-terminating ones; sorted and without duplicates."""
    ready: set[Endpoint] = set()
    fallback: set[Endpoint] = set()
    for sl in slices:
        labels = (sl.get("metadata") or {}).get("labels") or {}
        if (labels.get(SERVICE_NAME_LABEL) != sp.name
                or (sl.get("metadata") or {}).get("namespace") != sp.namespace
                or sl.get("addressType", "IPv4") != "IPv4"):
            continue
        port = next((int(p["port"]) for p in sl.get("ports") or []
                     if str(p.get("name") or "") == sp.port_name
                     and str(p.get("protocol") or "TCP") == sp.protocol and p.get("port")), None)
        if port is None:
            continue
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            is_ready = cond.get("ready") is not False
            serving = cond.get("serving", cond.get("ready")) is not False
            terminating = bool(cond.get("terminating"))
            for ip in (ep.get("addresses") or [])[:1]:
                if not _ipv4(ip):
                    continue
                e = Endpoint(str(ip), port, str(ep.get("nodeName") or ""))
                if is_ready:
                    ready.add(e)
                elif serving and terminating:
                    fallback.add(e)
    chosen = ready or fallback
    return sorted(chosen, key=lambda e: (int(ipaddress.ip_address(e.ip)), e.port))


def _probability(n: int) -> str:
    return f"{1.0 / n:.10f}"


class _Tables:
    def __init__(self) -> None:
        self.chains: dict[str, list[str]] = {"nat": [], "filter": []}
        self.rules: dict[str, list[str]] = {"nat": [], "filter": []}

    def chain(self, table: str, name: str) -> None:
        if name not in self.chains[table]:
            self.chains[table].append(name)

    def add(self, table: str, chain: str, *args: str) -> None:
        self.rules[table].append(" ".join(("-A", chain, *args)))


def _comment(text: str) -> tuple[str, ...]:
    return ("-m", "comment", "--comment", f'"{text}"')


def _dport(sp: ServicePort, port: int) -> tuple[str, ...]:
    return ("-p", sp.proto, "-m", sp.proto, "--dport", str(port))


def _endpoint_chains(t: _Tables, sp: ServicePort, chain: str, seps: Sequence[tuple[Endpoint, str]],
                     ) -> None:
    """Fill one SVC/SVL chain: affinity checks, then the random spread over endpoints."""
    if sp.affinity_seconds:
        for ep, sep in seps:
            t.add("nat", chain, *_comment(f"{sp.display} -> {ep.address}"), "-m", "recent",
                  "--name", sep, "--rcheck", "--seconds", str(sp.affinity_seconds), "--reap",
                  "-j", sep)
    n = len(seps)
    for i, (ep, sep) in enumerate(seps):
        stat: tuple[str, ...] = ()
        if i < n - 1:
            stat = ("-m", "statistic", "--mode", "random", "--probability", _probability(n - i))
        t.add("nat", chain, *_comment(f"{sp.display} -> {ep.address}"), *stat, "-j", sep)


def _masq_outside(t: _Tables, sp: ServicePort, chain: str, node: NodeInfo) -> None:
    """Mark cluster-IP traffic that does not come from a pod for masquerading."""
    t.add("nat", chain, *_comment(f"{sp.display} cluster IP"), "!", "-s", node.cluster_cidr,
          "-d", f"{sp.cluster_ip}/32", *_dport(sp, sp.port), "-j", MARK_MASQ)


def _reject(t: _Tables, sp: ServicePort, target: str, why: str) -> None:
    jump: tuple[str, ...] = ("-j", "REJECT") if target == "REJECT" else ("-j", "DROP")
    t.add("filter", SERVICES, *_comment(f"{sp.display} {why}"), "-d", f"{sp.cluster_ip}/32",
          *_dport(sp, sp.port), *jump)


def _reject_external(t: _Tables, sp: ServicePort, target: str, why: str) -> None:
    jump = ("-j", target)
    for ip in (*sp.external_ips, *sp.ingress_ips):
        t.add("filter", EXTERNAL_SERVICES, *_comment(f"{sp.display} {why}"), "-d", f"{ip}/32",
              *_dport(sp, sp.port), *jump)
    if sp.node_port:
        t.add("filter", EXTERNAL_SERVICES, *_comment(f"{sp.display} {why}"), "-m", "addrtype",
              "--dst-type", "LOCAL", *_dport(sp, sp.node_port), *jump)


def _service(t: _Tables, sp: ServicePort, eps: list[Endpoint], node: NodeInfo) -> None:
    key = sp.display + sp.protocol
    svc_chain, svl_chain, ext_chain = (chain_name(p, key) for p in ("SVC", "SVL", "EXT"))
    local = [e for e in eps if e.node == node.name]
    internal = local if sp.internal_local else eps
    external = local if sp.external_local else eps
    seps = {e: chain_name("SEP", key, e.address) for e in eps}

    # Cluster IP.
    if internal:
        chain = svl_chain if sp.internal_local else svc_chain
        t.add("nat", SERVICES, *_comment(f"{sp.display} cluster IP"), "-d", f"{sp.cluster_ip}/32",
              *_dport(sp, sp.port), "-j", chain)
    elif eps:
        _reject(t, sp, "DROP", "has no local endpoints")
    else:
        _reject(t, sp, "REJECT", "has no endpoints")

    # External destinations: external IPs, load-balancer ingress IPs, node ports.
    if sp.has_external:
        if external:
            for ip in sp.external_ips:
                t.add("nat", SERVICES, *_comment(f"{sp.display} external IP"), "-d", f"{ip}/32",
                      *_dport(sp, sp.port), "-j", ext_chain)
            fw_chain = chain_name("FW", key)
            for ip in sp.ingress_ips:
                t.add("nat", SERVICES, *_comment(f"{sp.display} loadbalancer IP"), "-d",
                      f"{ip}/32", *_dport(sp, sp.port),
                      "-j", fw_chain if sp.source_ranges else ext_chain)
            if sp.ingress_ips and sp.source_ranges:
                # Allowed sources go on; the rest keep the load-balancer destination and are
                # dropped by the filter rule below.
                t.chain("nat", fw_chain)
                for cidr in sp.source_ranges:
                    t.add("nat", fw_chain, *_comment(f"{sp.display} loadbalancer IP"),
                          "-s", cidr, "-j", ext_chain)
                for ip in sp.ingress_ips:
                    t.add("filter", EXTERNAL_SERVICES,
                          *_comment(f"{sp.display} traffic not accepted by {fw_chain}"),
                          "-d", f"{ip}/32", *_dport(sp, sp.port), "-j", "DROP")
            if sp.node_port:
                t.add("nat", NODEPORTS, *_comment(sp.display), *_dport(sp, sp.node_port),
                      "-j", ext_chain)
        elif eps:
            _reject_external(t, sp, "DROP", "has no local endpoints")
        else:
            _reject_external(t, sp, "REJECT", "has no endpoints")

    use_ext = sp.has_external and bool(external)
    # EXT always leads (pod and host traffic, or everything) to the cluster-wide chain.
    use_svc = bool(eps) and (not sp.internal_local or use_ext)
    use_svl = bool(local) and (sp.internal_local or (use_ext and sp.external_local))
    internal_chain = svl_chain if sp.internal_local else svc_chain
    if use_svc:
        t.chain("nat", svc_chain)
        if internal_chain == svc_chain:
            _masq_outside(t, sp, svc_chain, node)
        _endpoint_chains(t, sp, svc_chain, [(e, seps[e]) for e in eps])
    if use_svl:
        t.chain("nat", svl_chain)
        if internal_chain == svl_chain:
            _masq_outside(t, sp, svl_chain, node)
        _endpoint_chains(t, sp, svl_chain, [(e, seps[e]) for e in local])
    if use_ext:
        t.chain("nat", ext_chain)
        if sp.external_local:
            t.add("nat", ext_chain, *_comment(f"pod traffic for {sp.display} external "
                                             "destinations"),
                  "-s", node.cluster_cidr, "-j", svc_chain)
            t.add("nat", ext_chain, *_comment(f"masquerade LOCAL traffic for {sp.display} "
                                             "external destinations"),
                  "-m", "addrtype", "--src-type", "LOCAL", "-j", MARK_MASQ)
            t.add("nat", ext_chain, *_comment(f"route LOCAL traffic for {sp.display} external "
                                             "destinations"),
                  "-m", "addrtype", "--src-type", "LOCAL", "-j", svc_chain)
            t.add("nat", ext_chain, "-j", svl_chain)
        else:
            t.add("nat", ext_chain, *_comment(f"masquerade traffic for {sp.display} external "
                                             "destinations"), "-j", MARK_MASQ)
            t.add("nat", ext_chain, "-j", svc_chain)

    used = set(eps) if use_svc else set(local) if use_svl else set()
    for e in sorted(used, key=lambda e: (int(ipaddress.ip_address(e.ip)), e.port)):
        sep = seps[e]
        t.chain("nat", sep)
        t.add("nat", sep, *_comment(sp.display), "-s", f"{e.ip}/32", "-j", MARK_MASQ)
        recent: tuple[str, ...] = ()
        if sp.affinity_seconds:
            recent = ("-m", "recent", "--name", sep, "--set")
        t.add("nat", sep, *_comment(sp.display), "-p", sp.proto, *recent, "-m", sp.proto,
              "-j", "DNAT", "--to-destination", e.address)


def build_payload(services: Iterable[Obj], slices: Iterable[Obj], node: NodeInfo,
                  stale_chains: Mapping[str, Iterable[str]] | None = None) -> str:
    """The ``iptables-restore --noflush`` input that replaces every chain of ours.

    ``stale_chains`` (table -> names) are per-service chains present in the kernel; the ones
    no longer wanted are flushed and deleted in the same transaction.
    """
    slice_list = list(slices)
    t = _Tables()
    for table, names in TOP_CHAINS.items():
        for name in names:
            t.chain(table, name)
    t.add("nat", POSTROUTING, "-m", "mark", "!", "--mark", f"{MASQ_MARK}/{MASQ_MARK}",
          "-j", "RETURN")
    t.add("nat", POSTROUTING, "-j", "MARK", "--xor-mark", MASQ_MARK)
    t.add("nat", POSTROUTING, *_comment("k3trio service traffic requiring SNAT"),
          "-j", "MASQUERADE", "--random-fully")
    t.add("nat", MARK_MASQ, "-j", "MARK", "--or-mark", MASQ_MARK)
    t.add("filter", FORWARD, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
    t.add("filter", FORWARD, *_comment("k3trio forwarding rules"), "-m", "mark", "--mark",
          f"{MASQ_MARK}/{MASQ_MARK}", "-j", "ACCEPT")
    t.add("filter", FORWARD, *_comment("k3trio forwarding conntrack rule"), "-m", "conntrack",
          "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")

    ports = [sp for svc in services for sp in service_ports(svc)]
    ports.sort(key=lambda sp: (sp.namespace, sp.name, sp.port_name, sp.protocol))
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slice_list:
        meta = sl.get("metadata") or {}
        label = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if label:
            by_service.setdefault((str(meta.get("namespace")), str(label)), []).append(sl)
    for sp in ports:
        _service(t, sp, endpoints_for(sp, by_service.get((sp.namespace, sp.name), [])), node)
    t.add("nat", SERVICES, *_comment("k3trio service nodeports; NOTE: this must be the last "
                                    "rule in this chain"),
          "-m", "addrtype", "--dst-type", "LOCAL", "-j", NODEPORTS)

    lines: list[str] = []
    for table in ("filter", "nat"):
        lines.append(f"*{table}")
        wanted = t.chains[table]
        stale = sorted(set((stale_chains or {}).get(table, ())) - set(wanted))
        for name in (*wanted, *stale):
            lines.append(f":{name} - [0:0]")
        lines.extend(t.rules[table])
        lines.extend(f"-X {name}" for name in stale)
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def cleanup_payload(present: Mapping[str, Iterable[str]]) -> str:
    """The ``iptables-restore --noflush`` input that flushes and deletes the given chains
    (the built-in chains' jumps into them must be gone first)."""
    lines: list[str] = []
    for table in ("filter", "nat"):
        names = sorted(present.get(table, ()))
        if not names:
            continue
        lines.append(f"*{table}")
        lines.extend(f":{n} - [0:0]" for n in names)
        lines.extend(f"-X {n}" for n in names)
        lines.append("COMMIT")
    return "\n".join(lines) + "\n" if lines else ""


def owned_chain(name: str) -> bool:
    """Whether a chain name belongs to the service proxy."""
    return name.startswith(CHAIN_PREFIXES) or any(name in c for c in TOP_CHAINS.values())
