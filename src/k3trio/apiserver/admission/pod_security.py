"""PodSecurity: the Pod Security Standards, chosen per namespace by labels.

``pod-security.kubernetes.io/<mode>`` (mode ``enforce``, ``warn``, ``audit``) holds a level
(``privileged``, ``baseline``, ``restricted``) and ``<mode>-version`` a version (default
``latest``). Without labels everything is ``privileged`` (allowed), as kube-apiserver's default
configuration; an unparsable level is treated as ``restricted``.

- Pods (create; updates that change the spec; the ``ephemeralcontainers`` subresource): an
  ``enforce`` violation is 403 ``violates PodSecurity "restricted:latest": <check> (<detail>),
  ...``; a ``warn`` violation adds ``would violate PodSecurity "...": ...`` to the warnings.
- Workloads with pod templates only get warnings, never rejections.
- Namespaces: label values are validated; raising the enforce level warns about existing
  pods that would be rejected.

Checks and their texts follow the upstream policy (baseline checks then restricted ones,
each group by check id). The check functions are pure: ``(pod metadata, pod spec) ->
(forbidden reason, detail) | None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from k3trio.api.errors import FieldError, Invalid
from k3trio.apiserver.admission._common import forbidden
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

LABEL_PREFIX = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "audit", "warn")
Spec = Mapping[str, Any]
Check = Callable[[Spec, Spec], "tuple[str, str] | None"]

_TEMPLATE_RESOURCES = {
    ("", "podtemplates"): ("template",),
    ("", "replicationcontrollers"): ("spec", "template"),
    ("apps", "replicasets"): ("spec", "template"),
    ("apps", "deployments"): ("spec", "template"),
    ("apps", "statefulsets"): ("spec", "template"),
    ("apps", "daemonsets"): ("spec", "template"),
    ("batch", "jobs"): ("spec", "template"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template"),
}


# -- helpers ---------------------------------------------------------------------------------


def _containers(spec: Spec) -> list[dict[str, Any]]:
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out += [c for c in spec.get(key) or [] if isinstance(c, dict)]
    return out


def _sc(c: Mapping[str, Any]) -> dict[str, Any]:
    sc = c.get("securityContext")
    return sc if isinstance(sc, dict) else {}


def _quote_all(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _plural(names: list[str], single: str, plural: str) -> str:
    return f"{single} {_quote_all(names)}" if len(names) == 1 else f"{plural} {_quote_all(names)}"


def _containers_phrase(names: list[str]) -> str:
    return _plural(names, "container", "containers")


def _uniq(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


# -- baseline --------------------------------------------------------------------------------


def check_host_namespaces(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    bad = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(bad)) if bad else None


def check_privileged(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    bad = [c.get("name", "") for c in _containers(spec) if _sc(c).get("privileged")]
    if not bad:
        return None
    verb = "must not set"
    return "privileged", f"{_containers_phrase(bad)} {verb} securityContext.privileged=true"


_BASELINE_CAPS = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                            "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})  # fmt: skip


def check_capabilities_baseline(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    names, caps = [], []
    for c in _containers(spec):
        added = [str(x) for x in (_sc(c).get("capabilities") or {}).get("add") or []]
        bad = [x for x in added if x not in _BASELINE_CAPS]
        if bad:
            names.append(c.get("name", ""))
            caps += bad
    if not names:
        return None
    return "non-default capabilities", (
        f"{_containers_phrase(names)} must not include {_quote_all(_uniq(caps))} in securityContext.capabilities.add"
    )


def check_host_path(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    bad = [v.get("name", "") for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("hostPath") is not None]
    return ("hostPath volumes", _plural(bad, "volume", "volumes")) if bad else None


def check_host_ports(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    names, ports = [], []
    for c in _containers(spec):
        mine = [str(p.get("hostPort")) for p in c.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")]
        if mine:
            names.append(c.get("name", ""))
            ports += mine
    if not names:
        return None
    if len(names) == 1:
        word = "uses hostPort" if len(ports) == 1 else "uses hostPorts"
    else:
        word = "use hostPorts"
    return "hostPort", f"{_containers_phrase(names)} {word} {', '.join(_uniq(ports))}"


def check_host_process(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    pod = bool((spec.get("securityContext") or {}).get("windowsOptions", {}).get("hostProcess"))
    bad = [c.get("name", "") for c in _containers(spec) if (_sc(c).get("windowsOptions") or {}).get("hostProcess")]
    if not pod and not bad:
        return None
    who = "pod" if pod else ""
    if bad:
        who = (who + " and " if who else "") + _containers_phrase(bad)
    return "hostProcess", f"{who} must not set securityContext.windowsOptions.hostProcess=true"


def check_proc_mount(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    bad = [c.get("name", "") for c in _containers(spec) if _sc(c).get("procMount") not in (None, "Default")]
    if not bad:
        return None
    return "procMount", f'{_containers_phrase(bad)} must not set securityContext.procMount to "Unmasked"'


def _seccomp_type(sc: Mapping[str, Any]) -> str | None:
    prof = sc.get("seccompProfile")
    return str(prof.get("type")) if isinstance(prof, dict) and prof.get("type") else None


def check_seccomp_baseline(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    parts = []
    if _seccomp_type(spec.get("securityContext") or {}) == "Unconfined":
        parts.append('pod must not set securityContext.seccompProfile.type to "Unconfined"')
    bad = [c.get("name", "") for c in _containers(spec) if _seccomp_type(_sc(c)) == "Unconfined"]
    if bad:
        parts.append(f'{_containers_phrase(bad)} must not set securityContext.seccompProfile.type to "Unconfined"')
    return ("seccompProfile", "; ".join(parts)) if parts else None


def check_apparmor(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    def bad_type(sc: Mapping[str, Any]) -> bool:
        prof = sc.get("appArmorProfile")
        return isinstance(prof, dict) and prof.get("type") not in (None, "RuntimeDefault", "Localhost")

    parts = []
    if bad_type(spec.get("securityContext") or {}):
        parts.append('pod must not set appArmorProfile.type to "Unconfined"')
    bad = [c.get("name", "") for c in _containers(spec) if bad_type(_sc(c))]
    if bad:
        parts.append(f'{_containers_phrase(bad)} must not set appArmorProfile.type to "Unconfined"')
    return ("forbidden AppArmor profile", "; ".join(parts)) if parts else None


_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


def check_selinux(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    def problems(sc: Mapping[str, Any]) -> list[str]:
        opts = sc.get("seLinuxOptions")
        if not isinstance(opts, dict):
            return []
        out = []
        if str(opts.get("type") or "") not in _SELINUX_TYPES:
            out.append(f'type "{opts.get("type")}"')
        if opts.get("user"):
            out.append(f'user "{opts["user"]}"')
        if opts.get("role"):
            out.append(f'role "{opts["role"]}"')
        return out

    found = problems(spec.get("securityContext") or {})
    bad = []
    for c in _containers(spec):
        mine = problems(_sc(c))
        if mine:
            bad.append(c.get("name", ""))
            found += mine
    if not found:
        return None
    who = "pod" if problems(spec.get("securityContext") or {}) else ""
    if bad:
        who = (who + " and " if who else "") + _containers_phrase(bad)
    return "seLinuxOptions", f"{who} set forbidden securityContext.seLinuxOptions: {'; '.join(_uniq(found))}"


_SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})  # fmt: skip


def check_sysctls(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    sysctls = (spec.get("securityContext") or {}).get("sysctls") or []
    bad = [str(s.get("name", "")) for s in sysctls if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


# -- restricted ------------------------------------------------------------------------------


def check_privilege_escalation(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    bad = [c.get("name", "") for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return "allowPrivilegeEscalation != false", (
        f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false"
    )


def check_capabilities_restricted(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    no_drop, add_names, added = [], [], []
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in [str(x) for x in caps.get("drop") or []]:
            no_drop.append(c.get("name", ""))
        bad = [str(x) for x in caps.get("add") or [] if x != "NET_BIND_SERVICE"]
        if bad:
            add_names.append(c.get("name", ""))
            added += bad
    parts = []
    if no_drop:
        parts.append(f'{_containers_phrase(no_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if add_names:
        parts.append(
            f"{_containers_phrase(add_names)} must not include {_quote_all(_uniq(added))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(parts)) if parts else None


_ALLOWED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                              "projected", "secret", "image"})  # fmt: skip


def check_restricted_volumes(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    names, kinds = [], []
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        bad = [k for k in v if k != "name" and k not in _ALLOWED_VOLUMES and v[k] is not None]
        if bad:
            names.append(str(v.get("name", "")))
            kinds += bad
    if not names:
        return None
    kinds = _uniq(kinds)
    if len(names) == 1:
        return "restricted volume types", (
            f'volume "{names[0]}" uses restricted volume type{"s" if len(kinds) > 1 else ""} {_quote_all(kinds)}'
        )
    return "restricted volume types", (
        f"volumes {_quote_all(names)} use restricted volume type{'s' if len(kinds) > 1 else ''} {_quote_all(kinds)}"
    )


def check_run_as_non_root(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    pod_value = (spec.get("securityContext") or {}).get("runAsNonRoot")
    explicit_false = [c.get("name", "") for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False]
    unset = [c.get("name", "") for c in _containers(spec) if _sc(c).get("runAsNonRoot") is None]
    parts = []
    if pod_value is False:
        parts.append("pod must not set securityContext.runAsNonRoot=false")
    if explicit_false:
        parts.append(f"{_containers_phrase(explicit_false)} must not set securityContext.runAsNonRoot=false")
    if pod_value is not True and unset:
        if pod_value is None:
            parts.append(f"pod or {_containers_phrase(unset)} must set securityContext.runAsNonRoot=true")
    if not parts:
        return None
    return "runAsNonRoot != true", "; ".join(parts)


def check_run_as_user(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    parts = []
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        parts.append("pod must not set runAsUser=0")
    bad = [c.get("name", "") for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        parts.append(f"{_containers_phrase(bad)} must not set runAsUser=0")
    return ("runAsUser=0", "; ".join(parts)) if parts else None


def check_seccomp_restricted(meta: Spec, spec: Spec) -> tuple[str, str] | None:
    ok = ("RuntimeDefault", "Localhost")
    pod_type = _seccomp_type(spec.get("securityContext") or {})
    parts = []
    if pod_type is not None and pod_type not in ok:
        parts.append(f'pod must not set securityContext.seccompProfile.type to "{pod_type}"')
    wrong = [c for c in _containers(spec) if _seccomp_type(_sc(c)) not in (None, *ok)]
    if wrong:
        values = _uniq(str(_seccomp_type(_sc(c))) for c in wrong)
        parts.append(
            f"{_containers_phrase([c.get('name', '') for c in wrong])} must not set "
            f"securityContext.seccompProfile.type to {_quote_all(values)}"
        )
    if pod_type is None:
        unset = [c.get("name", "") for c in _containers(spec) if _seccomp_type(_sc(c)) is None]
        if unset:
            parts.append(
                f'pod or {_containers_phrase(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
            )
    return ("seccompProfile", "; ".join(parts)) if parts else None


# (check id, check) sorted by id; restricted checks override some baseline ones.
BASELINE: list[tuple[str, Check]] = [
    ("appArmorProfile", check_apparmor),
    ("capabilities_baseline", check_capabilities_baseline),
    ("hostNamespaces", check_host_namespaces),
    ("hostPathVolumes", check_host_path),
    ("hostPorts", check_host_ports),
    ("hostProcess", check_host_process),
    ("privileged", check_privileged),
    ("procMount", check_proc_mount),
    ("seLinuxOptions", check_selinux),
    ("seccompProfile_baseline", check_seccomp_baseline),
    ("sysctls", check_sysctls),
]
RESTRICTED: list[tuple[str, Check]] = [
    ("allowPrivilegeEscalation", check_privilege_escalation),
    ("capabilities_restricted", check_capabilities_restricted),
    ("restrictedVolumes", check_restricted_volumes),
    ("runAsNonRoot", check_run_as_non_root),
    ("runAsUser", check_run_as_user),
    ("seccompProfile_restricted", check_seccomp_restricted),
]
_OVERRIDDEN_BY_RESTRICTED = {"capabilities_baseline", "hostPathVolumes", "seccompProfile_baseline"}


def violations(level: str, meta: Spec, spec: Spec) -> list[str]:
    """``"<reason> (<detail>)"`` for every failed check of ``level`` (empty when allowed)."""
    if level == "privileged":
        return []
    checks = list(BASELINE)
    if level == "restricted":
        checks = [c for c in checks if c[0] not in _OVERRIDDEN_BY_RESTRICTED] + RESTRICTED
    out = []
    for _, check in checks:
        found = check(meta, spec)
        if found is not None:
            out.append(f"{found[0]} ({found[1]})" if found[1] else found[0])
    return out


def namespace_policy(ns: Mapping[str, Any] | None) -> dict[str, tuple[str, str]]:
    """mode -> (level, version) from a namespace's labels; unparsable levels are restricted."""
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    out = {}
    for mode in MODES:
        level = labels.get(LABEL_PREFIX + mode)
        if level is None:
            out[mode] = ("privileged", "latest")
            continue
        version = str(labels.get(f"{LABEL_PREFIX}{mode}-version") or "latest")
        out[mode] = (level if level in LEVELS else "restricted", version)
    return out


def _dig(obj: Mapping[str, Any] | None, path: tuple[str, ...]) -> dict[str, Any] | None:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur if isinstance(cur, dict) else None


class PodSecurity:
    """Validating plugin; reads ``namespaces`` (and ``pods`` when an enforce level rises)."""

    name = "PodSecurity"

    def __init__(self, objects: ObjectSource, *, exempt_namespaces: frozenset[str] = frozenset(),
                 exempt_users: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self._objects = objects
        self._exempt_ns = exempt_namespaces
        self._exempt_users = exempt_users

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if attrs.obj is None or attrs.operation not in (Operation.CREATE, Operation.UPDATE):
            return False
        key = (attrs.group, attrs.resource)
        if key == ("", "pods"):
            return attrs.subresource in ("", "ephemeralcontainers")
        if key == ("", "namespaces"):
            return attrs.subresource == ""
        return key in _TEMPLATE_RESOURCES and attrs.subresource == ""

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if attrs.user.name in self._exempt_users:
            return
        if attrs.resource == "namespaces":
            self._namespace(attrs)
            return
        if attrs.namespace in self._exempt_ns:
            return
        policy = namespace_policy(self._objects.get("namespaces", "", attrs.namespace))
        if all(level == "privileged" for level, _ in policy.values()):
            return
        if attrs.resource == "pods":
            pod = attrs.obj or {}
            if attrs.operation is Operation.UPDATE and attrs.subresource == "" and attrs.old is not None:
                if (pod.get("spec") or {}) == ((attrs.old or {}).get("spec") or {}):
                    return
            meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
            enforce_level, enforce_version = policy["enforce"]
            found = violations(enforce_level, meta, spec)
            warn_level, warn_version = policy["warn"]
            warned = violations(warn_level, meta, spec)
            if warned:
                self._warn(attrs, f'would violate PodSecurity "{warn_level}:{warn_version}": {", ".join(warned)}')
            if found:
                raise forbidden(
                    attrs, f'violates PodSecurity "{enforce_level}:{enforce_version}": {", ".join(found)}'
                )
            return
        template = _dig(attrs.obj, _TEMPLATE_RESOURCES[(attrs.group, attrs.resource)])
        if template is None:
            return
        meta, spec = template.get("metadata") or {}, template.get("spec") or {}
        for mode in ("enforce", "warn"):
            level, version = policy[mode]
            found = violations(level, meta, spec)
            if found:
                self._warn(attrs, f'would violate PodSecurity "{level}:{version}": {", ".join(found)}')
                break

    @staticmethod
    def _warn(attrs: AdmissionAttributes, text: str) -> None:
        sink = getattr(attrs, "warnings", None)
        if isinstance(sink, list) and text not in sink:
            sink.append(text)

    def _namespace(self, attrs: AdmissionAttributes) -> None:
        labels = ((attrs.obj or {}).get("metadata") or {}).get("labels") or {}
        errs = []
        for mode in MODES:
            key = LABEL_PREFIX + mode
            if key in labels and labels[key] not in LEVELS:
                errs.append(FieldError.invalid(
                    f"metadata.labels[{key}]", labels[key], 'must be one of privileged, baseline, restricted'
                ))  # fmt: skip
        if errs:
            raise Invalid("Namespace", attrs.name, errs)
        if attrs.operation is not Operation.UPDATE:
            return
        new_level, new_version = namespace_policy(attrs.obj)["enforce"]
        old_level, _ = namespace_policy(attrs.old)["enforce"]
        if LEVELS.index(new_level) <= LEVELS.index(old_level) or attrs.name in self._exempt_ns:
            return
        offenders = []
        for pod in self._objects.list("pods", attrs.name):
            found = violations(new_level, pod.get("metadata") or {}, pod.get("spec") or {})
            if found:
                name = (pod.get("metadata") or {}).get("name", "")
                offenders.append(f"{name}: {', '.join(f.split(' (')[0] for f in found)}")
        if offenders:
            self._warn(
                attrs,
                f'existing pods in namespace "{attrs.name}" violate the new PodSecurity enforce level '
                f'"{new_level}:{new_version}"',
            )
            for text in offenders:
                self._warn(attrs, text)
