"""Defaulting of pods and pod templates (core/v1 ``SetDefaults_Pod``, ``_PodSpec``, ``_Container``,
``_Probe``, ``_Volume`` ... as the generated ``SetObjectDefaults_*`` apply them).

Every function fills only fields that are absent (or ``null``/empty where upstream treats the
zero value as unset) and mutates in place. ``default_pod_spec`` is used for ``Pod.spec`` and
for every embedded ``PodTemplateSpec`` (Deployment, Job, ...); the pod-only rules
(``enableServiceLinks``, requests copied from limits) live in ``default_pod``.

Not here: priority/preemptionPolicy, the service-account name and token volume, and the
not-ready/unreachable tolerations are set by admission plugins, not by defaulting.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

DEFAULT_TERMINATION_GRACE_PERIOD = 30
DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_MODE = 0o644  # 420


def _setdefault(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) in (None, ""):
        obj[key] = value


def image_tag(image: str) -> tuple[str, str]:
    """(tag, digest) of an image reference; tag is ``latest`` when neither is given."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag and not digest:
        tag = "latest"
    return tag, digest


def default_image_pull_policy(image: str) -> str:
    tag, _ = image_tag(image)
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_http_get(handler: Obj | None) -> None:
    if not isinstance(handler, dict):
        return
    http = handler.get("httpGet")
    if isinstance(http, dict):
        _setdefault(http, "path", "/")
        _setdefault(http, "scheme", "HTTP")


def default_probe(probe: Obj | None) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _default_http_get(probe)
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


def _default_env(env: list[Obj] | None) -> None:
    for var in env or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            _setdefault(field_ref, "apiVersion", "v1")


def default_container(c: Obj, *, host_network: bool = False) -> None:
    """``SetDefaults_Container`` plus the per-field defaults of its ports, probes and env."""
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = default_image_pull_policy(str(c.get("image") or ""))
    _setdefault(c, "terminationMessagePath", "/dev/termination-log")
    _setdefault(c, "terminationMessagePolicy", "File")
    if c.get("resources") is None:
        c["resources"] = {}
    for port in c.get("ports") or []:
        _setdefault(port, "protocol", "TCP")
        if host_network and not port.get("hostPort"):
            port["hostPort"] = port.get("containerPort")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        default_probe(c.get(key))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_http_get(lifecycle.get("postStart"))
        _default_http_get(lifecycle.get("preStop"))
    _default_env(c.get("env"))


_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
    "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
    "csi", "ephemeral", "image",
)


def _default_items(items: list[Obj] | None) -> None:
    for item in items or []:
        ref = item.get("fieldRef")
        if isinstance(ref, dict):
            _setdefault(ref, "apiVersion", "v1")


def default_volume(v: Obj) -> None:
    """``SetDefaults_Volume`` and the defaults of each volume source."""
    if not any(v.get(src) is not None for src in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = v.get(key)
        if isinstance(src, dict) and src.get("defaultMode") is None:
            src["defaultMode"] = DEFAULT_MODE
    host = v.get("hostPath")
    if isinstance(host, dict) and host.get("type") is None:
        host["type"] = ""
    down = v.get("downwardAPI")
    if isinstance(down, dict):
        _default_items(down.get("items"))
    proj = v.get("projected")
    if isinstance(proj, dict):
        for source in proj.get("sources") or []:
            if isinstance(source.get("downwardAPI"), dict):
                _default_items(source["downwardAPI"].get("items"))
            token = source.get("serviceAccountToken")
            if isinstance(token, dict) and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = 3600
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict):
        _setdefault(iscsi, "iscsiInterface", "default")
    rbd = v.get("rbd")
    if isinstance(rbd, dict):
        _setdefault(rbd, "pool", "rbd")
        _setdefault(rbd, "user", "admin")
        _setdefault(rbd, "keyring", "/etc/ceph/keyring")
    azure = v.get("azureDisk")
    if isinstance(azure, dict):
        _setdefault(azure, "cachingMode", "ReadWrite")
        _setdefault(azure, "fsType", "ext4")
        if azure.get("readOnly") is None:
            azure["readOnly"] = False
        _setdefault(azure, "kind", "Shared")
    eph = v.get("ephemeral")
    if isinstance(eph, dict):
        spec = (eph.get("volumeClaimTemplate") or {}).get("spec")
        if isinstance(spec, dict):
            _setdefault(spec, "volumeMode", "Filesystem")


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and the nested defaults of a pod or template spec."""
    _setdefault(spec, "dnsPolicy", "ClusterFirst")
    _setdefault(spec, "restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD
    _setdefault(spec, "schedulerName", DEFAULT_SCHEDULER)
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            default_container(c, host_network=host_network)
    for c in spec.get("ephemeralContainers") or []:
        _setdefault(c, "terminationMessagePath", "/dev/termination-log")
        _setdefault(c, "terminationMessagePolicy", "File")
        if not c.get("imagePullPolicy"):
            c["imagePullPolicy"] = default_image_pull_policy(str(c.get("image") or ""))
        if c.get("resources") is None:
            c["resources"] = {}
    for v in spec.get("volumes") or []:
        default_volume(v)


def default_pod_template(template: Obj | None) -> None:
    """Defaults for an embedded ``PodTemplateSpec``."""
    if not isinstance(template, dict):
        return
    spec = template.get("spec")
    if isinstance(spec, dict):
        default_pod_spec(spec)


def _requests_from_limits(resources: Obj | None) -> None:
    if not isinstance(resources, dict):
        return
    limits = resources.get("limits") or {}
    if not limits:
        return
    requests = resources.get("requests")
    if requests is None:
        requests = resources["requests"] = {}
    for name, value in limits.items():
        requests.setdefault(name, value)


def default_pod(pod: Obj) -> None:
    """``SetObjectDefaults_Pod``: the spec defaults plus the pod-only rules."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            _requests_from_limits(c.get("resources"))
    if spec.get("resources") is not None:
        _requests_from_limits(spec["resources"])
