"""The built-in resource table: every group-version-resource kube-apiserver v1.36 serves by
default, as data. :mod:`k3trio.api.registry` turns these rows into lookups.

Invariants (checked by the unit tests against the reference swagger.json):
- Each row's verbs and subresources are exactly the operations the swagger lists for the
  path (``x-kubernetes-action``), mapped to discovery verbs (post->create, put->update,
  watch/watchlist->watch, connect->create/get or the proxy set).
- Only GA group-versions enabled by default are here; alpha and beta APIs in the swagger are
  off by default upstream and so are off here.
- ``GROUP_ORDER`` is the order of ``/apis`` discovery upstream (the aggregator's group
  priorities, highest first); within a group the first version is the preferred one.
- Storage prefixes follow kube-apiserver's etcd layout (``/registry/<prefix>/[ns/]name``),
  quirks included: nodes under ``minions``, services under ``services/specs``, endpoints
  under ``services/endpoints``, replication controllers under ``controllers`` and ingresses
  under ``ingress``. Resources sharing storage (core and events.k8s.io events, autoscaling
  v1 and v2 horizontal pod autoscalers) share a prefix. Virtual resources (reviews,
  bindings, component statuses) have none.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["GROUP_ORDER", "ROWS", "SUBRESOURCE_TEMPLATES", "Row"]

CRUD: Final = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION: Final = ("create", "delete", "get", "list", "patch", "update", "watch")
CREATE_ONLY: Final = ("create",)
READ_ONLY: Final = ("get", "list")

# (group, [versions, preferred first]) in upstream discovery order.
GROUP_ORDER: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("", ("v1",)),
    ("apiregistration.k8s.io", ("v1",)),
    ("apps", ("v1",)),
    ("events.k8s.io", ("v1",)),
    ("authentication.k8s.io", ("v1",)),
    ("authorization.k8s.io", ("v1",)),
    ("autoscaling", ("v2", "v1")),
    ("batch", ("v1",)),
    ("certificates.k8s.io", ("v1",)),
    ("networking.k8s.io", ("v1",)),
    ("policy", ("v1",)),
    ("rbac.authorization.k8s.io", ("v1",)),
    ("storage.k8s.io", ("v1",)),
    ("admissionregistration.k8s.io", ("v1",)),
    ("apiextensions.k8s.io", ("v1",)),
    ("scheduling.k8s.io", ("v1",)),
    ("coordination.k8s.io", ("v1",)),
    ("node.k8s.io", ("v1",)),
    ("discovery.k8s.io", ("v1",)),
    ("flowcontrol.apiserver.k8s.io", ("v1",)),
    ("resource.k8s.io", ("v1",)),
)

# Subresource name -> (group, version, kind of its body or "" for the parent's kind, verbs).
# ``proxy`` kinds depend on the parent (PodProxyOptions, NodeProxyOptions, ...).
_PROXY_VERBS = ("create", "delete", "get", "patch", "update")
_GPU = ("get", "patch", "update")
SUBRESOURCE_TEMPLATES: Final[dict[str, tuple[str, str, str, tuple[str, ...]]]] = {
    "status": ("", "", "", _GPU),
    "scale": ("autoscaling", "v1", "Scale", _GPU),
    "binding": ("", "v1", "Binding", CREATE_ONLY),
    "eviction": ("policy", "v1", "Eviction", CREATE_ONLY),
    "ephemeralcontainers": ("", "", "", _GPU),
    "resize": ("", "", "", _GPU),
    "log": ("", "", "", ("get",)),
    "exec": ("", "v1", "PodExecOptions", ("create", "get")),
    "attach": ("", "v1", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "v1", "PodPortForwardOptions", ("create", "get")),
    "proxy": ("", "v1", "{kind}ProxyOptions", _PROXY_VERBS),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", CREATE_ONLY),
    "finalize": ("", "", "", ("update",)),
    "approval": ("", "", "", _GPU),
}


class Row(NamedTuple):
    group: str
    versions: tuple[str, ...]
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = CRUD
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    # Storage: key prefix under /registry ("" when the resource is virtual) and the
    # apiVersion objects are persisted at.
    storage_prefix: str | None = None  # None: same as resource
    storage_version: str = ""  # "": the group's preferred version


_ALL = ("all",)
_EXT = ("api-extensions",)
_POD_SUBS = (
    "attach", "binding", "ephemeralcontainers", "eviction", "exec", "log",
    "portforward", "proxy", "resize", "status",
)  # fmt: skip

V1 = ("v1",)

ROWS: Final[tuple[Row, ...]] = (
    # -- core/v1 -------------------------------------------------------------------------
    Row("", V1, "bindings", "Binding", True, CREATE_ONLY, storage_prefix=""),
    Row("", V1, "componentstatuses", "ComponentStatus", False, READ_ONLY, ("cs",), storage_prefix=""),
    Row("", V1, "configmaps", "ConfigMap", True, CRUD, ("cm",)),
    Row("", V1, "endpoints", "Endpoints", True, CRUD, ("ep",), storage_prefix="services/endpoints"),
    Row("", V1, "events", "Event", True, CRUD, ("ev",)),
    Row("", V1, "limitranges", "LimitRange", True, CRUD, ("limits",)),
    Row("", V1, "namespaces", "Namespace", False, NO_COLLECTION, ("ns",), (), ("finalize", "status")),
    Row("", V1, "nodes", "Node", False, CRUD, ("no",), (), ("proxy", "status"), storage_prefix="minions"),
    Row("", V1, "persistentvolumeclaims", "PersistentVolumeClaim", True, CRUD, ("pvc",), (), ("status",)),
    Row("", V1, "persistentvolumes", "PersistentVolume", False, CRUD, ("pv",), (), ("status",)),
    Row("", V1, "pods", "Pod", True, CRUD, ("po",), _ALL, _POD_SUBS),
    Row("", V1, "podtemplates", "PodTemplate", True, CRUD),
    Row("", V1, "replicationcontrollers", "ReplicationController", True, CRUD, ("rc",), _ALL,
        ("scale", "status"), storage_prefix="controllers"),
    Row("", V1, "resourcequotas", "ResourceQuota", True, CRUD, ("quota",), (), ("status",)),
    Row("", V1, "secrets", "Secret", True, CRUD),
    Row("", V1, "serviceaccounts", "ServiceAccount", True, CRUD, ("sa",), (), ("token",)),
    Row("", V1, "services", "Service", True, CRUD, ("svc",), _ALL, ("proxy", "status"),
        storage_prefix="services/specs"),
    # -- apiregistration.k8s.io ----------------------------------------------------------
    Row("apiregistration.k8s.io", V1, "apiservices", "APIService", False, CRUD, (), _EXT, ("status",),
        storage_prefix="apiregistration.k8s.io/apiservices"),
    # -- apps/v1 -------------------------------------------------------------------------
    Row("apps", V1, "controllerrevisions", "ControllerRevision", True),
    Row("apps", V1, "daemonsets", "DaemonSet", True, CRUD, ("ds",), _ALL, ("status",)),
    Row("apps", V1, "deployments", "Deployment", True, CRUD, ("deploy",), _ALL, ("scale", "status")),
    Row("apps", V1, "replicasets", "ReplicaSet", True, CRUD, ("rs",), _ALL, ("scale", "status")),
    Row("apps", V1, "statefulsets", "StatefulSet", True, CRUD, ("sts",), _ALL, ("scale", "status")),
    # -- events.k8s.io/v1 (same storage as core events) ----------------------------------
    Row("events.k8s.io", V1, "events", "Event", True, CRUD, ("ev",), storage_version="v1"),
    # -- authentication / authorization (virtual, create only) ---------------------------
    Row("authentication.k8s.io", V1, "selfsubjectreviews", "SelfSubjectReview", False, CREATE_ONLY,
        storage_prefix=""),
    Row("authentication.k8s.io", V1, "tokenreviews", "TokenReview", False, CREATE_ONLY, storage_prefix=""),
    Row("authorization.k8s.io", V1, "localsubjectaccessreviews", "LocalSubjectAccessReview", True,
        CREATE_ONLY, storage_prefix=""),
    Row("authorization.k8s.io", V1, "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
        CREATE_ONLY, storage_prefix=""),
    Row("authorization.k8s.io", V1, "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
        CREATE_ONLY, storage_prefix=""),
    Row("authorization.k8s.io", V1, "subjectaccessreviews", "SubjectAccessReview", False, CREATE_ONLY,
        storage_prefix=""),
    # -- autoscaling (v2 preferred; both versions share storage) -------------------------
    Row("autoscaling", ("v2", "v1"), "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, CRUD,
        ("hpa",), _ALL, ("status",), storage_version="autoscaling/v2"),
    # -- batch/v1 ------------------------------------------------------------------------
    Row("batch", V1, "cronjobs", "CronJob", True, CRUD, ("cj",), _ALL, ("status",)),
    Row("batch", V1, "jobs", "Job", True, CRUD, (), _ALL, ("status",)),
    # -- certificates.k8s.io/v1 ----------------------------------------------------------
    Row("certificates.k8s.io", V1, "certificatesigningrequests", "CertificateSigningRequest", False,
        CRUD, ("csr",), (), ("approval", "status")),
    # -- networking.k8s.io/v1 ------------------------------------------------------------
    Row("networking.k8s.io", V1, "ingressclasses", "IngressClass", False),
    Row("networking.k8s.io", V1, "ingresses", "Ingress", True, CRUD, ("ing",), (), ("status",),
        storage_prefix="ingress"),
    Row("networking.k8s.io", V1, "ipaddresses", "IPAddress", False, CRUD, ("ip",)),
    Row("networking.k8s.io", V1, "networkpolicies", "NetworkPolicy", True, CRUD, ("netpol",)),
    Row("networking.k8s.io", V1, "servicecidrs", "ServiceCIDR", False, CRUD, (), (), ("status",)),
    # -- policy/v1 -----------------------------------------------------------------------
    Row("policy", V1, "poddisruptionbudgets", "PodDisruptionBudget", True, CRUD, ("pdb",), (), ("status",)),
    # -- rbac.authorization.k8s.io/v1 ----------------------------------------------------
    Row("rbac.authorization.k8s.io", V1, "clusterrolebindings", "ClusterRoleBinding", False),
    Row("rbac.authorization.k8s.io", V1, "clusterroles", "ClusterRole", False),
    Row("rbac.authorization.k8s.io", V1, "rolebindings", "RoleBinding", True),
    Row("rbac.authorization.k8s.io", V1, "roles", "Role", True),
    # -- storage.k8s.io/v1 ---------------------------------------------------------------
    Row("storage.k8s.io", V1, "csidrivers", "CSIDriver", False),
    Row("storage.k8s.io", V1, "csinodes", "CSINode", False),
    Row("storage.k8s.io", V1, "csistoragecapacities", "CSIStorageCapacity", True),
    Row("storage.k8s.io", V1, "storageclasses", "StorageClass", False, CRUD, ("sc",)),
    Row("storage.k8s.io", V1, "volumeattachments", "VolumeAttachment", False, CRUD, (), (), ("status",)),
    Row("storage.k8s.io", V1, "volumeattributesclasses", "VolumeAttributesClass", False, CRUD, ("vac",)),
    # -- admissionregistration.k8s.io/v1 -------------------------------------------------
    Row("admissionregistration.k8s.io", V1, "mutatingadmissionpolicies", "MutatingAdmissionPolicy",
        False, CRUD, (), _EXT),
    Row("admissionregistration.k8s.io", V1, "mutatingadmissionpolicybindings",
        "MutatingAdmissionPolicyBinding", False, CRUD, (), _EXT),
    Row("admissionregistration.k8s.io", V1, "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration", False, CRUD, (), _EXT),
    Row("admissionregistration.k8s.io", V1, "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
        False, CRUD, (), _EXT, ("status",)),
    Row("admissionregistration.k8s.io", V1, "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding", False, CRUD, (), _EXT),
    Row("admissionregistration.k8s.io", V1, "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration", False, CRUD, (), _EXT),
    # -- apiextensions.k8s.io/v1 ---------------------------------------------------------
    Row("apiextensions.k8s.io", V1, "customresourcedefinitions", "CustomResourceDefinition", False, CRUD,
        ("crd", "crds"), _EXT, ("status",), storage_prefix="apiextensions.k8s.io/customresourcedefinitions"),
    # -- scheduling / coordination / node / discovery ------------------------------------
    Row("scheduling.k8s.io", V1, "priorityclasses", "PriorityClass", False, CRUD, ("pc",)),
    Row("coordination.k8s.io", V1, "leases", "Lease", True),
    Row("node.k8s.io", V1, "runtimeclasses", "RuntimeClass", False),
    Row("discovery.k8s.io", V1, "endpointslices", "EndpointSlice", True),
    # -- flowcontrol.apiserver.k8s.io/v1 -------------------------------------------------
    Row("flowcontrol.apiserver.k8s.io", V1, "flowschemas", "FlowSchema", False, CRUD, (), (), ("status",)),
    Row("flowcontrol.apiserver.k8s.io", V1, "prioritylevelconfigurations", "PriorityLevelConfiguration",
        False, CRUD, (), (), ("status",)),
    # -- resource.k8s.io/v1 (dynamic resource allocation, GA) ----------------------------
    Row("resource.k8s.io", V1, "deviceclasses", "DeviceClass", False),
    Row("resource.k8s.io", V1, "resourceclaims", "ResourceClaim", True, CRUD, (), (), ("status",)),
    Row("resource.k8s.io", V1, "resourceclaimtemplates", "ResourceClaimTemplate", True),
    Row("resource.k8s.io", V1, "resourceslices", "ResourceSlice", False),
)
