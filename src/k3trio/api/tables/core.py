"""Table printers for the core (``""``) group: the columns and cells ``kubectl get`` shows.

Rows are always computed with the wide columns included, as the API server does; clients hide
priority-1 columns unless asked for ``-o wide``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from k3trio.api.meta import parse_time
from k3trio.api.tables._common import (
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    NAME_COL,
    Obj,
    Printer,
    age,
    col,
    doc,
    format_labels,
    get,
    layout_containers,
    name_of,
)
from k3trio.api.tables.duration import human_duration, translate_timestamp_since

NODE_UNREACHABLE_POD_REASON = "NodeLost"

# -- pods -------------------------------------------------------------------------------------

POD_SUCCEEDED_CONDITIONS = [
    {"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}
]
POD_FAILED_CONDITIONS = [
    {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
]


def _is_restartable_init(container: Obj | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _has_condition(pod: Obj, ctype: str) -> bool:
    for c in get(pod, "status", "conditions", default=[]):
        if c.get("type") == ctype and c.get("status") == "True":
            return True
    return False


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two RFC 3339 timestamps (None is the zero time)."""
    if not b:
        return a
    if not a:
        return b
    try:
        return b if parse_time(a) < parse_time(b) else a
    except ValueError:
        return a


def pod_status_reason(pod: Obj) -> tuple[str, int, int, int, str | None]:
    """The STATUS, ready count, total containers, restarts and last restart time of a pod.

    The same decision order as upstream's pod printer: the phase (or status reason), then
    scheduling gates, then the first unfinished init container, then the regular containers
    from last to first, then deletion.
    """
    spec = get(pod, "spec", default={})
    status = get(pod, "status", default={})
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(
        1 for c in init_specs.values() if _is_restartable_init(c)
    )
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: str | None = None
    sidecar_last_restart: str | None = None
    n_init = len(spec.get("initContainers") or [])

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        finished = get(cs, "lastState", "terminated", "finishedAt")
        if get(cs, "lastState", "terminated") is not None:
            last_restart = _later(last_restart, finished)
        restartable = _is_restartable_init(init_specs.get(cs.get("name")))
        if restartable:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if get(cs, "lastState", "terminated") is not None:
                sidecar_last_restart = _later(sidecar_last_restart, finished)
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if restartable and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{term.get('exitCode') or 0}"
            else:
                reason = "Init:" + term["reason"]
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _has_condition(pod, "Initialized"):
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            if get(cs, "lastState", "terminated") is not None:
                last_restart = _later(last_restart, get(cs, "lastState", "terminated", "finishedAt"))
            state = cs.get("state") or {}
            waiting, term, running = state.get("waiting"), state.get("terminated"), state.get("running")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                if term.get("signal"):
                    reason = f"Signal:{term['signal']}"
                else:
                    reason = f"ExitCode:{term.get('exitCode') or 0}"
            elif cs.get("ready") and running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(pod, "Ready") else "NotReady"

    deleting = bool(get(pod, "metadata", "deletionTimestamp"))
    if deleting and status.get("reason") == NODE_UNREACHABLE_POD_REASON:
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def _pod_row(pod: Obj, now: datetime) -> tuple[list[Any], list[dict[str, str]] | None]:
    reason, ready, total, restarts, last_restart = pod_status_reason(pod)
    restarts_text = str(restarts)
    if restarts != 0 and last_restart:
        restarts_text = f"{restarts} ({translate_timestamp_since(last_restart, now)} ago)"
    status = get(pod, "status", default={})
    pod_ip = get(status, "podIPs", 0, "ip") or "<none>"
    node = get(pod, "spec", "nodeName") or "<none>"
    nominated = status.get("nominatedNodeName") or "<none>"
    gates = get(pod, "spec", "readinessGates", default=[])
    readiness = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in status.get("conditions") or []:
                if cond.get("type") == gate.get("conditionType"):
                    if cond.get("status") == "True":
                        true_count += 1
                    break
        readiness = f"{true_count}/{len(gates)}"
    conditions = None
    if status.get("phase") == "Succeeded":
        conditions = POD_SUCCEEDED_CONDITIONS
    elif status.get("phase") == "Failed":
        conditions = POD_FAILED_CONDITIONS
    cells = [name_of(pod), f"{ready}/{total}", reason, restarts_text, age(pod, now),
             pod_ip, node, nominated, readiness]
    return cells, conditions


PODS = Printer(
    (
        NAME_COL,
        col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        col("Status", "string", "The aggregate status of the containers in this pod."),
        col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
        AGE_COL,
        col("IP", "string", doc("core.v1.PodStatus", "podIP"), priority=1),
        col("Node", "string", doc("core.v1.PodSpec", "nodeName"), priority=1),
        col("Nominated Node", "string", doc("core.v1.PodStatus", "nominatedNodeName"), priority=1),
        col("Readiness Gates", "string", doc("core.v1.PodSpec", "readinessGates"), priority=1),
    ),
    _pod_row,
)

PODTEMPLATES = Printer(
    (
        NAME_COL,
        col("Containers", "string", "Names of each container in the template."),
        col("Images", "string", "Images referenced by each container in the template."),
        col("Pod Labels", "string", "The labels for the pod template."),
    ),
    lambda o, now: (
        [name_of(o), *layout_containers(get(o, "template", "spec", "containers")),
         format_labels(get(o, "template", "metadata", "labels"))],
        None,
    ),
)

REPLICATIONCONTROLLERS = Printer(
    (
        NAME_COL,
        col("Desired", "integer", doc("core.v1.ReplicationControllerSpec", "replicas")),
        col("Current", "integer", doc("core.v1.ReplicationControllerStatus", "replicas")),
        col("Ready", "integer", doc("core.v1.ReplicationControllerStatus", "readyReplicas")),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("core.v1.ReplicationControllerSpec", "selector"), priority=1),
    ),
    lambda o, now: (
        [name_of(o), int(get(o, "spec", "replicas", default=0)), int(get(o, "status", "replicas", default=0)),
         int(get(o, "status", "readyReplicas", default=0)), age(o, now),
         *layout_containers(get(o, "spec", "template", "spec", "containers")),
         format_labels(get(o, "spec", "selector"))],
        None,
    ),
)

# -- services and endpoints -----------------------------------------------------------------


def _lb_status(status: Obj | None) -> str:
    found: set[str] = set()
    for ing in get(status, "ingress", default=[]):
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    return ",".join(sorted(found))


def service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    stype = spec.get("type") or ""
    external = list(spec.get("externalIPs") or [])
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = _lb_status(get(svc, "status", "loadBalancer"))
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    if stype == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def service_ports(ports: list[Obj] | None) -> str:
    pieces = []
    for p in ports or []:
        proto = p.get("protocol") or ""
        if p.get("nodePort"):
            pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def _service_row(svc: Obj, now: datetime) -> tuple[list[Any], None]:
    spec = svc.get("spec") or {}
    cluster_ip = get(spec, "clusterIPs", 0) or "<none>"
    ports = service_ports(spec.get("ports")) or "<none>"
    return [name_of(svc), spec.get("type") or "", cluster_ip, service_external_ip(svc), ports,
            age(svc, now), format_labels(spec.get("selector"))], None


SERVICES = Printer(
    (
        NAME_COL,
        col("Type", "string", doc("core.v1.ServiceSpec", "type")),
        col("Cluster-IP", "string", doc("core.v1.ServiceSpec", "clusterIP")),
        col("External-IP", "string", doc("core.v1.ServiceSpec", "externalIPs")),
        col("Port(s)", "string", doc("core.v1.ServiceSpec", "ports")),
        AGE_COL,
        col("Selector", "string", doc("core.v1.ServiceSpec", "selector"), priority=1),
    ),
    _service_row,
)


def _join_host_port(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(ep: Obj) -> str:
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    items: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        addrs = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == limit:
                    more = True
                    break
                items.append(str(a.get("ip", "")))
            continue
        for port in ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == limit:
                    more = True
                    break
                items.append(_join_host_port(str(a.get("ip", "")), port.get("port")))
    ret = ",".join(items)
    if more:
        return f"{ret} + {count - limit} more..."
    return ret


ENDPOINTS = Printer(
    (NAME_COL, col("Endpoints", "string", doc("core.v1.Endpoints", "subsets")), AGE_COL),
    lambda o, now: ([name_of(o), format_endpoints(o), age(o, now)], None),
)

# -- nodes and namespaces -------------------------------------------------------------------


def node_roles(node: Obj) -> list[str]:
    roles: set[str] = set()
    for k, v in (get(node, "metadata", "labels", default={}) or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            role = k[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for a in get(node, "status", "addresses", default=[]):
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def _node_row(node: Obj, now: datetime) -> tuple[list[Any], None]:
    status: list[str] = []
    for cond in get(node, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            status = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if get(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    info = get(node, "status", "nodeInfo", default={})
    return [
        name_of(node), ",".join(status), ",".join(node_roles(node)) or "<none>", age(node, now),
        info.get("kubeletVersion") or "",
        _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ], None


NODES = Printer(
    (
        NAME_COL,
        col("Status", "string", "The status of the node"),
        col("Roles", "string", "The roles of the node"),
        AGE_COL,
        col("Version", "string", doc("core.v1.NodeSystemInfo", "kubeletVersion")),
        col("Internal-IP", "string", doc("core.v1.NodeStatus", "addresses"), priority=1),
        col("External-IP", "string", doc("core.v1.NodeStatus", "addresses"), priority=1),
        col("OS-Image", "string", doc("core.v1.NodeSystemInfo", "osImage"), priority=1),
        col("Kernel-Version", "string", doc("core.v1.NodeSystemInfo", "kernelVersion"), priority=1),
        col("Container-Runtime", "string", doc("core.v1.NodeSystemInfo", "containerRuntimeVersion"), priority=1),
    ),
    _node_row,
)

NAMESPACES = Printer(
    (NAME_COL, col("Status", "string", "The status of the namespace"), AGE_COL),
    lambda o, now: ([name_of(o), get(o, "status", "phase", default=""), age(o, now)], None),
)

# -- config ---------------------------------------------------------------------------------

CONFIGMAPS = Printer(
    (NAME_COL, col("Data", "string", doc("core.v1.ConfigMap", "data")), AGE_COL),
    lambda o, now: (
        [name_of(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o, now)],
        None,
    ),
)

SECRETS = Printer(
    (
        NAME_COL,
        col("Type", "string", doc("core.v1.Secret", "type")),
        col("Data", "string", doc("core.v1.Secret", "data")),
        AGE_COL,
    ),
    lambda o, now: ([name_of(o), o.get("type") or "", len(o.get("data") or {}), age(o, now)], None),
)

SERVICEACCOUNTS = Printer(
    (NAME_COL, col("Secrets", "string", doc("core.v1.ServiceAccount", "secrets")), AGE_COL),
    lambda o, now: ([name_of(o), len(o.get("secrets") or []), age(o, now)], None),
)

# -- events ---------------------------------------------------------------------------------


def _event_source(obj: Obj) -> str:
    component = get(obj, "source", "component") or obj.get("reportingComponent") or ""
    instance = get(obj, "source", "host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def _event_row(ev: Obj, now: datetime) -> tuple[list[Any], None]:
    first = translate_timestamp_since(ev.get("firstTimestamp"), now)
    if not ev.get("firstTimestamp"):
        first = translate_timestamp_since(ev.get("eventTime"), now)
    last = translate_timestamp_since(ev.get("lastTimestamp"), now)
    if not ev.get("lastTimestamp"):
        last = first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series:
        last = translate_timestamp_since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last, ev.get("type") or "", ev.get("reason") or "", target,
        involved.get("fieldPath") or "", _event_source(ev), str(ev.get("message") or "").strip(),
        first, count, name_of(ev),
    ], None


EVENTS = Printer(
    (
        col("Last Seen", "string", doc("core.v1.Event", "lastTimestamp")),
        col("Type", "string", doc("core.v1.Event", "type")),
        col("Reason", "string", doc("core.v1.Event", "reason")),
        col("Object", "string", doc("core.v1.Event", "involvedObject")),
        col("Subobject", "string", doc("core.v1.ObjectReference", "fieldPath"), priority=1),
        col("Source", "string", doc("core.v1.Event", "source"), priority=1),
        col("Message", "string", doc("core.v1.Event", "message")),
        col("First Seen", "string", doc("core.v1.Event", "firstTimestamp"), priority=1),
        col("Count", "string", doc("core.v1.Event", "count"), priority=1),
        col("Name", "string", doc("meta.v1.ObjectMeta", "name"), fmt="name", priority=1),
    ),
    _event_row,
)

# -- storage --------------------------------------------------------------------------------

_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[str] | None) -> str:
    present = set(modes or [])
    return ",".join(short for full, short in _ACCESS_MODES if full in present)


_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _pv_row(pv: Obj, now: datetime) -> tuple[list[Any], None]:
    spec = pv.get("spec") or {}
    claim = ""
    if spec.get("claimRef") is not None:
        claim = f"{spec['claimRef'].get('namespace', '')}/{spec['claimRef'].get('name', '')}"
    phase = get(pv, "status", "phase", default="")
    if get(pv, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    ann = get(pv, "metadata", "annotations", default={})
    klass = ann.get(_BETA_CLASS_ANNOTATION) if _BETA_CLASS_ANNOTATION in ann else spec.get("storageClassName") or ""
    return [
        name_of(pv), str(get(spec, "capacity", "storage", default="0")), access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy") or "", phase, claim, klass,
        spec.get("volumeAttributesClassName") or "<unset>", get(pv, "status", "reason", default=""),
        age(pv, now), spec.get("volumeMode") or "<unset>",
    ], None


PERSISTENTVOLUMES = Printer(
    (
        NAME_COL,
        col("Capacity", "string", doc("core.v1.PersistentVolumeSpec", "capacity")),
        col("Access Modes", "string", doc("core.v1.PersistentVolumeSpec", "accessModes")),
        col("Reclaim Policy", "string", doc("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
        col("Status", "string", doc("core.v1.PersistentVolumeStatus", "phase")),
        col("Claim", "string", doc("core.v1.PersistentVolumeSpec", "claimRef")),
        col("StorageClass", "string", "StorageClass of the pv"),
        col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
        col("Reason", "string", doc("core.v1.PersistentVolumeStatus", "reason")),
        AGE_COL,
        col("VolumeMode", "string", doc("core.v1.PersistentVolumeSpec", "volumeMode"), priority=1),
    ),
    _pv_row,
)


def _pvc_row(pvc: Obj, now: datetime) -> tuple[list[Any], None]:
    spec = pvc.get("spec") or {}
    phase = get(pvc, "status", "phase", default="")
    if get(pvc, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(get(pvc, "status", "accessModes"))
        capacity = str(get(pvc, "status", "capacity", "storage", default="0"))
    ann = get(pvc, "metadata", "annotations", default={})
    klass = ann.get(_BETA_CLASS_ANNOTATION) if _BETA_CLASS_ANNOTATION in ann else spec.get("storageClassName") or ""
    return [
        name_of(pvc), phase, spec.get("volumeName") or "", capacity, modes, klass,
        spec.get("volumeAttributesClassName") or "<unset>", age(pvc, now), spec.get("volumeMode") or "<unset>",
    ], None


PERSISTENTVOLUMECLAIMS = Printer(
    (
        NAME_COL,
        col("Status", "string", doc("core.v1.PersistentVolumeClaimStatus", "phase")),
        col("Volume", "string", doc("core.v1.PersistentVolumeClaimSpec", "volumeName")),
        col("Capacity", "string", doc("core.v1.PersistentVolumeClaimStatus", "capacity")),
        col("Access Modes", "string", doc("core.v1.PersistentVolumeClaimStatus", "accessModes")),
        col("StorageClass", "string", "StorageClass of the pvc"),
        col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        AGE_COL,
        col("VolumeMode", "string", doc("core.v1.PersistentVolumeClaimSpec", "volumeMode"), priority=1),
    ),
    _pvc_row,
)


def _quota_row(rq: Obj, now: datetime) -> tuple[list[Any], None]:
    hard = get(rq, "status", "hard", default={})
    used = get(rq, "status", "used", default={})
    requests: list[str] = []
    limits: list[str] = []
    for res in sorted(hard):
        text = f"{res}: {used.get(res, '0')}/{hard[res]}"
        (limits if res.split(".")[0] == "limits" and "." in res else requests).append(text)
    return [name_of(rq), ", ".join(requests), ", ".join(limits), age(rq, now)], None


RESOURCEQUOTAS = Printer(
    (
        NAME_COL,
        col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
        col("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
        AGE_COL,
    ),
    _quota_row,
)


def job_duration(start: str | None, completion: str | None, now: datetime) -> str:
    if not start:
        return ""
    if not completion:
        return translate_timestamp_since(start, now)
    try:
        return human_duration(parse_time(completion) - parse_time(start))
    except ValueError:
        return ""


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "pods"): PODS,
    ("", "podtemplates"): PODTEMPLATES,
    ("", "replicationcontrollers"): REPLICATIONCONTROLLERS,
    ("", "services"): SERVICES,
    ("", "endpoints"): ENDPOINTS,
    ("", "nodes"): NODES,
    ("", "namespaces"): NAMESPACES,
    ("", "configmaps"): CONFIGMAPS,
    ("", "secrets"): SECRETS,
    ("", "serviceaccounts"): SERVICEACCOUNTS,
    ("", "events"): EVENTS,
    ("", "persistentvolumes"): PERSISTENTVOLUMES,
    ("", "persistentvolumeclaims"): PERSISTENTVOLUMECLAIMS,
    ("", "resourcequotas"): RESOURCEQUOTAS,
}
