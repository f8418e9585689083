"""Per-kind defaulting, as kube-apiserver applies it when decoding a request body.

Entry point: :func:`apply_defaults(group, version, kind, obj)` mutates ``obj`` in place. Kinds
without defaults are left untouched. Defaulting is idempotent: applying it twice gives the
same object, so it is safe on create, on update and on every decode.

Some values users see on stored objects come from elsewhere and are not set here: the pod's
``serviceAccountName``, ``priority``/``preemptionPolicy`` and default tolerations (admission),
a Service's ``clusterIP(s)`` and ``nodePort`` (allocation in the registry), a Job's generated
selector and labels, ``metadata.uid``/``creationTimestamp`` (the registry).
"""

from __future__ import annotations

import base64
from typing import Any, Callable

from k3trio.api.defaults.pod import (
    default_container,
    default_image_pull_policy,
    default_pod,
    default_pod_spec,
    default_pod_template,
    default_probe,
    default_volume,
)

__all__ = [
    "apply_defaults",
    "default_container",
    "default_image_pull_policy",
    "default_pod",
    "default_pod_spec",
    "default_pod_template",
    "default_probe",
    "default_volume",
]

Obj = dict[str, Any]


def _sd(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) in (None, ""):
        obj[key] = value


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


# -- core -------------------------------------------------------------------------------------


def _service(obj: Obj) -> None:
    spec = _spec(obj)
    _sd(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        cfg = spec.setdefault("sessionAffinityConfig", {})
        if cfg is None:
            cfg = spec["sessionAffinityConfig"] = {}
        client = cfg.setdefault("clientIP", {})
        if client is None:
            client = cfg["clientIP"] = {}
        if client.get("timeoutSeconds") is None:
            client["timeoutSeconds"] = 10800
    _sd(spec, "type", "ClusterIP")
    stype = spec["type"]
    for port in spec.get("ports") or []:
        _sd(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if stype in ("NodePort", "LoadBalancer"):
        _sd(spec, "externalTrafficPolicy", "Cluster")
    if stype != "ExternalName":
        _sd(spec, "internalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def service_ip_family_defaults(obj: Obj, *, primary_family: str = "IPv4") -> None:
    """The registry's IP-family defaults for a single-stack cluster (applied at allocation).

    Headless services without a selector get ``RequireDualStack`` (which a single-stack
    cluster satisfies with one family); all other non-ExternalName services ``SingleStack``.
    """
    spec = _spec(obj)
    if spec.get("type") == "ExternalName":
        return
    if not spec.get("ipFamilyPolicy"):
        headless = spec.get("clusterIP") == "None"
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless and not spec.get("selector") else "SingleStack"
    if not spec.get("ipFamilies"):
        spec["ipFamilies"] = [primary_family]


def _secret(obj: Obj) -> None:
    _sd(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _namespace(obj: Obj) -> None:
    meta = obj.setdefault("metadata", {})
    name = meta.get("name")
    if name:
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels["kubernetes.io/metadata.name"] = name
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    _sd(status, "phase", "Active")


def _node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity") is not None:
        status["allocatable"] = dict(status["capacity"])


def _pvc_spec(spec: Obj) -> None:
    _sd(spec, "volumeMode", "Filesystem")


def _pv(obj: Obj) -> None:
    spec = _spec(obj)
    _sd(spec, "persistentVolumeReclaimPolicy", "Retain")
    _sd(spec, "volumeMode", "Filesystem")
    host = spec.get("hostPath")
    if isinstance(host, dict) and host.get("type") is None:
        host["type"] = ""
    status = obj.setdefault("status", {})
    _sd(status, "phase", "Pending")


def _pvc(obj: Obj) -> None:
    _pvc_spec(_spec(obj))
    status = obj.setdefault("status", {})
    _sd(status, "phase", "Pending")


def _endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or []:
        for port in subset.get("ports") or []:
            _sd(port, "protocol", "TCP")


def _replication_controller(obj: Obj) -> None:
    spec = _spec(obj)
    template = spec.get("template")
    tlabels = ((template or {}).get("metadata") or {}).get("labels") or {}
    if tlabels:
        if not spec.get("selector"):
            spec["selector"] = dict(tlabels)
        meta = obj.setdefault("metadata", {})
        if not meta.get("labels"):
            meta["labels"] = dict(tlabels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(template)


def _pod_template(obj: Obj) -> None:
    default_pod_template(obj.get("template"))


# -- apps -------------------------------------------------------------------------------------


def _deployment(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    _sd(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = strategy["rollingUpdate"] = {}
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = "25%"
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    default_pod_template(spec.get("template"))


def _replica_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(spec.get("template"))


def _stateful_set(obj: Obj) -> None:
    spec = _spec(obj)
    _sd(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    _sd(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = strategy["rollingUpdate"] = {}
        if ru.get("partition") is None:
            ru["partition"] = 0
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(policy, dict):
        policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
    _sd(policy, "whenDeleted", "Retain")
    _sd(policy, "whenScaled", "Retain")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    for pvc in spec.get("volumeClaimTemplates") or []:
        _pvc(pvc)
    default_pod_template(spec.get("template"))


def _daemon_set(obj: Obj) -> None:
    spec = _spec(obj)
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    _sd(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = strategy["rollingUpdate"] = {}
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = 1
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    default_pod_template(spec.get("template"))


# -- batch ------------------------------------------------------------------------------------

MAX_INT32 = 2**31 - 1


def default_job_spec(spec: Obj) -> None:
    """``SetDefaults_Job`` on a JobSpec."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    _sd(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    failure_policy = spec.get("podFailurePolicy")
    if isinstance(failure_policy, dict):
        for rule in failure_policy.get("rules") or []:
            for pattern in rule.get("onPodConditions") or []:
                _sd(pattern, "status", "True")
    default_pod_template(spec.get("template"))


def _job(obj: Obj) -> None:
    default_job_spec(_spec(obj))


def _cron_job(obj: Obj) -> None:
    spec = _spec(obj)
    _sd(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        default_pod_template(job_spec.get("template"))


# -- other groups -----------------------------------------------------------------------------


def _endpoint_slice(obj: Obj) -> None:
    for port in obj.get("ports") or []:
        if port.get("name") is None:
            port["name"] = ""
        _sd(port, "protocol", "TCP")


def _network_policy(obj: Obj) -> None:
    spec = _spec(obj)
    for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
        for port in rule.get("ports") or []:
            _sd(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}


def _scale_rules(rules: Obj | None, *, up: bool) -> Obj:
    rules = dict(rules or {})
    if rules.get("stabilizationWindowSeconds") is None:
        rules["stabilizationWindowSeconds"] = 0 if up else 300
    if rules.get("selectPolicy") is None:
        rules["selectPolicy"] = "Max"
    if not rules.get("policies"):
        if up:
            rules["policies"] = [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]
        else:
            rules["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    return rules


def _hpa_v2(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scale_rules(behavior.get("scaleUp"), up=True)
        behavior["scaleDown"] = _scale_rules(behavior.get("scaleDown"), up=False)


def _hpa_v1(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1


def _priority_class(obj: Obj) -> None:
    _sd(obj, "preemptionPolicy", "PreemptLowerPriority")


def _storage_class(obj: Obj) -> None:
    _sd(obj, "reclaimPolicy", "Delete")
    _sd(obj, "volumeBindingMode", "Immediate")


def _csi_driver(obj: Obj) -> None:
    spec = _spec(obj)
    for key, value in (("attachRequired", True), ("podInfoOnMount", False), ("storageCapacity", False),
                       ("requiresRepublish", False), ("seLinuxMount", False)):
        if spec.get(key) is None:
            spec[key] = value
    _sd(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType")
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]


def _rbac_binding(obj: Obj) -> None:
    for subject in obj.get("subjects") or []:
        if subject.get("apiGroup") in (None, ""):
            kind = subject.get("kind")
            if kind in ("User", "Group"):
                subject["apiGroup"] = "rbac.authorization.k8s.io"
            elif kind == "ServiceAccount":
                subject["apiGroup"] = ""


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): default_pod,
    ("", "PodTemplate"): _pod_template,
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "PersistentVolume"): _pv,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Endpoints"): _endpoints,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("policy", "PodDisruptionBudget"): lambda obj: None,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("storage.k8s.io", "CSIDriver"): _csi_driver,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac_binding,
}


def apply_defaults(group: str, version: str, kind: str, obj: Obj) -> None:
    """Fill in the defaults of ``group/version, Kind=kind`` in ``obj`` (in place).

    Args:
        group: API group, ``""`` for core.
        version: API version; it matters only where versions default differently
            (``autoscaling/v1`` against ``v2`` HPAs).
        kind: the kind, e.g. ``Deployment``.
        obj: the decoded object.
    """
    if group == "autoscaling" and kind == "HorizontalPodAutoscaler":
        (_hpa_v1 if version == "v1" else _hpa_v2)(obj)
        return
    fn = _DEFAULTERS.get((group, kind))
    if fn is not None:
        fn(obj)
