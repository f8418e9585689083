"""Validation of pod specs (standalone and in templates) and of pod updates.

Paths and messages follow upstream ``ValidatePodSpec`` / ``ValidatePodUpdate`` for the cases
users commonly hit: container and volume naming, images, ports, env names, mounts, resources,
probes, policies, and the short list of pod fields that may change after creation.
"""

from __future__ import annotations

import copy
from typing import Any

from k3trio.api import names
from k3trio.api.errors import FieldError
from k3trio.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]
Errs = list[FieldError]

PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"
NONNEGATIVE_MSG = "must be greater than or equal to 0"
PROTOCOLS = ["SCTP", "TCP", "UDP"]

_PORT_NAME_FMT = "[-a-z0-9]"


def is_valid_port_name(value: str) -> list[str]:
    """``IsValidPortName`` (IANA service name)."""
    errs = []
    if len(value) < 1 or len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not all(c.islower() and c.isascii() or c.isdigit() or c == "-" for c in value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any(c.isalpha() for c in value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_relaxed_env_var_name(value: str) -> list[str]:
    """``IsRelaxedEnvVarName``: printable ASCII except ``=``."""
    if any(not (32 <= ord(c) <= 126) or c == "=" for c in value):
        return ["a valid environment variable name must consist only of printable ASCII characters other than '='"]
    return []


def valid_port(value: Any, path: str, *, required: bool = True) -> Errs:
    if value in (None, 0):
        return [FieldError.required(path, "")] if required else []
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        return [FieldError.invalid(path, value, PORT_RANGE_MSG)]
    return []


def nonnegative(value: Any, path: str) -> Errs:
    if isinstance(value, int) and value < 0:
        return [FieldError.invalid(path, value, NONNEGATIVE_MSG)]
    return []


def _ports(ports: list[Obj], path: str) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        p = f"{path}[{i}]"
        pname = port.get("name")
        if pname:
            for msg in is_valid_port_name(pname):
                errs.append(FieldError.invalid(f"{p}.name", pname, msg))
            if pname in seen:
                errs.append(FieldError.duplicate(f"{p}.name", pname))
            seen.add(pname)
        errs += valid_port(port.get("containerPort"), f"{p}.containerPort")
        errs += valid_port(port.get("hostPort"), f"{p}.hostPort", required=False)
        proto = port.get("protocol") or ""
        if not proto:
            errs.append(FieldError.required(f"{p}.protocol", ""))
        elif proto not in PROTOCOLS:
            errs.append(FieldError.not_supported(f"{p}.protocol", proto, PROTOCOLS))
    return errs


def _resources(res: Any, path: str) -> Errs:
    errs: Errs = []
    if not isinstance(res, dict):
        return errs
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for rname, value in (res.get(section) or {}).items():
            rpath = f"{path}.{section}[{rname}]"
            try:
                q = parse_quantity(str(value))
            except QuantityError:
                errs.append(FieldError.invalid(rpath, value, "must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"))
                continue
            if q.sign() < 0:
                errs.append(FieldError.invalid(rpath, str(value), NONNEGATIVE_MSG))
            parsed[section][rname] = (q, value)
    for rname, (req, raw) in parsed["requests"].items():
        lim = parsed["limits"].get(rname)
        if lim is not None and req.cmp(lim[0]) > 0:
            errs.append(FieldError.invalid(
                f"{path}.requests[{rname}]", str(raw), f"must be less than or equal to {rname} limit of {lim[1]}"))
    return errs


_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _handler(handler: Obj, path: str, kinds: tuple[str, ...] = _HANDLERS) -> Errs:
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [FieldError.required(path, "must specify a handler type")]
    errs: Errs = [FieldError.forbidden(f"{path}.{k}", "may not specify more than 1 handler type") for k in present[1:]]
    http = handler.get("httpGet")
    if isinstance(http, dict):
        port = http.get("port")
        if isinstance(port, int):
            errs += valid_port(port, f"{path}.httpGet.port")
        scheme = http.get("scheme")
        if scheme and scheme not in ("HTTP", "HTTPS"):
            errs.append(FieldError.not_supported(f"{path}.httpGet.scheme", scheme, ["HTTP", "HTTPS"]))
    return errs


def _probe(probe: Any, path: str, *, liveness_like: bool) -> Errs:
    if not isinstance(probe, dict):
        return []
    errs = _handler(probe, path)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errs += nonnegative(probe.get(key), f"{path}.{key}")
    if liveness_like and probe.get("successThreshold") not in (None, 1):
        errs.append(FieldError.invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    return errs


def _container(c: Obj, path: str, volumes: set[str], *, regular: bool) -> Errs:
    errs: Errs = []
    image = c.get("image") or ""
    if not image:
        errs.append(FieldError.required(f"{path}.image", ""))
    elif image != image.strip():
        errs.append(FieldError.invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    errs += _ports(c.get("ports") or [], f"{path}.ports")
    for i, var in enumerate(c.get("env") or []):
        vname = var.get("name") or ""
        if not vname:
            errs.append(FieldError.required(f"{path}.env[{i}].name", ""))
        else:
            for msg in is_relaxed_env_var_name(vname):
                errs.append(FieldError.invalid(f"{path}.env[{i}].name", vname, msg))
    for i, mount in enumerate(c.get("volumeMounts") or []):
        mname = mount.get("name") or ""
        if not mname:
            errs.append(FieldError.required(f"{path}.volumeMounts[{i}].name", ""))
        elif mname not in volumes:
            errs.append(FieldError.not_found(f"{path}.volumeMounts[{i}].name", mname))
        if not mount.get("mountPath"):
            errs.append(FieldError.required(f"{path}.volumeMounts[{i}].mountPath", ""))
    errs += _resources(c.get("resources"), f"{path}.resources")
    if regular or c.get("restartPolicy") == "Always":
        errs += _probe(c.get("livenessProbe"), f"{path}.livenessProbe", liveness_like=True)
        errs += _probe(c.get("startupProbe"), f"{path}.startupProbe", liveness_like=True)
        errs += _probe(c.get("readinessProbe"), f"{path}.readinessProbe", liveness_like=False)
    else:
        for key in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(key) is not None:
                errs.append(FieldError.forbidden(f"{path}.{key}", "may not be set for init containers without restartPolicy=Always"))
    policy = c.get("terminationMessagePolicy")
    if policy and policy not in ("File", "FallbackToLogsOnError"):
        errs.append(FieldError.not_supported(f"{path}.terminationMessagePolicy", policy, ["File", "FallbackToLogsOnError"]))
    pull = c.get("imagePullPolicy")
    if pull and pull not in ("Always", "IfNotPresent", "Never"):
        errs.append(FieldError.not_supported(f"{path}.imagePullPolicy", pull, ["Always", "IfNotPresent", "Never"]))
    return errs


_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
    "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
    "csi", "ephemeral", "image",
)


def _volumes(volumes: list[Obj], path: str) -> tuple[Errs, set[str]]:
    errs: Errs = []
    seen: set[str] = set()
    for i, vol in enumerate(volumes):
        p = f"{path}[{i}]"
        vname = vol.get("name") or ""
        if not vname:
            errs.append(FieldError.required(f"{p}.name", ""))
        else:
            for msg in names.is_dns1123_label(vname):
                errs.append(FieldError.invalid(f"{p}.name", vname, msg))
            if vname in seen:
                errs.append(FieldError.duplicate(f"{p}.name", vname))
            seen.add(vname)
        sources = [s for s in _VOLUME_SOURCES if vol.get(s) is not None]
        if not sources:
            errs.append(FieldError.required(p, "must specify a volume type"))
        for extra in sources[1:]:
            errs.append(FieldError.forbidden(f"{p}.{extra}", "may not specify more than 1 volume type"))
        pvc = vol.get("persistentVolumeClaim")
        if isinstance(pvc, dict) and not pvc.get("claimName"):
            errs.append(FieldError.required(f"{p}.persistentVolumeClaim.claimName", ""))
        host = vol.get("hostPath")
        if isinstance(host, dict) and not host.get("path"):
            errs.append(FieldError.required(f"{p}.hostPath.path", ""))
    return errs, seen


RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]


def validate_pod_spec(spec: Any, path: str = "spec") -> Errs:
    """``ValidatePodSpec`` (the commonly hit subset)."""
    if not isinstance(spec, dict):
        return [FieldError.required(path, "")]
    errs, vol_names = _volumes(spec.get("volumes") or [], f"{path}.volumes")
    containers = spec.get("containers") or []
    if not containers:
        errs.append(FieldError.required(f"{path}.containers", ""))
    all_names: set[str] = set()
    for key, regular in (("initContainers", False), ("containers", True)):
        for i, c in enumerate(spec.get(key) or []):
            cpath = f"{path}.{key}[{i}]"
            cname = c.get("name") or ""
            if not cname:
                errs.append(FieldError.required(f"{cpath}.name", ""))
            else:
                for msg in names.is_dns1123_label(cname):
                    errs.append(FieldError.invalid(f"{cpath}.name", cname, msg))
                if cname in all_names:
                    errs.append(FieldError.duplicate(f"{cpath}.name", cname))
                all_names.add(cname)
            errs += _container(c, cpath, vol_names, regular=regular)
    policy = spec.get("restartPolicy") or ""
    if not policy:
        errs.append(FieldError.required(f"{path}.restartPolicy", ""))
    elif policy not in RESTART_POLICIES:
        errs.append(FieldError.not_supported(f"{path}.restartPolicy", policy, RESTART_POLICIES))
    dns = spec.get("dnsPolicy") or ""
    if dns and dns not in DNS_POLICIES:
        errs.append(FieldError.not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES))
    if dns == "None" and not spec.get("dnsConfig"):
        errs.append(FieldError.required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and (not isinstance(ads, int) or not 1 <= ads <= 2**31 - 1):
        errs.append(FieldError.invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    errs += nonnegative(spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds")
    node = spec.get("nodeName")
    if node:
        for msg in names.is_dns1123_subdomain(node):
            errs.append(FieldError.invalid(f"{path}.nodeName", node, msg))
    sa = spec.get("serviceAccountName")
    if sa:
        for msg in names.is_dns1123_subdomain(sa):
            errs.append(FieldError.invalid(f"{path}.serviceAccountName", sa, msg))
    for i, tol in enumerate(spec.get("tolerations") or []):
        errs += _toleration(tol, f"{path}.tolerations[{i}]")
    return errs


TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]


def _toleration(tol: Obj, path: str) -> Errs:
    errs: Errs = []
    key = tol.get("key") or ""
    if key:
        for msg in names.is_qualified_name(key):
            errs.append(FieldError.invalid(f"{path}.key", key, msg))
    op = tol.get("operator") or "Equal"
    if not key and op != "Exists":
        errs.append(FieldError.invalid(f"{path}.operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
    if op == "Exists" and tol.get("value"):
        errs.append(FieldError.invalid(f"{path}.operator", tol.get("value"), "value must be empty when `operator` is 'Exists'"))
    if op not in ("Equal", "Exists"):
        errs.append(FieldError.not_supported(f"{path}.operator", op, ["Equal", "Exists"]))
    effect = tol.get("effect") or ""
    if effect and effect not in TAINT_EFFECTS:
        errs.append(FieldError.not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
    if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
        errs.append(FieldError.invalid(f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return errs


UPDATABLE_POD_FIELDS = [
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
]


def _spec_diff(old: Obj, new: Obj) -> str:
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"  {key}:\n-   {old.get(key)!r}\n+   {new.get(key)!r}")
    return "\n".join(lines)


def validate_pod_update(new: Obj, old: Obj) -> Errs:
    """``ValidatePodUpdate``: only images, activeDeadlineSeconds, added tolerations, removed
    scheduling gates and a negative grace period going to 1 may change."""
    errs: Errs = []
    new_spec = copy.deepcopy(new.get("spec") or {})
    old_spec = old.get("spec") or {}
    for key in ("containers", "initContainers"):
        if len(new_spec.get(key) or []) != len(old_spec.get(key) or []):
            continue
        for nc, oc in zip(new_spec.get(key) or [], old_spec.get(key) or []):
            if nc.get("image") == "" and oc.get("image"):
                errs.append(FieldError.required(f"spec.{key}[{(new_spec.get(key) or []).index(nc)}].image", ""))
            if "image" in oc:
                nc["image"] = oc["image"]
            else:
                nc.pop("image", None)
    new_ads, old_ads = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if old_ads is not None:
        if new_ads is None:
            errs.append(FieldError.invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
        elif isinstance(new_ads, int) and new_ads > old_ads:
            errs.append(FieldError.invalid("spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value"))
    _copy_or_drop(new_spec, old_spec, "activeDeadlineSeconds")
    old_tols = old_spec.get("tolerations") or []
    new_tols = new_spec.get("tolerations") or []
    if all(t in new_tols for t in old_tols):
        _copy_or_drop(new_spec, old_spec, "tolerations")
    old_gates = old_spec.get("schedulingGates") or []
    new_gates = new_spec.get("schedulingGates") or []
    if all(g in old_gates for g in new_gates):
        _copy_or_drop(new_spec, old_spec, "schedulingGates")
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and new_spec.get("terminationGracePeriodSeconds") == 1:
        _copy_or_drop(new_spec, old_spec, "terminationGracePeriodSeconds")
    if new_spec != old_spec:
        errs.append(FieldError.forbidden(
            "spec",
            "pod updates may not change fields other than " + ",".join(UPDATABLE_POD_FIELDS) + "\n"
            + _spec_diff(old_spec, new_spec),
        ))
    return errs


def _copy_or_drop(new: Obj, old: Obj, key: str) -> None:
    if key in old:
        new[key] = copy.deepcopy(old[key])
    else:
        new.pop(key, None)
