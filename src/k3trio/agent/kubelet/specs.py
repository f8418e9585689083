"""From a Pod to CRI configs: sandbox and container configs, labels, env. Pure.

Labels the kubelet puts on every sandbox and container (and reads back to re-adopt them
after a restart; upstream's names)::

    io.kubernetes.pod.name / .namespace / .uid      the pod
    io.kubernetes.container.name                    containers only

Annotations carry what the kubelet needs to rebuild its view: the container's restart
count (``io.kubernetes.container.restartCount``), termination message path, and the pod's
grace period. Container attempt numbers are the restart count.

DNS: ``ClusterFirst`` (and ``ClusterFirstWithHostNet`` on host network) use the cluster DNS
with searches ``<ns>.svc.<domain> svc.<domain> <domain>`` and ``ndots:5``; ``Default`` and
host-network ``ClusterFirst`` pods use the host's resolv.conf; ``None`` only ``dnsConfig``.
Env: ``value`` with ``$(VAR)`` expansion of earlier variables, ``fieldRef`` of the pod's
metadata and status; other sources are resolved by the caller (``extra``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...api.quantity import QuantityError, parse_quantity
from ..cri import ContainerConfig, KeyValue, MountSpec, PortMapping, SandboxConfig

__all__ = [
    "CONTAINER_NAME_LABEL",
    "POD_NAME_LABEL",
    "POD_NAMESPACE_LABEL",
    "POD_UID_LABEL",
    "RESTART_COUNT_ANNOTATION",
    "container_config",
    "expand",
    "field_ref",
    "log_directory",
    "parse_resolv_conf",
    "sandbox_config",
]

Obj = dict[str, Any]

POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount"
TERMINATION_MESSAGE_PATH_ANNOTATION = "io.kubernetes.container.terminationMessagePath"
GRACE_ANNOTATION = "io.kubernetes.pod.terminationGracePeriod"

LOG_ROOT = "/var/log/pods"


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def _spec(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("spec") or {}


def pod_labels(pod: Mapping[str, Any]) -> dict[str, str]:
    m = _meta(pod)
    return {POD_NAME_LABEL: str(m.get("name")), POD_NAMESPACE_LABEL: str(m.get("namespace")),
            POD_UID_LABEL: str(m.get("uid"))}


def log_directory(pod: Mapping[str, Any], root: str = LOG_ROOT) -> str:
    m = _meta(pod)
    return f"{root}/{m.get('namespace')}_{m.get('name')}_{m.get('uid')}"


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], list[str]]:
    """``(nameservers, searches, options)`` of a resolv.conf."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = fields[1:]
        elif fields[0] == "options":
            options.extend(fields[1:])
    return servers, searches, options


def _dns(pod: Mapping[str, Any], cluster_dns: Sequence[str], cluster_domain: str,
         host_resolv: tuple[list[str], list[str], list[str]]) -> tuple[list[str], list[str],
                                                                       list[str]]:
    spec = _spec(pod)
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_net = bool(spec.get("hostNetwork"))
    ns = _meta(pod).get("namespace")
    if policy == "None":
        servers: list[str] = []
        searches: list[str] = []
        options: list[str] = []
    elif policy == "Default" or (policy == "ClusterFirst" and host_net) or not cluster_dns:
        servers, searches, options = (list(x) for x in host_resolv)
    else:
        servers = list(cluster_dns)
        searches = [f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                    *host_resolv[1]]
        options = ["ndots:5"]
    extra = spec.get("dnsConfig") or {}
    servers += [s for s in extra.get("nameservers") or [] if s not in servers]
    searches += [s for s in extra.get("searches") or [] if s not in searches]
    for opt in extra.get("options") or []:
        name = opt.get("name")
        value = opt.get("value")
        options = [o for o in options if o.split(":", 1)[0] != name]
        options.append(f"{name}:{value}" if value is not None else str(name))
    return servers[:3], searches[:32], options


def sandbox_config(pod: Mapping[str, Any], *, attempt: int = 0, cluster_dns: Sequence[str] = (),
                   cluster_domain: str = "cluster.local",
                   host_resolv: tuple[list[str], list[str], list[str]] = ([], [], []),
                   log_root: str = LOG_ROOT) -> SandboxConfig:
    """The ``PodSandboxConfig`` of ``pod``."""
    m = _meta(pod)
    spec = _spec(pod)
    servers, searches, options = _dns(pod, cluster_dns, cluster_domain, host_resolv)
    hostname = str(spec.get("hostname") or m.get("name") or "")[:63]
    ports = []
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                ports.append(PortMapping(container_port=int(p["containerPort"]),
                                         host_port=int(p["hostPort"]),
                                         protocol=str(p.get("protocol") or "TCP"),
                                         host_ip=str(p.get("hostIP") or "")))
    sysctls = {s["name"]: str(s.get("value", ""))
               for s in (spec.get("securityContext") or {}).get("sysctls") or []}
    return SandboxConfig(
        name=str(m.get("name")), uid=str(m.get("uid")), namespace=str(m.get("namespace")),
        attempt=attempt, hostname=hostname, log_directory=log_directory(pod, log_root),
        dns_servers=servers, dns_searches=searches, dns_options=options, port_mappings=ports,
        labels={**{str(k): str(v) for k, v in (m.get("labels") or {}).items()},
                **pod_labels(pod)},
        annotations={str(k): str(v) for k, v in (m.get("annotations") or {}).items()},
        host_network=bool(spec.get("hostNetwork")), host_pid=bool(spec.get("hostPID")),
        host_ipc=bool(spec.get("hostIPC")), sysctls=sysctls,
    )


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: known names replaced, ``$$`` -> ``$``, rest kept."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)
    return _VAR.sub(sub, text)


def field_ref(pod: Mapping[str, Any], path: str, *, pod_ip: str = "", host_ip: str = "") -> str:
    """The value of a downward-API ``fieldRef``; '' for an unknown path."""
    m = _meta(pod)
    spec = _spec(pod)
    simple = {
        "metadata.name": m.get("name"), "metadata.namespace": m.get("namespace"),
        "metadata.uid": m.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": pod_ip, "status.hostIP": host_ip, "status.podIPs": pod_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((m.get(source) or {}).get(path[len(prefix) + 2:-2], ""))
    return ""


def _env(pod: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str, host_ip: str,
         extra: Mapping[str, str]) -> list[KeyValue]:
    values: dict[str, str] = dict(extra)
    for e in container.get("env") or []:
        name = str(e.get("name"))
        if "value" in e and e["value"] is not None:
            values[name] = expand(str(e["value"]), values)
        elif (e.get("valueFrom") or {}).get("fieldRef"):
            values[name] = field_ref(pod, str(e["valueFrom"]["fieldRef"].get("fieldPath")),
                                     pod_ip=pod_ip, host_ip=host_ip)
        elif name not in values:
            values[name] = ""
    return [KeyValue(k, v) for k, v in values.items()]


def _resources(container: Mapping[str, Any]) -> dict[str, Any]:
    res = container.get("resources") or {}
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    out: dict[str, int] = {}
    try:
        cpu_req = requests.get("cpu", limits.get("cpu"))
        milli = parse_quantity(str(cpu_req)).milli_value() if cpu_req is not None else 0
        out["cpu_shares"] = max(2, milli * 1024 // 1000) if milli else 2
        if "cpu" in limits:
            out["cpu_period"] = 100000
            out["cpu_quota"] = max(1000, parse_quantity(str(limits["cpu"])).milli_value() * 100)
        if "memory" in limits:
            out["memory_limit"] = parse_quantity(str(limits["memory"])).value()
    except QuantityError:
        pass
    return out


def _cap(name: Any) -> str:
    text = str(name).upper()
    return text if text == "ALL" or text.startswith("CAP_") else f"CAP_{text}"


def container_config(pod: Mapping[str, Any], container: Mapping[str, Any], *, restart_count: int,
                     image: str, pod_ip: str = "", host_ip: str = "",
                     extra_env: Mapping[str, str] | None = None,
                     env: Mapping[str, str] | None = None,
                     mounts: Sequence[MountSpec] = ()) -> ContainerConfig:
    """The ``ContainerConfig`` of one container of ``pod``.

    ``env``, when given, is the complete environment (see ``env.build_env``); otherwise only
    ``value`` and ``fieldRef`` entries are resolved, after ``extra_env``.
    """
    name = str(container.get("name"))
    if env is not None:
        envs = [KeyValue(k, v) for k, v in env.items()]
    else:
        envs = _env(pod, container, pod_ip, host_ip, extra_env or {})
    env_map = {kv.key: kv.value for kv in envs}
    psc = _spec(pod).get("securityContext") or {}
    csc = container.get("securityContext") or {}
    user = csc.get("runAsUser", psc.get("runAsUser"))
    group = csc.get("runAsGroup", psc.get("runAsGroup"))
    caps = csc.get("capabilities") or {}
    groups = [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        groups.append(int(psc["fsGroup"]))
    allow_escalation = csc.get("allowPrivilegeEscalation")
    return ContainerConfig(
        name=name, image=image, attempt=restart_count,
        command=[expand(str(a), env_map) for a in container.get("command") or []],
        args=[expand(str(a), env_map) for a in container.get("args") or []],
        working_dir=str(container.get("workingDir") or ""),
        envs=envs,
        labels={**pod_labels(pod), CONTAINER_NAME_LABEL: name},
        annotations={
            RESTART_COUNT_ANNOTATION: str(restart_count),
            TERMINATION_MESSAGE_PATH_ANNOTATION: str(
                container.get("terminationMessagePath") or "/dev/termination-log"),
            GRACE_ANNOTATION: str(_spec(pod).get("terminationGracePeriodSeconds", 30)),
        },
        log_path=f"{name}/{restart_count}.log",
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")), privileged=bool(csc.get("privileged")),
        run_as_user=int(user) if user is not None else None,
        run_as_group=int(group) if group is not None else None,
        readonly_rootfs=bool(csc.get("readOnlyRootFilesystem")),
        mounts=tuple(mounts),
        capabilities_add=tuple(_cap(c) for c in caps.get("add") or []),
        capabilities_drop=tuple(_cap(c) for c in caps.get("drop") or []),
        supplemental_groups=tuple(sorted(set(groups))),
        no_new_privs=allow_escalation is False and not csc.get("privileged"),
        **_resources(container),
    )
