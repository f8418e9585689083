"""Spec validation of the non-pod kinds: services, workloads, batch, config, cluster objects,
RBAC, leases and events. Each ``validate_<kind>(obj, old)`` returns ``FieldError``s with
upstream paths and messages; ``old`` is None on create.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from k3trio.api import names
from k3trio.api.errors import FieldError
from k3trio.api.meta import iter_label_selector_errors, validate_labels
from k3trio.api.validation.cron import parse_schedule
from k3trio.api.validation.pod import (
    NONNEGATIVE_MSG,
    PORT_RANGE_MSG,
    PROTOCOLS,
    TAINT_EFFECTS,
    is_valid_port_name,
    nonnegative,
    validate_pod_spec,
)

Obj = dict[str, Any]
Errs = list[FieldError]

MAX_CONFIG_SIZE = 1024 * 1024
RBAC_GROUP = "rbac.authorization.k8s.io"


def _get(obj: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(step)
    return obj


# -- services ---------------------------------------------------------------------------------

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def validate_service(obj: Obj, old: Obj | None, *, node_port_range: tuple[int, int] = (30000, 32767)) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    stype = spec.get("type") or "ClusterIP"
    if stype not in SERVICE_TYPES:
        errs.append(FieldError.not_supported("spec.type", stype, SERVICE_TYPES))
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if stype == "ExternalName":
        ext = spec.get("externalName") or ""
        if not ext:
            errs.append(FieldError.required("spec.externalName", ""))
        else:
            for msg in names.is_dns1123_subdomain(ext.rstrip(".")):
                errs.append(FieldError.invalid("spec.externalName", ext, msg))
    elif not ports and not headless:
        errs.append(FieldError.required("spec.ports", ""))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        pname = port.get("name") or ""
        if len(ports) > 1 and not pname:
            errs.append(FieldError.required(f"{p}.name", ""))
        elif pname:
            for msg in names.is_dns1123_label(pname):
                errs.append(FieldError.invalid(f"{p}.name", pname, msg))
            if pname in seen:
                errs.append(FieldError.duplicate(f"{p}.name", pname))
            seen.add(pname)
        num = port.get("port")
        if not isinstance(num, int) or not 1 <= num <= 65535:
            errs.append(FieldError.invalid(f"{p}.port", num, PORT_RANGE_MSG))
        proto = port.get("protocol") or ""
        if not proto:
            errs.append(FieldError.required(f"{p}.protocol", ""))
        elif proto not in PROTOCOLS:
            errs.append(FieldError.not_supported(f"{p}.protocol", proto, PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            if not 1 <= target <= 65535:
                errs.append(FieldError.invalid(f"{p}.targetPort", target, PORT_RANGE_MSG))
        elif isinstance(target, str):
            for msg in is_valid_port_name(target):
                errs.append(FieldError.invalid(f"{p}.targetPort", target, msg))
        node_port = port.get("nodePort")
        if node_port:
            if stype == "ClusterIP":
                errs.append(FieldError.forbidden(f"{p}.nodePort", "may not be used when `type` is 'ClusterIP'"))
            elif not node_port_range[0] <= node_port <= node_port_range[1]:
                errs.append(FieldError.invalid(
                    f"{p}.nodePort", node_port,
                    f"provided port is not in the valid range. The range of valid ports is {node_port_range[0]}-{node_port_range[1]}"))
    affinity = spec.get("sessionAffinity") or "None"
    if affinity not in ("ClientIP", "None"):
        errs.append(FieldError.not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if spec.get("selector"):
        errs += validate_labels(spec["selector"], "spec.selector")
    for field, allowed in (("externalTrafficPolicy", ["Cluster", "Local"]), ("internalTrafficPolicy", ["Cluster", "Local"])):
        value = spec.get(field)
        if value and value not in allowed:
            errs.append(FieldError.not_supported(f"spec.{field}", value, allowed))
    if old is not None:
        old_spec = old.get("spec") or {}
        old_ips = old_spec.get("clusterIPs") or ([old_spec["clusterIP"]] if old_spec.get("clusterIP") else [])
        new_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
        if old_ips and stype != "ExternalName" and (old_spec.get("type") != "ExternalName") and new_ips[:1] != old_ips[:1]:
            errs.append(FieldError.invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    return errs


# -- workloads --------------------------------------------------------------------------------

SELECTOR_MISMATCH = "`selector` does not match template `labels`"


def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _selector_and_template(spec: Obj, kind_noun: str, *, restart_always: bool) -> Errs:
    errs: Errs = []
    selector = spec.get("selector")
    labels = _get(spec, "template", "metadata", "labels") or {}
    if selector is None:
        errs.append(FieldError.required("spec.selector", ""))
    else:
        errs += list(iter_label_selector_errors(selector, "spec.selector"))
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            errs.append(FieldError.invalid("spec.selector", selector, f"empty selector is invalid for {kind_noun}"))
        elif not _selector_matches(selector, labels):
            errs.append(FieldError.invalid("spec.template.metadata.labels", labels, SELECTOR_MISMATCH))
    if labels:
        errs += validate_labels(labels, "spec.template.metadata.labels")
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.append(FieldError.required("spec.template", ""))
        return errs
    errs += validate_pod_spec(template.get("spec"), "spec.template.spec")
    policy = _get(template, "spec", "restartPolicy")
    if restart_always and policy and policy != "Always":
        errs.append(FieldError.not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    return errs


def _selector_immutable(obj: Obj, old: Obj | None) -> Errs:
    if old is not None and _get(obj, "spec", "selector") != _get(old, "spec", "selector"):
        return [FieldError.invalid("spec.selector", _get(obj, "spec", "selector"), "field is immutable")]
    return []


def _percent_or_int(value: Any, path: str) -> Errs:
    if isinstance(value, str):
        if not value.endswith("%") or not value[:-1].isdigit():
            return [FieldError.invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]
        if int(value[:-1]) > 100:
            return [FieldError.invalid(path, value, "must not be greater than 100%")]
        return []
    return nonnegative(value, path)


def _is_zero(value: Any) -> bool:
    return value in (0, "0%", "0", None)


def validate_deployment(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = nonnegative(spec.get("replicas"), "spec.replicas")
    errs += _selector_and_template(spec, "deployment", restart_always=True)
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type") or "RollingUpdate"
    if stype not in ("Recreate", "RollingUpdate"):
        errs.append(FieldError.not_supported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"]))
    ru = strategy.get("rollingUpdate")
    if stype == "Recreate" and ru is not None:
        errs.append(FieldError.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"))
    if stype == "RollingUpdate" and isinstance(ru, dict):
        mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
        errs += _percent_or_int(mu, "spec.strategy.rollingUpdate.maxUnavailable")
        errs += _percent_or_int(ms, "spec.strategy.rollingUpdate.maxSurge")
        if _is_zero(mu) and _is_zero(ms):
            errs.append(FieldError.invalid("spec.strategy.rollingUpdate.maxUnavailable", mu, "may not be 0 when `maxSurge` is 0"))
    for key in ("revisionHistoryLimit", "minReadySeconds", "progressDeadlineSeconds"):
        errs += nonnegative(spec.get(key), f"spec.{key}")
    pds = spec.get("progressDeadlineSeconds")
    if isinstance(pds, int) and pds <= (spec.get("minReadySeconds") or 0):
        errs.append(FieldError.invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs + _selector_immutable(obj, old)


def validate_replica_set(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = nonnegative(spec.get("replicas"), "spec.replicas")
    errs += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    errs += _selector_and_template(spec, "replicaset", restart_always=True)
    return errs + _selector_immutable(obj, old)


def validate_daemon_set(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = _selector_and_template(spec, "daemonset", restart_always=True)
    stype = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if stype not in ("OnDelete", "RollingUpdate"):
        errs.append(FieldError.not_supported("spec.updateStrategy.type", stype, ["OnDelete", "RollingUpdate"]))
    ru = (spec.get("updateStrategy") or {}).get("rollingUpdate")
    if stype == "RollingUpdate" and isinstance(ru, dict):
        mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
        errs += _percent_or_int(mu, "spec.updateStrategy.rollingUpdate.maxUnavailable")
        errs += _percent_or_int(ms, "spec.updateStrategy.rollingUpdate.maxSurge")
        if _is_zero(mu) and _is_zero(ms):
            errs.append(FieldError.invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", mu, "may not be 0 when `maxSurge` is 0"))
    return errs + _selector_immutable(obj, old)


STS_UPDATABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                 "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def validate_stateful_set(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = nonnegative(spec.get("replicas"), "spec.replicas")
    errs += _selector_and_template(spec, "statefulset", restart_always=True)
    pmp = spec.get("podManagementPolicy")
    if pmp and pmp not in ("OrderedReady", "Parallel"):
        errs.append(FieldError.not_supported("spec.podManagementPolicy", pmp, ["OrderedReady", "Parallel"]))
    stype = (spec.get("updateStrategy") or {}).get("type")
    if stype and stype not in ("OnDelete", "RollingUpdate"):
        errs.append(FieldError.not_supported("spec.updateStrategy.type", stype, ["OnDelete", "RollingUpdate"]))
    if old is not None:
        old_spec = dict(old.get("spec") or {})
        new_spec = dict(spec)
        for key in STS_UPDATABLE:
            new_spec.pop(key, None)
            old_spec.pop(key, None)
        if new_spec != old_spec:
            errs.append(FieldError.forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                "'minReadySeconds' are forbidden"))
    return errs


# -- batch ------------------------------------------------------------------------------------


def validate_job_spec(spec: Obj, path: str = "spec", *, manual_selector_check: bool = True) -> Errs:
    errs: Errs = []
    for key in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        errs += nonnegative(spec.get(key), f"{path}.{key}")
    ads = spec.get("activeDeadlineSeconds")
    if ads == 0:
        errs.append(FieldError.invalid(f"{path}.activeDeadlineSeconds", 0, "must be greater than 0"))
    mode = spec.get("completionMode")
    if mode and mode not in ("Indexed", "NonIndexed"):
        errs.append(FieldError.not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed" and spec.get("completions") is None:
        errs.append(FieldError.required(f"{path}.completions", "when completion mode is Indexed"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return errs + [FieldError.required(f"{path}.template", "")]
    errs += validate_pod_spec(template.get("spec"), f"{path}.template.spec")
    policy = _get(template, "spec", "restartPolicy")
    if policy not in ("OnFailure", "Never"):
        errs.append(FieldError.required(f"{path}.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    selector = spec.get("selector")
    labels = _get(template, "metadata", "labels") or {}
    if selector is not None and manual_selector_check:
        errs += list(iter_label_selector_errors(selector, f"{path}.selector"))
        if not _selector_matches(selector, labels):
            errs.append(FieldError.invalid(f"{path}.template.metadata.labels", labels, SELECTOR_MISMATCH))
    return errs


def validate_job(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs = validate_job_spec(spec)
    if old is not None:
        old_spec = old.get("spec") or {}
        errs += _selector_immutable(obj, old)
        if spec.get("completionMode") != old_spec.get("completionMode"):
            errs.append(FieldError.invalid("spec.completionMode", spec.get("completionMode"), "field is immutable"))
        if spec.get("completions") != old_spec.get("completions") and spec.get("completionMode") != "Indexed":
            errs.append(FieldError.invalid("spec.completions", spec.get("completions"), "field is immutable"))
        if spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
            errs.append(FieldError.invalid("spec.template", spec.get("template"), "field is immutable"))
    return errs


def validate_cron_job(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    name = _get(obj, "metadata", "name") or ""
    if len(name) > 52:
        errs.append(FieldError.invalid("metadata.name", name, "must be no more than 52 characters"))
    schedule = spec.get("schedule") or ""
    if not schedule:
        errs.append(FieldError.required("spec.schedule", ""))
    elif "TZ" in schedule:
        errs.append(FieldError.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    else:
        err = parse_schedule(schedule)
        if err:
            errs.append(FieldError.invalid("spec.schedule", schedule, err))
    tz = spec.get("timeZone")
    if tz is not None:
        try:
            if not tz or tz == "Local":
                raise zoneinfo.ZoneInfoNotFoundError(tz)
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errs.append(FieldError.invalid("spec.timeZone", tz, f"unknown time zone {tz}"))
    cp = spec.get("concurrencyPolicy") or ""
    if not cp:
        errs.append(FieldError.required("spec.concurrencyPolicy", ""))
    elif cp not in ("Allow", "Forbid", "Replace"):
        errs.append(FieldError.not_supported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errs += nonnegative(spec.get(key), f"spec.{key}")
    job_spec = _get(spec, "jobTemplate", "spec")
    if not isinstance(job_spec, dict):
        errs.append(FieldError.required("spec.jobTemplate.spec", ""))
    else:
        errs += validate_job_spec(job_spec, "spec.jobTemplate.spec", manual_selector_check=False)
    return errs


# -- config -----------------------------------------------------------------------------------

_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def is_config_map_key(value: str) -> list[str]:
    """``IsConfigMapKey``."""
    errs = []
    if len(value) > 253:
        errs.append(names.max_len_error(253))
    if not value or any(not (c.isascii() and (c.isalnum() or c in "-._")) for c in value):
        errs.append(_CONFIG_KEY_MSG)
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _immutable_data(obj: Obj, old: Obj | None, fields: tuple[str, ...]) -> Errs:
    if old is None or not old.get("immutable"):
        return []
    errs: Errs = []
    for f in fields:
        if (obj.get(f) or {}) != (old.get(f) or {}):
            errs.append(FieldError.forbidden(f, "field is immutable when `immutable` is set"))
    if not obj.get("immutable"):
        errs.append(FieldError.forbidden("immutable", "field is immutable when `immutable` is set"))
    return errs


def validate_config_map(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    total = 0
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    for key, value in data.items():
        for msg in is_config_map_key(key):
            errs.append(FieldError.invalid(f"data[{key}]", key, msg))
        if key in binary:
            errs.append(FieldError.invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += len(str(value).encode())
    for key, value in binary.items():
        for msg in is_config_map_key(key):
            errs.append(FieldError.invalid(f"binaryData[{key}]", key, msg))
        total += len(str(value)) * 3 // 4
    if total > MAX_CONFIG_SIZE:
        errs.append(FieldError.too_long("", "", MAX_CONFIG_SIZE))
    return errs + _immutable_data(obj, old, ("data", "binaryData"))


def validate_secret(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    data = obj.get("data") or {}
    total = 0
    for key, value in data.items():
        for msg in is_config_map_key(key):
            errs.append(FieldError.invalid(f"data[{key}]", key, msg))
        total += len(str(value)) * 3 // 4
    if total > MAX_CONFIG_SIZE:
        errs.append(FieldError.too_long("data", "", MAX_CONFIG_SIZE))
    stype = obj.get("type") or "Opaque"
    required = {
        "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
        "kubernetes.io/dockercfg": [".dockercfg"],
        "kubernetes.io/tls": ["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth": ["ssh-privatekey"],
    }.get(stype, [])
    for key in required:
        if key not in data:
            errs.append(FieldError.required(f"data[{key}]", ""))
    if stype == "kubernetes.io/service-account-token":
        if not (_get(obj, "metadata", "annotations") or {}).get("kubernetes.io/service-account.name"):
            errs.append(FieldError.required("metadata.annotations[kubernetes.io/service-account.name]", ""))
    if stype == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        errs.append(FieldError.required("data[username]", ""))
        errs.append(FieldError.required("data[password]", ""))
    if old is not None and (old.get("type") or "Opaque") != stype:
        errs.append(FieldError.invalid("type", stype, "field is immutable"))
    return errs + _immutable_data(obj, old, ("data",))


# -- cluster objects --------------------------------------------------------------------------


def validate_namespace(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    for i, fin in enumerate(_get(obj, "spec", "finalizers") or []):
        for msg in names.is_qualified_name(fin):
            errs.append(FieldError.invalid(f"spec.finalizers[{i}]", fin, msg))
    return errs


def validate_node(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    for i, taint in enumerate(_get(obj, "spec", "taints") or []):
        p = f"spec.taints[{i}]"
        key = taint.get("key") or ""
        if not key:
            errs.append(FieldError.required(f"{p}.key", ""))
        for msg in names.is_qualified_name(key) if key else []:
            errs.append(FieldError.invalid(f"{p}.key", key, msg))
        effect = taint.get("effect") or ""
        if not effect:
            errs.append(FieldError.required(f"{p}.effect", ""))
        elif effect not in TAINT_EFFECTS:
            errs.append(FieldError.not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
    return errs


def validate_pvc(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    if not spec.get("accessModes"):
        errs.append(FieldError.required("spec.accessModes", "at least 1 access mode is required"))
    modes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
    for mode in spec.get("accessModes") or []:
        if mode not in modes:
            errs.append(FieldError.not_supported("spec.accessModes", mode, modes))
    if not _get(spec, "resources", "requests", "storage"):
        errs.append(FieldError.required("spec.resources[storage]", ""))
    return errs


# -- rbac -------------------------------------------------------------------------------------


def _policy_rules(obj: Obj, *, namespaced: bool) -> Errs:
    errs: Errs = []
    for i, rule in enumerate(obj.get("rules") or []):
        p = f"rules[{i}]"
        if not rule.get("verbs"):
            errs.append(FieldError.required(f"{p}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs") or []
        if urls:
            if namespaced:
                errs.append(FieldError.invalid(f"{p}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.append(FieldError.invalid(f"{p}.nonResourceURLs", urls, "rules cannot apply to both regular resources and non-resource URLs"))
            continue
        if not rule.get("apiGroups"):
            errs.append(FieldError.required(f"{p}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            errs.append(FieldError.required(f"{p}.resources", "resource rules must supply at least one resource"))
    return errs


def validate_role(obj: Obj, old: Obj | None) -> Errs:
    return _policy_rules(obj, namespaced=True)


def validate_cluster_role(obj: Obj, old: Obj | None) -> Errs:
    return _policy_rules(obj, namespaced=False)


def _binding(obj: Obj, old: Obj | None, *, namespaced: bool) -> Errs:
    errs: Errs = []
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup") != RBAC_GROUP:
        errs.append(FieldError.not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", [RBAC_GROUP]))
    kinds = ["ClusterRole", "Role"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        errs.append(FieldError.not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    if not ref.get("name"):
        errs.append(FieldError.required("roleRef.name", ""))
    else:
        from k3trio.api.meta import validate_path_segment_name

        for msg in validate_path_segment_name(ref["name"], False):
            errs.append(FieldError.invalid("roleRef.name", ref["name"], msg))
    for i, subj in enumerate(obj.get("subjects") or []):
        p = f"subjects[{i}]"
        kind, sname = subj.get("kind"), subj.get("name") or ""
        if not sname:
            errs.append(FieldError.required(f"{p}.name", ""))
        if kind == "ServiceAccount":
            if subj.get("apiGroup"):
                errs.append(FieldError.not_supported(f"{p}.apiGroup", subj["apiGroup"], [""]))
            for msg in names.is_dns1123_subdomain(sname) if sname else []:
                errs.append(FieldError.invalid(f"{p}.name", sname, msg))
            if not namespaced and not subj.get("namespace"):
                errs.append(FieldError.required(f"{p}.namespace", ""))
        elif kind in ("User", "Group"):
            if subj.get("apiGroup") != RBAC_GROUP:
                errs.append(FieldError.not_supported(f"{p}.apiGroup", subj.get("apiGroup") or "", [RBAC_GROUP]))
        else:
            errs.append(FieldError.not_supported(f"{p}.kind", kind or "", ["ServiceAccount", "User", "Group"]))
    if old is not None and (old.get("roleRef") or {}) != ref:
        errs.append(FieldError.invalid("roleRef", ref, "cannot change roleRef"))
    return errs


def validate_role_binding(obj: Obj, old: Obj | None) -> Errs:
    return _binding(obj, old, namespaced=True)


def validate_cluster_role_binding(obj: Obj, old: Obj | None) -> Errs:
    return _binding(obj, old, namespaced=False)


# -- coordination, events, scheduling ---------------------------------------------------------


def validate_lease(obj: Obj, old: Obj | None) -> Errs:
    spec = obj.get("spec") or {}
    errs: Errs = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        errs.append(FieldError.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        errs.append(FieldError.invalid("spec.leaseTransitions", transitions, NONNEGATIVE_MSG))
    return errs


def validate_event(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    ns = _get(obj, "metadata", "namespace") or ""
    involved_ns = _get(obj, "involvedObject", "namespace") or ""
    if involved_ns and ns != involved_ns:
        errs.append(FieldError.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
    etype = obj.get("type")
    if etype and etype not in ("Normal", "Warning"):
        errs.append(FieldError.not_supported("type", etype, ["Normal", "Warning"]))
    return errs


def validate_priority_class(obj: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    name = _get(obj, "metadata", "name") or ""
    value = obj.get("value")
    if isinstance(value, int) and value > 1_000_000_000 and not name.startswith("system-"):
        errs.append(FieldError.forbidden("value", "maximum allowed value of a user defined priority is 1000000000"))
    policy = obj.get("preemptionPolicy")
    if policy and policy not in ("Never", "PreemptLowerPriority"):
        errs.append(FieldError.not_supported("preemptionPolicy", policy, ["Never", "PreemptLowerPriority"]))
    if old is not None and old.get("value") != value:
        errs.append(FieldError.forbidden("value", "may not be changed in an update."))
    return errs


# -- storage ----------------------------------------------------------------------------------


def validate_storage_class(obj: Obj, old: Obj | None) -> Errs:
    """``ValidateStorageClass`` and, on update, ``ValidateStorageClassUpdate``."""
    errs: Errs = []
    provisioner = obj.get("provisioner") or ""
    if not provisioner:
        errs.append(FieldError.required("provisioner", ""))
    else:
        for msg in names.is_qualified_name(str(provisioner).lower()):
            errs.append(FieldError.invalid("provisioner", provisioner, msg))
    policy = obj.get("reclaimPolicy")
    if policy and policy not in ("Delete", "Retain"):
        errs.append(FieldError.not_supported("reclaimPolicy", policy, ["Delete", "Retain"]))
    mode = obj.get("volumeBindingMode")
    if not mode:
        errs.append(FieldError.required("volumeBindingMode", ""))
    elif mode not in ("Immediate", "WaitForFirstConsumer"):
        errs.append(FieldError.not_supported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"]))
    if old is None:
        return errs
    if (obj.get("parameters") or {}) != (old.get("parameters") or {}):
        errs.append(FieldError.forbidden("parameters", "updates to parameters are forbidden."))
    if provisioner != (old.get("provisioner") or ""):
        errs.append(FieldError.forbidden("provisioner", "updates to provisioner are forbidden."))
    if policy != old.get("reclaimPolicy"):
        errs.append(FieldError.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    if mode != old.get("volumeBindingMode"):
        errs.append(FieldError.invalid("volumeBindingMode", mode, "field is immutable"))
    return errs
