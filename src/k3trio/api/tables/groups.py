"""Table printers for the named API groups (apps, batch, networking, rbac, storage, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from k3trio.api.tables._common import (
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    NAME_COL,
    Obj,
    Printer,
    age,
    bool_ptr,
    col,
    doc,
    format_label_selector,
    format_labels,
    get,
    int_or_string,
    layout_containers,
    list_with_more,
    name_of,
    selector_string,
)
from k3trio.api.tables.core import _lb_status, job_duration
from k3trio.api.tables.duration import human_duration, translate_timestamp_since

# -- apps -----------------------------------------------------------------------------------


def _containers(o: Obj, *path: str) -> tuple[str, str]:
    return layout_containers(get(o, *path, "containers"))


def _deployment_row(o: Obj, now: datetime) -> tuple[list[Any], None]:
    sel = selector_string(get(o, "spec", "selector"))
    return [
        name_of(o),
        f"{get(o, 'status', 'readyReplicas', default=0)}/{get(o, 'spec', 'replicas', default=0)}",
        int(get(o, "status", "updatedReplicas", default=0)),
        int(get(o, "status", "availableReplicas", default=0)),
        age(o, now),
        *_containers(o, "spec", "template", "spec"),
        "<invalid>" if sel is None else sel,
    ], None


DEPLOYMENTS = Printer(
    (
        NAME_COL,
        col("Ready", "string", "Number of the pod with ready state"),
        col("Up-to-date", "string", doc("apps.v1.DeploymentStatus", "updatedReplicas")),
        col("Available", "string", doc("apps.v1.DeploymentStatus", "availableReplicas")),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("apps.v1.DeploymentSpec", "selector"), priority=1),
    ),
    _deployment_row,
)

REPLICASETS = Printer(
    (
        NAME_COL,
        col("Desired", "integer", doc("apps.v1.ReplicaSetSpec", "replicas")),
        col("Current", "integer", doc("apps.v1.ReplicaSetStatus", "replicas")),
        col("Ready", "integer", doc("apps.v1.ReplicaSetStatus", "readyReplicas")),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("apps.v1.ReplicaSetSpec", "selector"), priority=1),
    ),
    lambda o, now: (
        [name_of(o), int(get(o, "spec", "replicas", default=0)), int(get(o, "status", "replicas", default=0)),
         int(get(o, "status", "readyReplicas", default=0)), age(o, now),
         *_containers(o, "spec", "template", "spec"), format_label_selector(get(o, "spec", "selector"))],
        None,
    ),
)

STATEFULSETS = Printer(
    (
        NAME_COL,
        col("Ready", "string", "Number of the pod with ready state"),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
    ),
    lambda o, now: (
        [name_of(o), f"{get(o, 'status', 'readyReplicas', default=0)}/{get(o, 'spec', 'replicas', default=0)}",
         age(o, now), *_containers(o, "spec", "template", "spec")],
        None,
    ),
)

DAEMONSETS = Printer(
    (
        NAME_COL,
        col("Desired", "integer", doc("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
        col("Current", "integer", doc("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
        col("Ready", "integer", doc("apps.v1.DaemonSetStatus", "numberReady")),
        col("Up-to-date", "integer", doc("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
        col("Available", "integer", doc("apps.v1.DaemonSetStatus", "numberAvailable")),
        col("Node Selector", "string", doc("core.v1.PodSpec", "nodeSelector")),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("apps.v1.DaemonSetSpec", "selector"), priority=1),
    ),
    lambda o, now: (
        [name_of(o)]
        + [int(get(o, "status", f, default=0)) for f in (
            "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
            "updatedNumberScheduled", "numberAvailable")]
        + [format_labels(get(o, "spec", "template", "spec", "nodeSelector")), age(o, now),
           *_containers(o, "spec", "template", "spec"), format_label_selector(get(o, "spec", "selector"))],
        None,
    ),
)


def _controller_revision_row(o: Obj, now: datetime) -> tuple[list[Any], None]:
    controller = "<none>"
    for ref in get(o, "metadata", "ownerReferences", default=[]):
        if ref.get("controller") is True:
            api_version = str(ref.get("apiVersion") or "")
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = str(ref.get("kind") or "")
            gk = f"{kind}.{group}" if group else kind
            controller = f"{gk.lower()}/{ref.get('name', '')}" if kind or group else str(ref.get("name", ""))
            break
    return [name_of(o), controller, int(o.get("revision") or 0), age(o, now)], None


CONTROLLERREVISIONS = Printer(
    (
        NAME_COL,
        col("Controller", "string", "Controller of the object"),
        col("Revision", "string", doc("apps.v1.ControllerRevision", "revision")),
        AGE_COL,
    ),
    _controller_revision_row,
)

# -- batch ----------------------------------------------------------------------------------


def _job_condition(o: Obj, ctype: str) -> bool:
    for c in get(o, "status", "conditions", default=[]):
        if c.get("type") == ctype:
            return bool(c.get("status") == "True")
    return False


def _job_row(o: Obj, now: datetime) -> tuple[list[Any], None]:
    succeeded = int(get(o, "status", "succeeded", default=0))
    completions = get(o, "spec", "completions")
    if completions is not None:
        comp = f"{succeeded}/{completions}"
    else:
        parallelism = int(get(o, "spec", "parallelism", default=0))
        comp = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    if _job_condition(o, "Complete"):
        status = "Complete"
    elif _job_condition(o, "Failed"):
        status = "Failed"
    elif get(o, "metadata", "deletionTimestamp"):
        status = "Terminating"
    elif _job_condition(o, "Suspended"):
        status = "Suspended"
    elif _job_condition(o, "FailureTarget"):
        status = "FailureTarget"
    else:
        status = "Running"
    dur = job_duration(get(o, "status", "startTime"), get(o, "status", "completionTime"), now)
    return [
        name_of(o), status, comp, dur, age(o, now),
        *_containers(o, "spec", "template", "spec"), format_label_selector(get(o, "spec", "selector")),
    ], None


JOBS = Printer(
    (
        NAME_COL,
        col("Status", "string", "Status of the job."),
        col("Completions", "string", doc("batch.v1.JobStatus", "succeeded")),
        col("Duration", "string", "Time required to complete the job."),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("batch.v1.JobSpec", "selector"), priority=1),
    ),
    _job_row,
)


def _cronjob_row(o: Obj, now: datetime) -> tuple[list[Any], None]:
    last = get(o, "status", "lastScheduleTime")
    return [
        name_of(o), get(o, "spec", "schedule", default=""), get(o, "spec", "timeZone") or "<none>",
        bool_ptr(get(o, "spec", "suspend")), len(get(o, "status", "active", default=[])),
        translate_timestamp_since(last, now) if last else "<none>", age(o, now),
        *_containers(o, "spec", "jobTemplate", "spec", "template", "spec"),
        format_label_selector(get(o, "spec", "jobTemplate", "spec", "selector")),
    ], None


CRONJOBS = Printer(
    (
        NAME_COL,
        col("Schedule", "string", doc("batch.v1.CronJobSpec", "schedule")),
        col("Timezone", "string", doc("batch.v1.CronJobSpec", "timeZone")),
        col("Suspend", "boolean", doc("batch.v1.CronJobSpec", "suspend")),
        col("Active", "integer", doc("batch.v1.CronJobStatus", "active")),
        col("Last Schedule", "string", doc("batch.v1.CronJobStatus", "lastScheduleTime")),
        AGE_COL,
        CONTAINERS_COL,
        IMAGES_COL,
        col("Selector", "string", doc("batch.v1.JobSpec", "selector"), priority=1),
    ),
    _cronjob_row,
)

# -- networking / discovery -----------------------------------------------------------------


def _ingress_hosts(rules: list[Obj]) -> str:
    hosts: list[str] = []
    limit, more = 3, False
    for rule in rules:
        if len(hosts) == limit:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    ret = ",".join(hosts)
    if more:
        return f"{ret} + {len(rules) - limit} more..."
    return ret


INGRESSES = Printer(
    (
        NAME_COL,
        col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
        col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
        col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
        col("Ports", "string", "Ports of TLS configurations that open"),
        AGE_COL,
    ),
    lambda o, now: (
        [name_of(o), get(o, "spec", "ingressClassName") or "<none>", _ingress_hosts(get(o, "spec", "rules", default=[])),
         _lb_status(get(o, "status", "loadBalancer")), "80, 443" if get(o, "spec", "tls") else "80", age(o, now)],
        None,
    ),
)


def _ingress_class_params(o: Obj) -> str:
    p = get(o, "spec", "parameters")
    if p is None:
        return "<none>"
    text = str(p.get("kind", ""))
    if p.get("apiGroup") is not None:
        text += "." + str(p["apiGroup"])
    return f"{text}/{p.get('name', '')}"


INGRESSCLASSES = Printer(
    (
        NAME_COL,
        col("Controller", "string", "Controller that is responsible for handling this class"),
        col("Parameters", "string", "A reference to a resource with additional parameters"),
        AGE_COL,
    ),
    lambda o, now: ([name_of(o), get(o, "spec", "controller", default=""), _ingress_class_params(o), age(o, now)], None),
)

NETWORKPOLICIES = Printer(
    (NAME_COL, col("Pod-Selector", "string", doc("networking.v1.NetworkPolicySpec", "podSelector")), AGE_COL),
    lambda o, now: ([name_of(o), format_label_selector(get(o, "spec", "podSelector", default={})), age(o, now)], None),
)


def _slice_ports(ports: list[Obj]) -> str:
    items: list[str] = []
    limit, more, count = 3, False, 0
    for p in ports:
        if len(items) < limit:
            if p.get("port") is not None:
                items.append(str(p["port"]))
            elif p.get("name") is not None:
                items.append(str(p["name"]))
            else:
                items.append("*")
        elif len(items) == limit:
            more = True
        count += 1
    return list_with_more(items, more, count, limit)


def _slice_endpoints(endpoints: list[Obj]) -> str:
    items: list[str] = []
    limit, more, count = 3, False, 0
    for ep in endpoints:
        for addr in ep.get("addresses") or []:
            if len(items) < limit:
                items.append(str(addr))
            elif len(items) == limit:
                more = True
            count += 1
    return list_with_more(items, more, count, limit)


ENDPOINTSLICES = Printer(
    (
        NAME_COL,
        col("AddressType", "string", doc("discovery.v1.EndpointSlice", "addressType")),
        col("Ports", "string", doc("discovery.v1.EndpointSlice", "ports")),
        col("Endpoints", "string", doc("discovery.v1.EndpointSlice", "endpoints")),
        AGE_COL,
    ),
    lambda o, now: (
        [name_of(o), o.get("addressType") or "", _slice_ports(o.get("ports") or []),
         _slice_endpoints(o.get("endpoints") or []), age(o, now)],
        None,
    ),
)

# -- rbac -----------------------------------------------------------------------------------


def _subjects(o: Obj) -> tuple[str, str, str]:
    users, groups, sas = [], [], []
    for s in o.get("subjects") or []:
        kind = s.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
        elif kind == "User":
            users.append(str(s.get("name", "")))
        elif kind == "Group":
            groups.append(str(s.get("name", "")))
    return ", ".join(users), ", ".join(groups), ", ".join(sas)


def _binding_printer(noun: str) -> Printer:
    return Printer(
        (
            NAME_COL,
            col("Role", "string", doc(f"rbac.v1.{noun}", "roleRef")),
            AGE_COL,
            col("Users", "string", f"Users in the {noun[0].lower() + noun[1:]}", priority=1),
            col("Groups", "string", f"Groups in the {noun[0].lower() + noun[1:]}", priority=1),
            col("ServiceAccounts", "string", f"ServiceAccounts in the {noun[0].lower() + noun[1:]}", priority=1),
        ),
        lambda o, now: (
            [name_of(o), f"{get(o, 'roleRef', 'kind', default='')}/{get(o, 'roleRef', 'name', default='')}",
             age(o, now), *_subjects(o)],
            None,
        ),
    )


ROLEBINDINGS = _binding_printer("RoleBinding")
CLUSTERROLEBINDINGS = _binding_printer("ClusterRoleBinding")

# -- autoscaling / policy / scheduling / coordination / storage ------------------------------


def _hpa_metrics(specs: list[Obj], statuses: list[Obj]) -> str:
    if not specs:
        return "<none>"
    items: list[str] = []
    for i, spec in enumerate(specs):
        st = statuses[i] if i < len(statuses) else {}
        stype = spec.get("type")
        if stype in ("External", "Object"):
            key = stype.lower()
            target = get(spec, key, "target", default={})
            cur_status = st.get(key) if isinstance(st, dict) else None
            if target.get("averageValue") is not None:
                cur = get(cur_status, "current", "averageValue") or "<unknown>"
                items.append(f"{cur}/{target['averageValue']} (avg)")
            else:
                cur = get(cur_status, "current", "value", default="0") if cur_status else "<unknown>"
                items.append(f"{cur}/{target.get('value', '0')}")
        elif stype == "Pods":
            cur = get(st, "pods", "current", "averageValue", default="0") if get(st, "pods") else "<unknown>"
            items.append(f"{cur}/{get(spec, 'pods', 'target', 'averageValue', default='0')}")
        elif stype in ("Resource", "ContainerResource"):
            key = "resource" if stype == "Resource" else "containerResource"
            res = spec.get(key) or {}
            target = res.get("target") or {}
            cur_status = st.get(key) if isinstance(st, dict) else None
            if target.get("averageValue") is not None:
                cur = get(cur_status, "current", "averageValue", default="0") if cur_status else "<unknown>"
                items.append(f"{res.get('name', '')}: {cur}/{target['averageValue']}")
            else:
                util = get(cur_status, "current", "averageUtilization")
                cur = f"{util}%" if util is not None else "<unknown>"
                tgt = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
                items.append(f"{res.get('name', '')}: {cur}/{tgt}")
        else:
            items.append("<unknown type>")
    limit = 2
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" + {len(items) - limit} more..."
    return ", ".join(items)


HORIZONTALPODAUTOSCALERS = Printer(
    (
        NAME_COL,
        col("Reference", "string", doc("autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef")),
        col("Targets", "string", doc("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
        col("MinPods", "string", doc("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
        col("MaxPods", "string", doc("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
        col("Replicas", "string", doc("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
        AGE_COL,
    ),
    lambda o, now: (
        [name_of(o),
         f"{get(o, 'spec', 'scaleTargetRef', 'kind', default='')}/{get(o, 'spec', 'scaleTargetRef', 'name', default='')}",
         _hpa_metrics(get(o, "spec", "metrics", default=[]), get(o, "status", "currentMetrics", default=[])),
         str(get(o, "spec", "minReplicas")) if get(o, "spec", "minReplicas") is not None else "<unset>",
         int(get(o, "spec", "maxReplicas", default=0)), int(get(o, "status", "currentReplicas", default=0)),
         age(o, now)],
        None,
    ),
)

PODDISRUPTIONBUDGETS = Printer(
    (
        NAME_COL,
        col("Min Available", "string", "The minimum number of pods that must be available."),
        col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
        AGE_COL,
    ),
    lambda o, now: (
        [name_of(o),
         int_or_string(get(o, "spec", "minAvailable")) if get(o, "spec", "minAvailable") is not None else "N/A",
         int_or_string(get(o, "spec", "maxUnavailable")) if get(o, "spec", "maxUnavailable") is not None else "N/A",
         int(get(o, "status", "disruptionsAllowed", default=0)), age(o, now)],
        None,
    ),
)

PRIORITYCLASSES = Printer(
    (
        NAME_COL,
        col("Value", "integer", doc("scheduling.v1.PriorityClass", "value")),
        col("Global-Default", "boolean", doc("scheduling.v1.PriorityClass", "globalDefault")),
        AGE_COL,
        col("PreemptionPolicy", "string", doc("scheduling.v1.PriorityClass", "preemptionPolicy"), priority=1),
    ),
    lambda o, now: (
        [name_of(o), int(o.get("value") or 0), bool(o.get("globalDefault") or False), age(o, now),
         o.get("preemptionPolicy") or ""],
        None,
    ),
)

LEASES = Printer(
    (NAME_COL, col("Holder", "string", doc("coordination.v1.LeaseSpec", "holderIdentity")), AGE_COL),
    lambda o, now: ([name_of(o), get(o, "spec", "holderIdentity", default=""), age(o, now)], None),
)

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storage_class_row(o: Obj, now: datetime) -> tuple[list[Any], None]:
    ann = get(o, "metadata", "annotations", default={})
    name = name_of(o)
    if any(ann.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
        name += " (default)"
    return [name, o.get("provisioner") or "", o.get("reclaimPolicy") or "Delete",
            o.get("volumeBindingMode") or "Immediate", bool(o.get("allowVolumeExpansion") or False),
            age(o, now)], None


STORAGECLASSES = Printer(
    (
        NAME_COL,
        col("Provisioner", "string", doc("storage.v1.StorageClass", "provisioner")),
        col("ReclaimPolicy", "string", doc("storage.v1.StorageClass", "reclaimPolicy")),
        col("VolumeBindingMode", "string", doc("storage.v1.StorageClass", "volumeBindingMode")),
        col("AllowVolumeExpansion", "string", doc("storage.v1.StorageClass", "allowVolumeExpansion")),
        AGE_COL,
    ),
    _storage_class_row,
)

CSINODES = Printer(
    (NAME_COL, col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), AGE_COL),
    lambda o, now: ([name_of(o), len(get(o, "spec", "drivers", default=[])), age(o, now)], None),
)

RUNTIMECLASSES = Printer(
    (NAME_COL, col("Handler", "string", ""), AGE_COL),
    lambda o, now: ([name_of(o), o.get("handler") or "", age(o, now)], None),
)


def _webhook_printer() -> Printer:
    return Printer(
        (NAME_COL, col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"), AGE_COL),
        lambda o, now: ([name_of(o), len(o.get("webhooks") or []), age(o, now)], None),
    )


def _csr_status(o: Obj) -> str:
    types = {c.get("type") for c in get(o, "status", "conditions", default=[])}
    status = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        status += ",Failed"
    if get(o, "status", "certificate"):
        status += ",Issued"
    return status


CERTIFICATESIGNINGREQUESTS = Printer(
    (
        NAME_COL,
        AGE_COL,
        col("SignerName", "string", doc("certificates.v1.CertificateSigningRequestSpec", "signerName")),
        col("Requestor", "string", doc("certificates.v1.CertificateSigningRequestSpec", "request")),
        col("RequestedDuration", "string", doc("certificates.v1.CertificateSigningRequestSpec", "expirationSeconds")),
        col("Condition", "string", doc("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ),
    lambda o, now: (
        [name_of(o), age(o, now), get(o, "spec", "signerName") or "<none>", get(o, "spec", "username", default=""),
         _csr_expiration(get(o, "spec", "expirationSeconds")), _csr_status(o)],
        None,
    ),
)


def _csr_expiration(seconds: Any) -> str:
    if seconds is None:
        return "<none>"
    from datetime import timedelta

    return human_duration(timedelta(seconds=int(seconds)))


PRINTERS: dict[tuple[str, str], Printer] = {
    ("apps", "deployments"): DEPLOYMENTS,
    ("apps", "replicasets"): REPLICASETS,
    ("apps", "statefulsets"): STATEFULSETS,
    ("apps", "daemonsets"): DAEMONSETS,
    ("apps", "controllerrevisions"): CONTROLLERREVISIONS,
    ("batch", "jobs"): JOBS,
    ("batch", "cronjobs"): CRONJOBS,
    ("networking.k8s.io", "ingresses"): INGRESSES,
    ("networking.k8s.io", "ingressclasses"): INGRESSCLASSES,
    ("networking.k8s.io", "networkpolicies"): NETWORKPOLICIES,
    ("discovery.k8s.io", "endpointslices"): ENDPOINTSLICES,
    ("rbac.authorization.k8s.io", "rolebindings"): ROLEBINDINGS,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): CLUSTERROLEBINDINGS,
    ("autoscaling", "horizontalpodautoscalers"): HORIZONTALPODAUTOSCALERS,
    ("policy", "poddisruptionbudgets"): PODDISRUPTIONBUDGETS,
    ("scheduling.k8s.io", "priorityclasses"): PRIORITYCLASSES,
    ("coordination.k8s.io", "leases"): LEASES,
    ("storage.k8s.io", "storageclasses"): STORAGECLASSES,
    ("storage.k8s.io", "csinodes"): CSINODES,
    ("node.k8s.io", "runtimeclasses"): RUNTIMECLASSES,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): _webhook_printer(),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): _webhook_printer(),
    ("certificates.k8s.io", "certificatesigningrequests"): CERTIFICATESIGNINGREQUESTS,
}
