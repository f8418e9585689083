"""One describer per common kind, in kubectl's field order, and the generic fallback.

Each describer is ``(obj, ctx) -> text`` where ``ctx`` fetches related objects (events of
the object, replica sets of a deployment, pods of a controller); all I/O goes through it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Protocol

from . import common
from .writer import Writer, describe_time

__all__ = ["DESCRIBERS", "Context", "describe_generic"]


class Context(Protocol):
    def events_for(self, obj: dict[str, Any]) -> list[dict[str, Any]]: ...
    def lease(self, node: str) -> dict[str, Any] | str: ...
    def list(self, group: str, version: str, resource: str, namespace: str | None,
             label_selector: str | None = None) -> list[dict[str, Any]]: ...
    show_events: bool


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _head(w: Writer, obj: dict[str, Any], *, namespace: bool = True, created: bool = False,
          skip_annotations: tuple[str, ...] = ()) -> None:
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    if namespace:
        w.line(0, "Namespace:", meta.get("namespace", ""))
    if created:
        w.line(0, "CreationTimestamp:", describe_time(meta.get("creationTimestamp")))
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"), skip=skip_annotations)


def _events(w: Writer, obj: dict[str, Any], ctx: Context) -> None:
    if ctx.show_events:
        common.events(w, ctx.events_for(obj))


def _controlled_by(w: Writer, obj: dict[str, Any]) -> None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            w.line(0, "Controlled By:", f"{ref.get('kind', '')}/{ref.get('name', '')}")


def configmap(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    _head(w, obj)
    w.blank()
    w.write(0, "Data\n====\n")
    for k, v in sorted((obj.get("data") or {}).items()):
        w.write(0, f"{k}:\n----\n{v}\n")
        w.blank()
    w.blank()
    w.write(0, "BinaryData\n====\n")
    for k, v in sorted((obj.get("binaryData") or {}).items()):
        w.write(0, f"{k}: {len(base64.b64decode(v))} bytes\n")
    w.blank()
    _events(w, obj, ctx)
    return w.render()


def secret(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    _head(w, obj)
    w.blank()
    w.line(0, "Type:", obj.get("type", ""))
    w.blank()
    w.write(0, "Data\n====\n")
    for k, v in sorted((obj.get("data") or {}).items()):
        size = len(base64.b64decode(v)) if v else 0
        w.line(0, f"{k}:", f"{size} bytes")
    return w.render()


def namespace(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    _head(w, obj, namespace=False)
    w.line(0, "Status:", (obj.get("status") or {}).get("phase", ""))
    name = _meta(obj).get("name")
    quotas = ctx.list("", "v1", "resourcequotas", name)
    limits = ctx.list("", "v1", "limitranges", name)
    w.blank()
    if not quotas:
        w.write(0, "No resource quota.\n")
    else:
        for q in quotas:
            w.write(0, "Resource Quotas\n")
            w.line(1, "Name:", _meta(q).get("name", ""))
            w.line(1, "Resource", "Used", "Hard")
            w.line(1, "--------", "---", "---")
            hard = (q.get("status") or {}).get("hard") or {}
            used = (q.get("status") or {}).get("used") or {}
            for r in sorted(hard):
                w.line(1, r, used.get(r, "0"), hard[r])
    w.blank()
    if not limits:
        w.write(0, "No LimitRange resource.\n")
    else:
        w.write(0, "Resource Limits\n")
        w.line(1, "Type", "Resource", "Min", "Max", "Default Request", "Default Limit",
               "Max Limit/Request Ratio")
        w.line(1, "----", "--------", "---", "---", "---------------", "-------------",
               "-----------------------")
        for lr in limits:
            for item in (lr.get("spec") or {}).get("limits") or []:
                keys = set()
                for f in ("min", "max", "default", "defaultRequest", "maxLimitRequestRatio"):
                    keys |= set((item.get(f) or {}).keys())
                for r in sorted(keys):
                    w.line(1, item.get("type", ""), r,
                           *((item.get(f) or {}).get(r, "-") for f in
                             ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")))
    return w.render()


def service(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    _head(w, obj)
    sel = spec.get("selector")
    w.line(0, "Selector:", ",".join(f"{k}={v}" for k, v in sorted(sel.items())) if sel else "<none>")
    w.line(0, "Type:", spec.get("type", ""))
    if spec.get("ipFamilyPolicy"):
        w.line(0, "IP Family Policy:", spec["ipFamilyPolicy"])
    if spec.get("ipFamilies"):
        w.line(0, "IP Families:", ",".join(spec["ipFamilies"]))
    w.line(0, "IP:", spec.get("clusterIP", ""))
    if spec.get("clusterIPs"):
        w.line(0, "IPs:", ",".join(spec["clusterIPs"]))
    if spec.get("externalIPs"):
        w.line(0, "External IPs:", ",".join(spec["externalIPs"]))
    if spec.get("loadBalancerIP"):
        w.line(0, "IP:", spec["loadBalancerIP"])
    if spec.get("externalName"):
        w.line(0, "External Name:", spec["externalName"])
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.line(0, "LoadBalancer Ingress:",
               ", ".join(i.get("ip") or i.get("hostname") or "" for i in ingress))
    endpoints = _endpoints(obj, ctx)
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        w.line(0, "Port:", name, f"{p.get('port')}/{p.get('protocol', 'TCP')}")
        tp = p.get("targetPort")
        if tp is not None and spec.get("type") != "ExternalName":
            w.line(0, "TargetPort:", f"{tp}/{p.get('protocol', 'TCP')}")
        if p.get("nodePort"):
            w.line(0, "NodePort:", name, f"{p['nodePort']}/{p.get('protocol', 'TCP')}")
        if spec.get("type") != "ExternalName":
            w.line(0, "Endpoints:", endpoints.get(p.get("name") or "", "<none>" if endpoints else ""))
    w.line(0, "Session Affinity:", spec.get("sessionAffinity", ""))
    if spec.get("externalTrafficPolicy"):
        w.line(0, "External Traffic Policy:", spec["externalTrafficPolicy"])
    if spec.get("internalTrafficPolicy"):
        w.line(0, "Internal Traffic Policy:", spec["internalTrafficPolicy"])
    if spec.get("healthCheckNodePort"):
        w.line(0, "HealthCheck NodePort:", spec["healthCheckNodePort"])
    if spec.get("loadBalancerSourceRanges"):
        w.line(0, "LoadBalancer Source Ranges:", ",".join(spec["loadBalancerSourceRanges"]))
    _events(w, obj, ctx)
    return w.render()


def _endpoints(svc: dict[str, Any], ctx: Context) -> dict[str, str]:
    meta = _meta(svc)
    slices = ctx.list("discovery.k8s.io", "v1", "endpointslices", meta.get("namespace"),
                      f"kubernetes.io/service-name={meta.get('name')}")
    out: dict[str, list[str]] = {}
    for s in slices:
        addrs = [a for e in s.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready", True) for a in e.get("addresses") or []]
        for p in s.get("ports") or []:
            out.setdefault(p.get("name") or "", []).extend(f"{a}:{p.get('port')}" for a in addrs)
    return {k: (",".join(v[:3]) + (f" + {len(v) - 3} more..." if len(v) > 3 else ""))
            if v else "<none>" for k, v in out.items()}


def deployment(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    _head(w, obj, created=True)
    w.line(0, "Selector:", common.selector_text(spec.get("selector")))
    w.line(0, "Replicas:", f"{spec.get('replicas', 0)} desired | {status.get('updatedReplicas', 0)}"
           f" updated | {status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} "
           f"available | {status.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    w.line(0, "StrategyType:", strategy.get("type", ""))
    w.line(0, "MinReadySeconds:", spec.get("minReadySeconds", 0))
    if strategy.get("rollingUpdate"):
        ru = strategy["rollingUpdate"]
        w.line(0, "RollingUpdateStrategy:", f"{ru.get('maxUnavailable', '')} max unavailable, "
               f"{ru.get('maxSurge', '')} max surge")
    common.pod_template(w, spec.get("template") or {})
    common.conditions(w, status.get("conditions"))
    old, new = _replica_sets(obj, ctx)
    if old is not None or new is not None:
        w.line(0, "OldReplicaSets:", ", ".join(_rs_text(r) for r in old or []) or "<none>")
        w.line(0, "NewReplicaSet:", _rs_text(new) if new else "<none>")
    _events(w, obj, ctx)
    return w.render()


def _rs_text(rs: dict[str, Any]) -> str:
    return (f"{_meta(rs).get('name')} ({(rs.get('status') or {}).get('replicas', 0)}/"
            f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)")


def _replica_sets(obj: dict[str, Any], ctx: Context
                  ) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    meta = _meta(obj)
    items = [rs for rs in ctx.list("apps", "v1", "replicasets", meta.get("namespace"))
             if any(r.get("uid") == meta.get("uid") for r in _meta(rs).get("ownerReferences") or [])]
    if not items:
        return None, None
    rev = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
    new = next((rs for rs in items if (_meta(rs).get("annotations") or {}).get(
        "deployment.kubernetes.io/revision") == rev), None)
    old = [rs for rs in items if rs is not new and (rs.get("spec") or {}).get("replicas")]
    return old, new


def _pods_status(obj: dict[str, Any], ctx: Context) -> tuple[int, int, int, int]:
    meta = _meta(obj)
    pods = [p for p in ctx.list("", "v1", "pods", meta.get("namespace"))
            if any(r.get("uid") == meta.get("uid") for r in _meta(p).get("ownerReferences") or [])]
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    return (phases.count("Running"), phases.count("Pending"), phases.count("Succeeded"),
            phases.count("Failed"))


def replicaset(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    _head(w, obj, namespace=True)
    w.lines.insert(2, "Selector:\t" + common.selector_text(spec.get("selector")))
    _controlled_by(w, obj)
    w.line(0, "Replicas:", f"{status.get('replicas', 0)} current / {spec.get('replicas', 0)} desired")
    running, waiting, succeeded, failed = _pods_status(obj, ctx)
    w.line(0, "Pods Status:", f"{running} Running / {waiting} Waiting / {succeeded} Succeeded / "
           f"{failed} Failed")
    common.pod_template(w, spec.get("template") or {})
    common.conditions(w, status.get("conditions"))
    _events(w, obj, ctx)
    return w.render()


def statefulset(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    w.line(0, "Namespace:", meta.get("namespace", ""))
    w.line(0, "CreationTimestamp:", describe_time(meta.get("creationTimestamp")))
    w.line(0, "Selector:", common.selector_text(spec.get("selector")))
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    w.line(0, "Service Name:", spec.get("serviceName", ""))
    w.line(0, "Pod Management Policy:", spec.get("podManagementPolicy", ""))
    w.line(0, "Replicas:", f"{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total")
    strategy = spec.get("updateStrategy") or {}
    w.line(0, "Update Strategy:", strategy.get("type", ""))
    if (strategy.get("rollingUpdate") or {}).get("partition") is not None:
        w.line(1, "Partition:", strategy["rollingUpdate"]["partition"])
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if retention:
        w.write(0, "Persistent Volume Claim Retention Policy:\n")
        w.line(1, "WhenDeleted:", retention.get("whenDeleted", ""))
        w.line(1, "WhenScaled:", retention.get("whenScaled", ""))
    running, waiting, succeeded, failed = _pods_status(obj, ctx)
    w.line(0, "Pods Status:", f"{running} Running / {waiting} Waiting / {succeeded} Succeeded / "
           f"{failed} Failed")
    common.pod_template(w, spec.get("template") or {})
    claims = spec.get("volumeClaimTemplates") or []
    w.line(0, "Volume Claims:", "<none>") if not claims else w.write(0, "Volume Claims:\n")
    for c in claims:
        cs = c.get("spec") or {}
        w.line(1, "Name:", _meta(c).get("name", ""))
        w.line(1, "StorageClass:", cs.get("storageClassName", ""))
        w.string_map(1, "Labels", _meta(c).get("labels"))
        w.annotations(1, _meta(c).get("annotations"))
        w.line(1, "Capacity:", ((cs.get("resources") or {}).get("requests") or {}).get("storage", ""))
        w.line(1, "Access Modes:", ",".join(cs.get("accessModes") or []))
    _events(w, obj, ctx)
    return w.render()


def daemonset(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    w.line(0, "Namespace:", meta.get("namespace", ""))
    w.line(0, "Selector:", common.selector_text(spec.get("selector")))
    ns = (spec.get("template") or {}).get("spec", {}).get("nodeSelector")
    w.line(0, "Node-Selector:", ",".join(f"{k}={v}" for k, v in sorted(ns.items())) if ns else "<none>")
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    w.line(0, "Desired Number of Nodes Scheduled: " + str(status.get("desiredNumberScheduled", 0)))
    w.line(0, "Current Number of Nodes Scheduled: " + str(status.get("currentNumberScheduled", 0)))
    w.line(0, "Number of Nodes Scheduled with Up-to-date Pods: " + str(status.get("updatedNumberScheduled", 0)))
    w.line(0, "Number of Nodes Scheduled with Available Pods: " + str(status.get("numberAvailable", 0)))
    w.line(0, "Number of Nodes Misscheduled: " + str(status.get("numberMisscheduled", 0)))
    running, waiting, succeeded, failed = _pods_status(obj, ctx)
    w.line(0, "Pods Status:", f"{running} Running / {waiting} Waiting / {succeeded} Succeeded / "
           f"{failed} Failed")
    common.pod_template(w, spec.get("template") or {})
    _events(w, obj, ctx)
    return w.render()


def job(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    w.line(0, "Namespace:", meta.get("namespace", ""))
    sel = spec.get("selector")
    w.line(0, "Selector:", common.selector_text(sel) if sel else "")
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    _controlled_by(w, obj)
    w.line(0, "Parallelism:", spec.get("parallelism", 1))
    w.line(0, "Completions:", spec.get("completions", "<unset>"))
    w.line(0, "Completion Mode:", spec.get("completionMode", "NonIndexed"))
    w.line(0, "Suspend:", str(bool(spec.get("suspend", False))).lower())
    w.line(0, "Backoff Limit:", spec.get("backoffLimit", 6))
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.line(0, "TTL Seconds After Finished:", spec["ttlSecondsAfterFinished"])
    if status.get("startTime"):
        w.line(0, "Start Time:", describe_time(status["startTime"]))
    if status.get("completionTime"):
        w.line(0, "Completed At:", describe_time(status["completionTime"]))
    if spec.get("activeDeadlineSeconds"):
        w.line(0, "Active Deadline Seconds:", f"{spec['activeDeadlineSeconds']}s")
    ready = f" ({status['ready']} Ready)" if status.get("ready") is not None else ""
    w.line(0, "Pods Statuses:", f"{status.get('active', 0)} Active{ready} / "
           f"{status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} Failed")
    common.pod_template(w, spec.get("template") or {})
    _events(w, obj, ctx)
    return w.render()


def pod(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    w.line(0, "Namespace:", meta.get("namespace", ""))
    if spec.get("priority") is not None:
        w.line(0, "Priority:", spec["priority"])
    if spec.get("priorityClassName"):
        w.line(0, "Priority Class Name:", spec["priorityClassName"])
    if spec.get("runtimeClassName"):
        w.line(0, "Runtime Class Name:", spec["runtimeClassName"])
    w.line(0, "Service Account:", spec.get("serviceAccountName", ""))
    node = spec.get("nodeName")
    w.line(0, "Node:", f"{node}/{status.get('hostIP', '')}" if node else "<none>")
    if status.get("startTime"):
        w.line(0, "Start Time:", describe_time(status["startTime"]))
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    if meta.get("deletionTimestamp"):
        w.line(0, "Status:", "Terminating (lasts <unknown>)")
        w.line(0, "Termination Grace Period:", f"{meta.get('deletionGracePeriodSeconds', 0)}s")
    else:
        w.line(0, "Status:", status.get("phase", ""))
    if status.get("reason"):
        w.line(0, "Reason:", status["reason"])
    if status.get("message"):
        w.line(0, "Message:", status["message"])
    w.line(0, "IP:", status.get("podIP", ""))
    ips = [i.get("ip", "") for i in status.get("podIPs") or []]
    if ips:
        w.line(0, "IPs:", "")
        for ip in ips:
            w.line(1, "IP:", ip)
    else:
        w.line(0, "IPs:", "<none>")
    _controlled_by(w, obj)
    if spec.get("initContainers"):
        common.containers(w, "Init Containers", spec["initContainers"],
                          status.get("initContainerStatuses"), "")
    common.containers(w, "Containers", spec.get("containers") or [],
                      status.get("containerStatuses"), "")
    if status.get("conditions"):
        common.conditions(w, status["conditions"], with_reason=False)
    common.volumes(w, spec.get("volumes"))
    qos = status.get("qosClass")
    if qos:
        w.line(0, "QoS Class:", qos)
    w.string_list(0, "Node-Selectors", common.node_selectors(spec.get("nodeSelector")))
    w.string_list(0, "Tolerations", common.tolerations(spec.get("tolerations")))
    _events(w, obj, ctx)
    return w.render()


def node(obj: dict[str, Any], ctx: Context) -> str:
    w = Writer()
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    roles = sorted(k.split("/", 1)[1] for k in meta.get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/"))
    w.line(0, "Roles:", ",".join(roles) or "<none>")
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    w.line(0, "CreationTimestamp:", describe_time(meta.get("creationTimestamp")))
    w.string_list(0, "Taints", [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:"
                                f"{t.get('effect')}" for t in spec.get("taints") or []])
    w.line(0, "Unschedulable:", str(bool(spec.get("unschedulable", False))).lower())
    lease = ctx.lease(meta.get("name", ""))
    if isinstance(lease, str):
        w.line(0, "Lease:", lease)
    else:
        lspec = lease.get("spec") or {}
        w.write(0, "Lease:\n")
        w.line(1, "HolderIdentity:", lspec.get("holderIdentity") or "<unset>")
        w.line(1, "AcquireTime:", describe_time(lspec["acquireTime"]) if lspec.get("acquireTime") else "<unset>")
        w.line(1, "RenewTime:", describe_time(lspec["renewTime"]) if lspec.get("renewTime") else "<unset>")
    conds = status.get("conditions") or []
    if conds:
        w.write(0, "Conditions:\n")
        w.line(1, "Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message")
        w.line(1, "----", "------", "-----------------", "------------------", "------", "-------")
    for c in conds:
        w.line(1, c.get("type", ""), c.get("status", ""),
               describe_time(c.get("lastHeartbeatTime")), describe_time(c.get("lastTransitionTime")),
               c.get("reason", ""), c.get("message", ""))
    w.write(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        w.line(1, f"{a.get('type', '')}:", a.get("address", ""))
    for key, label in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        if status.get(key):
            w.write(0, f"{label}:\n")
            for r in sorted(status[key]):
                w.line(1, f"{r}:", status[key][r])
    info = status.get("nodeInfo") or {}
    w.write(0, "System Info:\n")
    for key, label in (("machineID", "Machine ID"), ("systemUUID", "System UUID"),
                       ("bootID", "Boot ID"), ("kernelVersion", "Kernel Version"),
                       ("osImage", "OS Image"), ("operatingSystem", "Operating System"),
                       ("architecture", "Architecture"),
                       ("containerRuntimeVersion", "Container Runtime Version"),
                       ("kubeletVersion", "Kubelet Version")):
        w.line(1, f"{label}:", info.get(key, ""))
    if spec.get("podCIDR"):
        w.line(0, "PodCIDR:", spec["podCIDR"])
        w.string_list(0, "PodCIDRs", spec.get("podCIDRs") or [spec["podCIDR"]])
    if spec.get("providerID"):
        w.line(0, "ProviderID:", spec["providerID"])
    pods = [p for p in ctx.list("", "v1", "pods", None)
            if (p.get("spec") or {}).get("nodeName") == meta.get("name")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    w.line(0, "Non-terminated Pods:", f"({len(pods)} in total)")
    w.line(1, "Namespace", "Name", "", "CPU Requests", "CPU Limits", "Memory Requests",
           "Memory Limits", "Age")
    w.line(1, "---------", "----", "", "------------", "----------", "---------------",
           "-------------", "---")
    from .writer import age

    allocatable = status.get("allocatable") or {}
    totals: dict[str, list[Any]] = {}
    for p in pods:
        pm = _meta(p)
        req, lim = _pod_resources(p)
        for name in ("cpu", "memory"):
            t = totals.setdefault(name, [_q("0"), _q("0")])
            t[0] = t[0] + req.get(name, _q("0"))
            t[1] = t[1] + lim.get(name, _q("0"))
        w.line(1, pm.get("namespace", ""), pm.get("name", ""), "",
               *(_fraction(v, allocatable.get(r)) for v, r in (
                   (req.get("cpu"), "cpu"), (lim.get("cpu"), "cpu"),
                   (req.get("memory"), "memory"), (lim.get("memory"), "memory"))),
               age(pm.get("creationTimestamp")))
    w.write(0, "Allocated resources:\n")
    w.write(1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w.line(1, "Resource", "Requests", "Limits")
    w.line(1, "--------", "--------", "------")
    names = ["cpu", "memory", "ephemeral-storage"] + sorted(
        r for r in allocatable if r.startswith("hugepages-"))
    for name in names:
        req_total, lim_total = totals.get(name, [_q("0"), _q("0")])
        w.line(1, name, _fraction(req_total, allocatable.get(name)),
               _fraction(lim_total, allocatable.get(name)))
    _events(w, obj, ctx)
    return w.render()


def _q(text: Any) -> Any:
    from ...api.quantity import parse_quantity

    return parse_quantity(str(text))


def _pod_resources(pod: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    req: dict[str, Any] = {}
    lim: dict[str, Any] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        for src, dst in ((res.get("requests") or {}, req), (res.get("limits") or {}, lim)):
            for name, value in src.items():
                dst[name] = dst.get(name, _q("0")) + _q(value)
    return req, lim


def _fraction(value: Any, allocatable: Any) -> str:
    if value is None:
        value = _q("0")
    pct = 0
    if allocatable:
        total = _q(allocatable)
        if not total.is_zero():
            pct = int(value.milli_value() * 100 // total.milli_value())
    return f"{value} ({pct}%)"


def describe_generic(obj: dict[str, Any], ctx: Context) -> str:
    """Every field of the object, nested by indentation (kubectl's generic describer)."""
    w = Writer()
    meta = _meta(obj)
    w.line(0, "Name:", meta.get("name", ""))
    w.line(0, "Namespace:", meta.get("namespace", ""))
    w.string_map(0, "Labels", meta.get("labels"))
    w.annotations(0, meta.get("annotations"))
    w.line(0, "API Version:", obj.get("apiVersion", ""))
    w.line(0, "Kind:", obj.get("kind", ""))
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    m = {k: v for k, v in meta.items() if k not in ("name", "namespace", "labels", "annotations")}
    if m:
        rest["metadata"] = m
    else:
        rest.pop("metadata", None)
    _generic_fields(w, rest, 0)
    _events(w, obj, ctx)
    return w.render()


def _title(key: str) -> str:
    out = ""
    for i, ch in enumerate(key):
        if ch.isupper() and i and (not key[i - 1].isupper() or
                                   (i + 1 < len(key) and key[i + 1].islower())):
            out += " "
        out += ch
    return out[:1].upper() + out[1:]


def _generic_fields(w: Writer, value: dict[str, Any], level: int) -> None:
    for key in sorted(value):
        v = value[key]
        label = _title(key) + ":"
        if isinstance(v, dict):
            w.write(level, label + "\n")
            _generic_fields(w, v, level + 1)
        elif isinstance(v, list):
            w.write(level, label + "\n")
            for item in v:
                if isinstance(item, dict):
                    _generic_fields(w, item, level + 1)
                else:
                    w.write(level + 1, f"{item}\n")
        else:
            w.line(level, label, "true" if v is True else "false" if v is False else v)


DESCRIBERS: dict[tuple[str, str], Callable[[dict[str, Any], Context], str]] = {
    ("", "ConfigMap"): configmap,
    ("", "Secret"): secret,
    ("", "Namespace"): namespace,
    ("", "Service"): service,
    ("", "Pod"): pod,
    ("", "Node"): node,
    ("apps", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replicaset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("batch", "Job"): job,
}
