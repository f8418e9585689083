"""Builders for the Pod/Node/PV objects the scheduler tests feed in (plain API dicts)."""

from __future__ import annotations

from typing import Any


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
              labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
              unschedulable: bool = False, images: list[tuple[list[str], int]] | None = None,
              extra: dict[str, str] | None = None) -> dict[str, Any]:
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    node: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {},
        "status": {"allocatable": alloc, "capacity": dict(alloc)},
    }
    if taints:
        node["spec"]["taints"] = taints
    if unschedulable:
        node["spec"]["unschedulable"] = True
    if images:
        node["status"]["images"] = [{"names": names, "sizeBytes": size} for names, size in images]
    return node


def make_pod(name: str, *, namespace: str = "default", cpu: str | None = None, memory: str | None = None,
             labels: dict[str, str] | None = None, node: str | None = None, priority: int | None = None,
             image: str = "registry.k8s.io/pause:3.10", start: str | None = None, **spec: Any) -> dict[str, Any]:
    requests: dict[str, str] = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    container: dict[str, Any] = {"name": "c", "image": image}
    if requests:
        container["resources"] = {"requests": requests}
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "uid": f"uid-{name}"},
        "spec": {"containers": [container], **spec},
        "status": {"phase": "Pending"},
    }
    if node:
        pod["spec"]["nodeName"] = node
        pod["status"]["phase"] = "Running"
    if priority is not None:
        pod["spec"]["priority"] = priority
    if start:
        pod["status"]["startTime"] = start
    return pod


def taint(key: str, effect: str = "NoSchedule", value: str | None = None) -> dict[str, Any]:
    t = {"key": key, "effect": effect}
    if value is not None:
        t["value"] = value
    return t


def term(topology_key: str, match_labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": match_labels}, "topologyKey": topology_key, **extra}
