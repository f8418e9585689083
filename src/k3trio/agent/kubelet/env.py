"""A container's environment, as the kubelet computes it. Pure, given the objects it names.

Order and precedence (upstream's ``makeEnvironmentVariables``):

1. ``envFrom`` sources in order: every key of the ConfigMap's ``data`` / the Secret's
   decoded ``data``, with ``prefix``; keys that are not valid variable names (empty, or with
   ``=`` or non-printable characters) are skipped and reported; a missing object fails the
   container unless ``optional``.
2. ``env`` entries in order, later ones overriding: ``value`` with ``$(VAR)`` expanded
   against the variables defined so far and then the service variables; ``fieldRef``;
   ``resourceFieldRef`` (limits default to the node's allocatable); ``configMapKeyRef`` /
   ``secretKeyRef`` (a missing object or key fails the container unless ``optional``, in
   which case the variable is left out).
3. Service variables not already defined: ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the
   docker-link style ``KUBERNETES_PORT_443_TCP...`` of the ``kubernetes`` Service in
   ``default`` always; those of every Service of the pod's namespace when
   ``enableServiceLinks`` (default true).

``EnvError`` carries the message upstream puts in the ``CreateContainerConfigError``
waiting state.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ...api.quantity import QuantityError, parse_quantity
from .specs import expand, field_ref

__all__ = [
    "EnvError",
    "NodeResources",
    "build_env",
    "env_references",
    "resource_value",
    "service_env",
]

Obj = dict[str, Any]


class EnvError(Exception):
    """The environment cannot be built (a referenced object or key is missing)."""


@attrs.frozen
class NodeResources:
    """What a container without a limit may use (the node's allocatable)."""

    cpu_millis: int = 1000
    memory: int = 1 << 30
    ephemeral_storage: int = 10 << 30


def _decode(secret: Mapping[str, Any], key: str) -> str | None:
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        text = (secret.get("stringData") or {}).get(key)
        return None if text is None else str(text)
    try:
        return base64.b64decode(raw).decode("utf-8", errors="replace")
    except (ValueError, TypeError):
        return None


def _secret_items(secret: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): _decode(secret, str(k)) or "" for k in (secret.get("data") or {})}


def _valid_name(name: str) -> bool:
    return bool(name) and "=" not in name and all(32 <= ord(ch) < 127 for ch in name)


def env_references(pod: Mapping[str, Any], container: Mapping[str, Any]
                   ) -> tuple[set[str], set[str]]:
    """The ConfigMap and Secret names the container's env and envFrom read."""
    cms: set[str] = set()
    secrets: set[str] = set()
    for src in container.get("envFrom") or []:
        if src.get("configMapRef"):
            cms.add(str(src["configMapRef"].get("name")))
        if src.get("secretRef"):
            secrets.add(str(src["secretRef"].get("name")))
    for e in container.get("env") or []:
        vf = e.get("valueFrom") or {}
        if vf.get("configMapKeyRef"):
            cms.add(str(vf["configMapKeyRef"].get("name")))
        if vf.get("secretKeyRef"):
            secrets.add(str(vf["secretKeyRef"].get("name")))
    return cms, secrets


def _find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    return None


def resource_value(pod: Mapping[str, Any], container_name: str, resource: str,
                   divisor: str | None, node: NodeResources) -> str:
    """The value of a ``resourceFieldRef`` (``limits.cpu``, ``requests.memory``, ...).

    Raises:
        EnvError: the container or resource is unknown, or a quantity is malformed.
    """
    container = _find_container(pod, container_name)
    if container is None:
        raise EnvError(f"container {container_name} not found")
    res = container.get("resources") or {}
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not name:
        raise EnvError(f"unsupported container resource : {resource}")
    defaults = {"cpu": f"{node.cpu_millis}m", "memory": str(node.memory),
                "ephemeral-storage": str(node.ephemeral_storage)}
    value = (res.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (res.get("limits") or {}).get(name)
        if value is None:
            value = "0"
    if value is None:
        value = defaults.get(name, "0")
    try:
        q = parse_quantity(str(value))
        d = parse_quantity(str(divisor or "1"))
        if name == "cpu":
            return str(math.ceil(q.milli_value() / max(1, d.milli_value())))
        return str(math.ceil(q.value() / max(1, d.value())))
    except (QuantityError, ZeroDivisionError) as exc:
        raise EnvError(f"invalid resource quantity for {resource}: {exc}") from exc


def _service_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _one_service(svc: Mapping[str, Any]) -> dict[str, str]:
    spec = svc.get("spec") or {}
    ip = str(spec.get("clusterIP") or "")
    name = _service_name(str((svc.get("metadata") or {}).get("name")))
    out: dict[str, str] = {f"{name}_SERVICE_HOST": ip}
    ports = spec.get("ports") or []
    for i, p in enumerate(ports):
        port = str(p.get("port"))
        if i == 0:
            out[f"{name}_SERVICE_PORT"] = port
        if p.get("name"):
            out[f"{name}_SERVICE_PORT_{_service_name(str(p['name']))}"] = port
    if ports:
        first = ports[0]
        proto = str(first.get("protocol") or "TCP").lower()
        url = f"{proto}://{ip}:{first.get('port')}"
        out[f"{name}_PORT"] = url
    for p in ports:
        proto = str(p.get("protocol") or "TCP")
        prefix = f"{name}_PORT_{p.get('port')}_{proto.upper()}"
        out[prefix] = f"{proto.lower()}://{ip}:{p.get('port')}"
        out[f"{prefix}_PROTO"] = proto.lower()
        out[f"{prefix}_PORT"] = str(p.get("port"))
        out[f"{prefix}_ADDR"] = ip
    return out


def service_env(services: Sequence[Mapping[str, Any]], namespace: str,
                enable_service_links: bool = True) -> dict[str, str]:
    """The service variables of a pod in ``namespace`` (see module doc, point 3)."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        ip = (svc.get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            continue
        name = str(meta.get("name"))
        if meta.get("namespace") == "default" and name == "kubernetes":
            chosen.setdefault(name, svc)
        elif meta.get("namespace") == namespace and enable_service_links:
            chosen[name] = svc
    out: dict[str, str] = {}
    for name in sorted(chosen):
        out.update(_one_service(chosen[name]))
    return out


def build_env(pod: Mapping[str, Any], container: Mapping[str, Any], *,
              configmaps: Mapping[str, Mapping[str, Any] | None],
              secrets: Mapping[str, Mapping[str, Any] | None],
              services: Mapping[str, str], pod_ip: str = "", host_ip: str = "",
              node: NodeResources = NodeResources()) -> tuple[dict[str, str], list[str]]:
    """The variables in order, and warnings about skipped ``envFrom`` keys.

    Raises:
        EnvError: a required object or key is missing (see module doc).
    """
    ns = str((pod.get("metadata") or {}).get("namespace"))
    env: dict[str, str] = {}
    warnings: list[str] = []
    for src in container.get("envFrom") or []:
        prefix = str(src.get("prefix") or "")
        if src.get("configMapRef"):
            ref, kind = src["configMapRef"], "configMap"
            obj = configmaps.get(str(ref.get("name")))
            items = {str(k): str(v) for k, v in ((obj or {}).get("data") or {}).items()}
        elif src.get("secretRef"):
            ref, kind = src["secretRef"], "secret"
            obj = secrets.get(str(ref.get("name")))
            items = _secret_items(obj or {})
        else:
            continue
        if obj is None:
            if ref.get("optional"):
                continue
            raise EnvError(f'{kind.lower()} "{ref.get("name")}" not found')
        invalid = []
        for key, value in items.items():
            name = prefix + key
            if not _valid_name(name):
                invalid.append(name)
                continue
            env[name] = value
        if invalid:
            warnings.append(f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind} "
                            f"{ns}/{ref.get('name')} were skipped since they are considered "
                            f"invalid environment variable names.")
    for e in container.get("env") or []:
        name = str(e.get("name"))
        vf = e.get("valueFrom") or {}
        if "value" in e and e["value"] is not None or not vf:
            env[name] = expand(str(e.get("value") or ""), {**services, **env})
        elif vf.get("fieldRef"):
            env[name] = field_ref(pod, str(vf["fieldRef"].get("fieldPath")), pod_ip=pod_ip,
                                  host_ip=host_ip)
        elif vf.get("resourceFieldRef"):
            ref = vf["resourceFieldRef"]
            env[name] = resource_value(pod, str(ref.get("containerName") or container["name"]),
                                       str(ref.get("resource")), ref.get("divisor"), node)
        elif vf.get("configMapKeyRef") or vf.get("secretKeyRef"):
            is_cm = bool(vf.get("configMapKeyRef"))
            ref = vf["configMapKeyRef"] if is_cm else vf["secretKeyRef"]
            oname, key = str(ref.get("name")), str(ref.get("key"))
            obj = (configmaps if is_cm else secrets).get(oname)
            kind = "configmap" if is_cm else "secret"
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'{kind} "{oname}" not found')
            found: str | None = ((obj.get("data") or {}).get(key) if is_cm
                                 else _decode(obj, key))
            if found is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f"couldn't find key {key} in {'ConfigMap' if is_cm else 'Secret'}"
                               f" {ns}/{oname}")
            env[name] = found
    for name, value in services.items():
        env.setdefault(name, value)
    return env, warnings
