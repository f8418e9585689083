"""The scheduler's view of the cluster: nodes with the pods assigned to them.

Built from plain API objects (``dict`` as the API returns them). A :class:`Snapshot` is taken
at the start of every scheduling cycle; :meth:`NodeInfo.add_pod` / :meth:`NodeInfo.remove_pod`
keep a node's totals right when a pod is assumed, bound or deleted, and preemption works on
copies (:meth:`NodeInfo.clone`).

Invariants:
- ``requested`` is the sum of :func:`pod_requests` over ``pods``; ``non_zero_requested`` the same
  with upstream's scoring defaults for a container that requests no cpu (100m) or memory
  (200Mi); ``used_ports`` is the multiset of host ports of ``pods``.
- Resource amounts are integers: ``cpu`` in millicores, every other resource in whole units
  (``Quantity.value()``), as ``framework.Resource`` holds them.
- A pod's requests are ``max(sum of containers + sidecars, max over init containers)`` plus the
  pod overhead; pod-level ``spec.resources.requests`` win for the resources they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from k3trio.api.labels import NOTHING, Selector, SelectorError, from_label_selector
from k3trio.api.quantity import QuantityError, quantity_from_json

__all__ = [
    "AffinityTerm",
    "NodeInfo",
    "PodInfo",
    "Snapshot",
    "WeightedTerm",
    "build_spread_selectors",
    "parse_resources",
    "pod_key",
    "pod_requests",
]

CPU, MEMORY, EPHEMERAL, PODS = "cpu", "memory", "ephemeral-storage", "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

Resources = dict[str, int]
Obj = Mapping[str, Any]


def parse_resources(values: Mapping[str, Any] | None) -> Resources:
    """A ``ResourceList`` to integers (cpu in millicores); unparsable amounts count as zero."""
    out: Resources = {}
    for name, raw in (values or {}).items():
        try:
            q = quantity_from_json(raw)
        except QuantityError:
            continue
        out[name] = q.milli_value() if name == CPU else q.value()
    return out


def _add(into: Resources, other: Mapping[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


def _max(into: Resources, other: Mapping[str, int]) -> None:
    for k, v in other.items():
        if v > into.get(k, 0):
            into[k] = v


def _container_requests(c: Obj, non_zero: bool) -> Resources:
    reqs = parse_resources((c.get("resources") or {}).get("requests"))
    if non_zero:
        if not reqs.get(CPU):
            reqs[CPU] = DEFAULT_MILLI_CPU_REQUEST
        if not reqs.get(MEMORY):
            reqs[MEMORY] = DEFAULT_MEMORY_REQUEST
    return reqs


def pod_requests(pod: Obj, *, non_zero: bool = False) -> Resources:
    """``resourcehelper.PodRequests``: what the pod asks of a node.

    Args:
        pod: a Pod object.
        non_zero: fill in the scoring defaults (100m cpu, 200Mi memory) for containers that
            request none, as ``NonMissingContainerRequests`` does for scoring.
    """
    spec = pod.get("spec") or {}
    reqs: Resources = {}
    for c in spec.get("containers") or ():
        _add(reqs, _container_requests(c, non_zero))
    sidecars: Resources = {}
    init_max: Resources = {}
    for c in spec.get("initContainers") or ():
        creq = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            _add(sidecars, creq)
            step = dict(sidecars)
        else:
            step = dict(creq)
            _add(step, sidecars)
        _max(init_max, step)
    _add(reqs, sidecars)
    _max(reqs, init_max)
    pod_level = parse_resources((spec.get("resources") or {}).get("requests"))
    for name in (CPU, MEMORY):
        if name in pod_level:
            reqs[name] = pod_level[name]
    _add(reqs, parse_resources(spec.get("overhead")))
    return reqs


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def build_spread_selectors(services: Iterable[Obj], workloads: Iterable[Obj]) -> list[tuple[str, Selector]]:
    """(namespace, selector) of Services, ReplicationControllers (map selectors), ReplicaSets
    and StatefulSets (``LabelSelector``), for default topology spreading."""
    out: list[tuple[str, Selector]] = []
    for obj in [*services, *workloads]:
        raw = (obj.get("spec") or {}).get("selector")
        if not raw:
            continue
        is_label_selector = set(raw) <= {"matchLabels", "matchExpressions"}
        sel = _selector(raw) if is_label_selector else _selector({"matchLabels": raw})
        out.append((str((obj.get("metadata") or {}).get("namespace") or "default"), sel))
    return out


def _selector(obj: Mapping[str, Any] | None) -> Selector:
    try:
        return from_label_selector(obj)
    except SelectorError:
        return NOTHING


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A parsed ``PodAffinityTerm`` (``framework.AffinityTerm``)."""

    namespaces: frozenset[str]
    selector: Selector
    topology_key: str
    namespace_selector: Selector = NOTHING

    def matches(self, namespace: str, labels: Mapping[str, str], ns_labels: Mapping[str, str] | None) -> bool:
        in_ns = namespace in self.namespaces or (
            ns_labels is not None and not self.namespace_selector.nothing and self.namespace_selector.matches(ns_labels)
        )
        return in_ns and self.selector.matches(labels)

    @classmethod
    def parse(cls, term: Obj, pod_namespace: str) -> AffinityTerm:
        namespaces = frozenset(term.get("namespaces") or ())
        raw_ns_sel = term.get("namespaceSelector")
        if not namespaces and raw_ns_sel is None:
            namespaces = frozenset((pod_namespace,))
        return cls(namespaces, _selector(term.get("labelSelector")), term.get("topologyKey", ""), _selector(raw_ns_sel))


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    term: AffinityTerm
    weight: int


def _terms(raw: Iterable[Obj] | None, ns: str) -> tuple[AffinityTerm, ...]:
    return tuple(AffinityTerm.parse(t, ns) for t in raw or ())


def _weighted(raw: Iterable[Obj] | None, ns: str) -> tuple[WeightedTerm, ...]:
    return tuple(
        WeightedTerm(AffinityTerm.parse(w.get("podAffinityTerm") or {}, ns), int(w.get("weight", 0))) for w in raw or ()
    )


def _host_ports(spec: Obj) -> tuple[tuple[str, str, int], ...]:
    ports: list[tuple[str, str, int]] = []
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for c in containers:
        for p in c.get("ports") or ():
            hp = p.get("hostPort") or 0
            if hp > 0:
                ports.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(hp)))
    return tuple(ports)


@dataclass(eq=False, slots=True)
class PodInfo:
    """A pod with everything filters and scores read from it, parsed once."""

    pod: Obj
    key: str
    namespace: str
    labels: Mapping[str, str]
    priority: int
    requests: Resources
    non_zero_requests: Resources
    host_ports: tuple[tuple[str, str, int], ...]
    required_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[WeightedTerm, ...]
    preferred_anti_affinity: tuple[WeightedTerm, ...]
    terminating: bool
    start_time: str

    @classmethod
    def of(cls, pod: Obj) -> PodInfo:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        ns = meta.get("namespace") or "default"
        aff = spec.get("affinity") or {}
        pa = aff.get("podAffinity") or {}
        paa = aff.get("podAntiAffinity") or {}
        status = pod.get("status") or {}
        return cls(
            pod=pod,
            key=pod_key(pod),
            namespace=ns,
            labels=meta.get("labels") or {},
            priority=int(spec.get("priority") or 0),
            requests=pod_requests(pod),
            non_zero_requests=pod_requests(pod, non_zero=True),
            host_ports=_host_ports(spec),
            required_affinity=_terms(pa.get("requiredDuringSchedulingIgnoredDuringExecution"), ns),
            required_anti_affinity=_terms(paa.get("requiredDuringSchedulingIgnoredDuringExecution"), ns),
            preferred_affinity=_weighted(pa.get("preferredDuringSchedulingIgnoredDuringExecution"), ns),
            preferred_anti_affinity=_weighted(paa.get("preferredDuringSchedulingIgnoredDuringExecution"), ns),
            terminating=meta.get("deletionTimestamp") is not None,
            start_time=status.get("startTime") or meta.get("creationTimestamp") or "",
        )

    @property
    def name(self) -> str:
        return str((self.pod.get("metadata") or {}).get("name", ""))

    @property
    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity or self.required_anti_affinity or self.preferred_affinity or self.preferred_anti_affinity
        )


def _as_podinfo(pod: Obj | PodInfo) -> PodInfo:
    return pod if isinstance(pod, PodInfo) else PodInfo.of(pod)


class NodeInfo:
    """One node and the pods the scheduler believes are on it."""

    __slots__ = ("node", "name", "labels", "taints", "unschedulable", "allocatable", "requested",
                 "non_zero_requested", "pods", "used_ports", "images", "generation", "match_cache",
                 "with_affinity", "with_required_anti_affinity")  # fmt: skip

    def __init__(self, node: Obj, pods: Iterable[Obj | PodInfo] = ()) -> None:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        self.node = node
        self.name: str = meta.get("name", "")
        self.labels: Mapping[str, str] = meta.get("labels") or {}
        self.taints: list[Obj] = list(spec.get("taints") or ())
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable: Resources = parse_resources(status.get("allocatable"))
        self.images: dict[str, int] = {}
        for image in status.get("images") or ():
            for n in image.get("names") or ():
                self.images[n] = int(image.get("sizeBytes") or 0)
        self.requested: Resources = {}
        self.non_zero_requested: Resources = {}
        self.pods: dict[str, PodInfo] = {}
        self.used_ports: dict[tuple[str, str, int], int] = {}
        self.generation = 0
        # (namespace, selector) -> (generation, matching pods): memo for topology spreading
        self.match_cache: dict[tuple[str, Selector], tuple[int, int]] = {}
        self.with_affinity = 0  # pods with any (anti-)affinity term
        self.with_required_anti_affinity = 0
        for p in pods:
            self.add_pod(p)

    def add_pod(self, pod: Obj | PodInfo) -> PodInfo:
        """Account for a pod (assume/bind); re-adding the same key replaces it."""
        pi = _as_podinfo(pod)
        if pi.key in self.pods:
            self.remove_pod(pi.key)
        self.pods[pi.key] = pi
        _add(self.requested, pi.requests)
        _add(self.non_zero_requested, pi.non_zero_requests)
        for port in pi.host_ports:
            self.used_ports[port] = self.used_ports.get(port, 0) + 1
        self.with_affinity += pi.has_affinity
        self.with_required_anti_affinity += bool(pi.required_anti_affinity)
        self.generation += 1
        return pi

    def remove_pod(self, pod: Obj | PodInfo | str) -> PodInfo | None:
        """Forget a pod (deleted, or a preemption victim); unknown pods are ignored."""
        key = pod if isinstance(pod, str) else (pod.key if isinstance(pod, PodInfo) else pod_key(pod))
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        for k, v in pi.requests.items():
            self.requested[k] = self.requested.get(k, 0) - v
        for k, v in pi.non_zero_requests.items():
            self.non_zero_requested[k] = self.non_zero_requested.get(k, 0) - v
        for port in pi.host_ports:
            left = self.used_ports.get(port, 0) - 1
            if left > 0:
                self.used_ports[port] = left
            else:
                self.used_ports.pop(port, None)
        self.with_affinity -= pi.has_affinity
        self.with_required_anti_affinity -= bool(pi.required_anti_affinity)
        self.generation += 1
        return pi

    def clone(self) -> NodeInfo:
        copy = NodeInfo.__new__(NodeInfo)
        copy.node, copy.name, copy.labels, copy.taints = self.node, self.name, self.labels, self.taints
        copy.unschedulable, copy.allocatable, copy.images = self.unschedulable, self.allocatable, self.images
        copy.requested = dict(self.requested)
        copy.non_zero_requested = dict(self.non_zero_requested)
        copy.pods = dict(self.pods)
        copy.used_ports = dict(self.used_ports)
        copy.generation = self.generation
        copy.match_cache = dict(self.match_cache)
        copy.with_affinity = self.with_affinity
        copy.with_required_anti_affinity = self.with_required_anti_affinity
        return copy

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={len(self.pods)})"


@dataclass
class Snapshot:
    """Nodes (in list order), their pods, and the cluster objects some plugins read.

    Args of :meth:`build`: nodes and pods as API objects; pods without ``spec.nodeName`` or on
    an unknown node and pods that finished (``Succeeded``/``Failed``) are left out.
    """

    nodes: list[NodeInfo]
    by_name: dict[str, NodeInfo]
    namespace_labels: dict[str, Mapping[str, str]] = field(default_factory=dict)
    pvcs: dict[str, Obj] = field(default_factory=dict)  # "ns/name" -> PVC
    pvs: dict[str, Obj] = field(default_factory=dict)
    storage_classes: dict[str, Obj] = field(default_factory=dict)
    spread_selectors: list[tuple[str, Selector]] = field(default_factory=list)  # (namespace, selector)
    pdbs: list[Obj] = field(default_factory=list)
    nominated: dict[str, list[PodInfo]] = field(default_factory=dict)  # node -> pods nominated there
    image_counts: dict[str, int] | None = None  # computed on first use

    @classmethod
    def build(
        cls,
        nodes: Iterable[Obj],
        pods: Iterable[Obj] = (),
        *,
        namespaces: Iterable[Obj] = (),
        pvcs: Iterable[Obj] = (),
        pvs: Iterable[Obj] = (),
        storage_classes: Iterable[Obj] = (),
        services: Iterable[Obj] = (),
        workloads: Iterable[Obj] = (),
        pdbs: Iterable[Obj] = (),
    ) -> Snapshot:
        """Build a snapshot.

        ``services`` and ``workloads`` (ReplicaSets, StatefulSets, ReplicationControllers) give
        the selectors of the default topology spreading; ``pdbs`` are PodDisruptionBudgets for
        preemption. Pods with a ``status.nominatedNodeName`` and no node are recorded as
        nominated.
        """
        infos = [NodeInfo(n) for n in nodes]
        by_name = {n.name: n for n in infos}
        nominated: list[Obj] = []
        for pod in pods:
            spec = pod.get("spec") or {}
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                continue
            node = by_name.get(spec.get("nodeName") or "")
            if node is not None:
                node.add_pod(pod)
            elif (pod.get("status") or {}).get("nominatedNodeName"):
                nominated.append(pod)
        return cls.from_infos(infos, nominated=nominated, namespaces=namespaces, pvcs=pvcs, pvs=pvs,
                              storage_classes=storage_classes, services=services, workloads=workloads, pdbs=pdbs)

    @classmethod
    def from_infos(
        cls,
        nodes: list[NodeInfo],
        *,
        nominated: Iterable[Obj | PodInfo] | Mapping[str, Iterable[Obj | PodInfo]] = (),
        namespaces: Iterable[Obj] = (),
        pvcs: Iterable[Obj] = (),
        pvs: Iterable[Obj] = (),
        storage_classes: Iterable[Obj] = (),
        services: Iterable[Obj] = (),
        workloads: Iterable[Obj] = (),
        pdbs: Iterable[Obj] = (),
        spread_selectors: Iterable[tuple[str, Selector]] | None = None,
    ) -> Snapshot:
        """A snapshot over existing :class:`NodeInfo` objects (not copied: the scheduler cache's
        own, valid for one synchronous cycle). ``nominated`` is either node name -> pods (the
        queue's nominator) or pods carrying ``status.nominatedNodeName``; ``spread_selectors``
        (from :func:`build_spread_selectors`) replaces ``services``/``workloads`` when given."""
        snap = cls(nodes, {n.name: n for n in nodes})
        if isinstance(nominated, Mapping):
            for node_name, pods in nominated.items():
                snap.nominated[node_name] = [_as_podinfo(p) for p in pods]
        else:
            for pod in nominated:
                pi = _as_podinfo(pod)
                node_name = (pi.pod.get("status") or {}).get("nominatedNodeName")
                if node_name:
                    snap.nominated.setdefault(node_name, []).append(pi)
        for ns in namespaces:
            meta = ns.get("metadata") or {}
            snap.namespace_labels[meta.get("name", "")] = meta.get("labels") or {}
        for pvc in pvcs:
            snap.pvcs[pod_key(pvc)] = pvc
        for pv in pvs:
            snap.pvs[(pv.get("metadata") or {}).get("name", "")] = pv
        for sc in storage_classes:
            snap.storage_classes[(sc.get("metadata") or {}).get("name", "")] = sc
        snap.spread_selectors = (
            list(spread_selectors) if spread_selectors is not None else build_spread_selectors(services, workloads)
        )
        snap.pdbs = list(pdbs)
        return snap

    def get(self, name: str) -> NodeInfo | None:
        return self.by_name.get(name)

    def image_node_counts(self) -> dict[str, int]:
        """How many nodes hold each image name (for ImageLocality's spread factor)."""
        if self.image_counts is None:
            counts: dict[str, int] = {}
            for n in self.nodes:
                for name in n.images:
                    counts[name] = counts.get(name, 0) + 1
            self.image_counts = counts
        return self.image_counts

    def namespace_labels_of(self, namespace: str) -> Mapping[str, str]:
        return self.namespace_labels.get(namespace, {})
