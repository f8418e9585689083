"""Helpers shared by the admission plugins: rejections and pod resource arithmetic.

Invariants:
- :func:`forbidden` builds ``admission.NewForbidden``'s error: ``<resource> "<name>" is
  forbidden: <text>`` for the request's group/resource (no name on generate-name creates).
- Resource lists are ``dict[str, Quantity]``; the arithmetic follows the upstream resource
  helpers (``PodRequests``/``PodLimits``): containers add up, init containers count at their
  peak, restartable (sidecar) init containers keep running alongside everything after them,
  and ``spec.overhead`` is added on top.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k3trio.api.errors import Forbidden
from k3trio.api.quantity import Quantity, QuantityError, quantity_from_json
from k3trio.apiserver.interfaces import AdmissionAttributes

ResourceList = dict[str, Quantity]

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def forbidden(attrs: AdmissionAttributes, text: str) -> Forbidden:
    """``admission.NewForbidden(a, err)``."""
    return Forbidden(attrs.resource, attrs.name, text, attrs.group)


def is_core(attrs: AdmissionAttributes, resource: str, *, subresource: str = "") -> bool:
    return attrs.group == "" and attrs.resource == resource and attrs.subresource == subresource


def spec_of(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = (obj or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def meta_of(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    meta = (obj or {}).get("metadata")
    return meta if isinstance(meta, dict) else {}


def annotations_of(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    ann = meta_of(obj).get("annotations")
    return ann if isinstance(ann, dict) else {}


def containers(spec: Mapping[str, Any], *, ephemeral: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, container) for init containers, then containers (then ephemeral containers)."""
    kinds = ["initContainers", "containers"] + (["ephemeralContainers"] if ephemeral else [])
    for kind in kinds:
        for c in spec.get(kind) or []:
            if isinstance(c, dict):
                yield kind, c


def resource_list(value: Any) -> ResourceList:
    """A decoded ``ResourceList``; unparsable entries are skipped (validation reports them)."""
    out: ResourceList = {}
    if isinstance(value, dict):
        for key, raw in value.items():
            try:
                out[str(key)] = quantity_from_json(raw)
            except QuantityError:
                continue
    return out


def container_requests(c: Mapping[str, Any]) -> ResourceList:
    return resource_list((c.get("resources") or {}).get("requests"))


def container_limits(c: Mapping[str, Any]) -> ResourceList:
    return resource_list((c.get("resources") or {}).get("limits"))


def add(into: ResourceList, other: Mapping[str, Quantity]) -> ResourceList:
    for k, v in other.items():
        into[k] = into[k] + v if k in into else v
    return into


def maximum(into: ResourceList, other: Mapping[str, Quantity]) -> ResourceList:
    for k, v in other.items():
        if k not in into or into[k] < v:
            into[k] = v
    return into


def _pod_total(spec: Mapping[str, Any], getter: Any, overhead: bool) -> ResourceList:
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        if isinstance(c, dict):
            add(total, getter(c))
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for c in spec.get("initContainers") or []:
        if not isinstance(c, dict):
            continue
        own = getter(c)
        if c.get("restartPolicy") == "Always":
            add(total, own)
            add(sidecars, own)
            current = dict(sidecars)
        else:
            current = add(add({}, own), sidecars)
        maximum(init_peak, current)
    maximum(total, init_peak)
    if overhead:
        add(total, resource_list(spec.get("overhead")))
    return total


def pod_requests(pod: Mapping[str, Any], *, overhead: bool = True) -> ResourceList:
    """``resourcehelper.PodRequests``."""
    return _pod_total(spec_of(pod), container_requests, overhead)


def pod_limits(pod: Mapping[str, Any], *, overhead: bool = True) -> ResourceList:
    """``resourcehelper.PodLimits``."""
    return _pod_total(spec_of(pod), container_limits, overhead)


def pretty(resources: Mapping[str, Quantity]) -> str:
    """``k=v`` pairs sorted by name and joined with commas (quota messages)."""
    return ",".join(f"{k}={resources[k]}" for k in sorted(resources))
