"""The default RBAC policy a fresh cluster starts with (upstream's bootstrap policy, v1.36).

:func:`bootstrap_policy` returns every object as a plain JSON dict: ClusterRoles,
ClusterRoleBindings, and the Roles/RoleBindings of ``kube-system`` and ``kube-public``.
Each carries the label ``kubernetes.io/bootstrapping: rbac-defaults`` and the annotation
``rbac.authorization.kubernetes.io/autoupdate: "true"``, so the server may reconcile them
on start (add missing rules/subjects) while leaving objects whose annotation an admin set to
``"false"`` alone.

Differences from kube-apiserver, by design:

- k3trio has no Node authorizer, so ``system:node`` is bound to the ``system:nodes`` group
  (the binding upstream leaves subject-less).
- The K3s-style extras: ``system:k3trio-controller`` (role and binding for the in-process
  controller identity) and ``kube-apiserver-kubelet-admin`` (the API server's client
  identity may use the kubelet API).
- The aggregated roles ``admin``/``edit``/``view`` are delivered with their rules already
  aggregated (what the aggregation controller would write).

Rule lists are written the way the upstream policy builder normalises them: verbs,
resources, resource names and URLs sorted; API groups in the order given.
"""

from __future__ import annotations

import copy
from typing import Any

from .aggregation import resolve_aggregation

__all__ = [
    "AUTOUPDATE_ANNOTATION",
    "BOOTSTRAP_LABEL",
    "bootstrap_policy",
    "cluster_role_bindings",
    "cluster_roles",
    "namespace_role_bindings",
    "namespace_roles",
]

BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE_ANNOTATION = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
CONTROLLER_PREFIX = "system:controller:"
K3TRIO_CONTROLLER = "system:k3trio-controller"
APISERVER_USER = "system:apiserver"

READ = ("get", "list", "watch")
READ_WRITE = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
WRITE = ("create", "update", "patch", "delete", "deletecollection")

Rule = dict[str, Any]


def r(verbs: tuple[str, ...] | str, groups: tuple[str, ...] | str, *resources: str, names: tuple[str, ...] = ()) -> Rule:
    """A resource rule (verbs, resources and names sorted as the upstream builder does)."""
    verbs_t = (verbs,) if isinstance(verbs, str) else verbs
    groups_t = (groups,) if isinstance(groups, str) else groups
    rule: Rule = {"apiGroups": list(groups_t)}
    if names:
        rule["resourceNames"] = sorted(names)
    rule["resources"] = sorted(resources)
    rule["verbs"] = sorted(verbs_t)
    return rule


def urls(verbs: tuple[str, ...] | str, *paths: str) -> Rule:
    verbs_t = (verbs,) if isinstance(verbs, str) else verbs
    return {"nonResourceURLs": sorted(paths), "verbs": sorted(verbs_t)}


def events() -> Rule:
    return r(("create", "update", "patch"), ("", "events.k8s.io"), "events")


def _meta(name: str, namespace: str = "", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"annotations": dict(AUTOUPDATE_ANNOTATION), "labels": {**BOOTSTRAP_LABEL, **(labels or {})}, "name": name}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _cluster_role(name: str, rules: list[Rule], *, labels: dict[str, str] | None = None, aggregate_from: str = "") -> dict[str, Any]:
    role: dict[str, Any] = {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": _meta(name, labels=labels)}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate_from}": "true"}}]}
    role["rules"] = rules
    return role


def _subject(kind: str, name: str, namespace: str = "") -> dict[str, str]:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}


def _binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, str]], namespace: str = "") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": RBAC_API,
        "kind": kind,
        "metadata": _meta(name, namespace),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
    }
    if subjects:
        obj["subjects"] = subjects
    return obj


def _crb(name: str, *subjects: dict[str, str], role: str = "") -> dict[str, Any]:
    return _binding("ClusterRoleBinding", name, "ClusterRole", role or name, list(subjects))


def _user(name: str) -> dict[str, str]:
    return _subject("User", name)


def _group(name: str) -> dict[str, str]:
    return _subject("Group", name)


def _sa(namespace: str, name: str) -> dict[str, str]:
    return _subject("ServiceAccount", name, namespace)


# -- cluster roles ------------------------------------------------------------------------------


def _aggregate_to_edit() -> list[Rule]:
    return [
        r(READ, "", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
        r("impersonate", "", "serviceaccounts"),
        r(WRITE, "", "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
        r("create", "", "pods/eviction"),
        r(WRITE, "", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
          "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"),
        r("create", "", "serviceaccounts/token"),
        r(WRITE, "apps", "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
          "deployments/rollback", "replicasets", "replicasets/scale"),
        r(WRITE, "autoscaling", "horizontalpodautoscalers"),
        r(WRITE, "batch", "jobs", "cronjobs"),
        r(WRITE, "extensions", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
          "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
        r(WRITE, "policy", "poddisruptionbudgets"),
        r(WRITE, "networking.k8s.io", "ingresses", "networkpolicies"),
        r(READ_WRITE, "coordination.k8s.io", "leases"),
    ]  # fmt: skip


def _aggregate_to_view() -> list[Rule]:
    return [
        r(READ, "", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
          "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
        r(READ, "", "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
          "namespaces/status", "replicationcontrollers/status", "pods/log"),
        r(READ, "", "namespaces"),
        r(READ, "discovery.k8s.io", "endpointslices"),
        r(READ, "apps", "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale", "daemonsets",
          "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets",
          "replicasets/status", "replicasets/scale"),
        r(READ, "autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
        r(READ, "batch", "jobs", "cronjobs", "cronjobs/status", "jobs/status"),
        r(READ, "extensions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
          "deployments/status", "ingresses", "ingresses/status", "replicasets", "replicasets/scale",
          "replicasets/status", "replicationcontrollers/scale", "networkpolicies"),
        r(READ, "policy", "poddisruptionbudgets", "poddisruptionbudgets/status"),
        r(READ, "networking.k8s.io", "ingresses", "ingresses/status", "networkpolicies"),
    ]  # fmt: skip


def _leader_lease(name: str) -> list[Rule]:
    return [
        r("create", "coordination.k8s.io", "leases"),
        r(("get", "update"), "coordination.k8s.io", "leases", names=(name,)),
    ]


def _signer_approver(signer: str) -> list[Rule]:
    return [r("approve", "certificates.k8s.io", "signers", names=(signer,))]


def cluster_roles() -> list[dict[str, Any]]:
    """The non-controller default ClusterRoles."""
    agg_admin = {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}
    agg_edit = {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}
    agg_view = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    roles = [
        _cluster_role("admin", [], aggregate_from="admin"),
        _cluster_role("cluster-admin", [r("*", "*", "*"), urls("*", "*")]),
        _cluster_role("edit", [], labels=agg_admin, aggregate_from="edit"),
        _cluster_role("system:aggregate-to-admin", [
            r("create", "authorization.k8s.io", "localsubjectaccessreviews"),
            r(READ_WRITE, RBAC_GROUP, "roles", "rolebindings"),
        ], labels=agg_admin),
        _cluster_role("system:aggregate-to-edit", _aggregate_to_edit(), labels=agg_edit),
        _cluster_role("system:aggregate-to-view", _aggregate_to_view(), labels=agg_view),
        _cluster_role("system:auth-delegator", [
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
        ]),
        _cluster_role("system:basic-user", [
            r("create", "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
            r("create", "authentication.k8s.io", "selfsubjectreviews"),
        ]),
        _cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                      [r("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient")]),
        _cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                      [r("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient")]),
        _cluster_role("system:certificates.k8s.io:kube-apiserver-client-approver",
                      _signer_approver("kubernetes.io/kube-apiserver-client")),
        _cluster_role("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
                      _signer_approver("kubernetes.io/kube-apiserver-client-kubelet")),
        _cluster_role("system:certificates.k8s.io:kubelet-serving-approver",
                      _signer_approver("kubernetes.io/kubelet-serving")),
        _cluster_role("system:certificates.k8s.io:legacy-unknown-approver",
                      _signer_approver("kubernetes.io/legacy-unknown")),
        _cluster_role("system:discovery", [
            urls("get", "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                 "/readyz", "/version", "/version/"),
        ]),
        _cluster_role("system:heapster", [
            r(READ, "", "events", "pods", "nodes", "namespaces"),
            r(READ, "extensions", "deployments"),
        ]),
        _cluster_role("system:kube-aggregator", [r(READ, "", "services", "endpoints")]),
        _cluster_role("system:kube-controller-manager", [
            events(),
            *_leader_lease("kube-controller-manager"),
            r("create", "", "secrets", "serviceaccounts"),
            r("delete", "", "secrets"),
            r("get", "", "namespaces", "secrets", "serviceaccounts", "configmaps"),
            r("update", "", "secrets", "serviceaccounts"),
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
            r(("list", "watch"), "*", "*"),
            r("create", "", "serviceaccounts/token"),
        ]),
        _cluster_role("system:kube-dns", [r(("list", "watch"), "", "endpoints", "services")]),
        _cluster_role("system:kube-scheduler", [
            events(),
            *_leader_lease("kube-scheduler"),
            r(READ, "", "nodes"),
            r(("get", "list", "watch", "delete"), "", "pods"),
            r("create", "", "pods/binding", "bindings"),
            r(("patch", "update"), "", "pods/status"),
            r(READ, "", "replicationcontrollers", "services"),
            r(READ, ("apps", "extensions"), "replicasets"),
            r(READ, "apps", "statefulsets"),
            r(READ, "policy", "poddisruptionbudgets"),
            r(READ, "", "persistentvolumeclaims", "persistentvolumes"),
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
            r(READ, "storage.k8s.io", "csinodes"),
            r(READ, "", "namespaces"),
            r(READ, "storage.k8s.io", "csidrivers"),
            r(READ, "storage.k8s.io", "csistoragecapacities"),
        ]),
        _cluster_role("system:kubelet-api-admin", [
            r(READ, "", "nodes"),
            r("proxy", "", "nodes"),
            r("*", "", "nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"),
        ]),
        _cluster_role("system:monitoring", [
            urls("get", "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*",
                 "/healthz/*"),
        ]),
        _cluster_role("system:node", [
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews", "localsubjectaccessreviews"),
            r(READ, "", "services"),
            r(("create", "get", "list", "watch"), "", "nodes"),
            r(("update", "patch"), "", "nodes/status"),
            r(("update", "patch"), "", "nodes"),
            r(("create", "update", "patch"), "", "events"),
            r(READ, "", "pods"),
            r(("create", "delete"), "", "pods"),
            r(("update", "patch"), "", "pods/status"),
            r("create", "", "pods/eviction"),
            r(READ, "", "secrets", "configmaps"),
            r("get", "", "persistentvolumeclaims", "persistentvolumes"),
            r("get", "", "endpoints"),
            r(("create", "get", "list", "watch"), "certificates.k8s.io", "certificatesigningrequests"),
            r(("get", "create", "update", "patch", "delete"), "coordination.k8s.io", "leases"),
            r("get", "storage.k8s.io", "volumeattachments"),
            r("create", "", "serviceaccounts/token"),
            r(("get", "update", "patch"), "", "persistentvolumeclaims/status"),
            r(READ, "storage.k8s.io", "csidrivers"),
            r(("create", "delete", "get", "patch", "update"), "storage.k8s.io", "csinodes"),
            r(READ, "node.k8s.io", "runtimeclasses"),
        ]),
        _cluster_role("system:node-bootstrapper", [
            r(("create", "get", "list", "watch"), "certificates.k8s.io", "certificatesigningrequests"),
        ]),
        _cluster_role("system:node-problem-detector", [
            r("get", "", "nodes"),
            r("patch", "", "nodes/status"),
            events(),
        ]),
        _cluster_role("system:node-proxier", [
            r(("list", "watch"), "", "services", "endpoints"),
            r(READ, "", "nodes"),
            events(),
            r(("list", "watch"), "discovery.k8s.io", "endpointslices"),
        ]),
        _cluster_role("system:persistent-volume-provisioner", [
            r(("get", "list", "watch", "create", "delete"), "", "persistentvolumes"),
            r(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            r(READ, "storage.k8s.io", "storageclasses"),
            r("watch", "", "events"),
            events(),
        ]),
        _cluster_role("system:public-info-viewer", [
            urls("get", "/livez", "/readyz", "/healthz", "/version", "/version/"),
        ]),
        _cluster_role("system:service-account-issuer-discovery", [
            urls("get", "/.well-known/openid-configuration", "/openid/v1/jwks"),
        ]),
        _cluster_role("system:volume-scheduler", [
            r(("get", "list", "watch", "patch", "update"), "", "persistentvolumes"),
            r(READ, "storage.k8s.io", "storageclasses"),
            r(("get", "list", "watch", "patch", "update"), "", "persistentvolumeclaims"),
        ]),
        _cluster_role("view", [], labels=agg_edit, aggregate_from="view"),
        _cluster_role(K3TRIO_CONTROLLER, [
            r("get", "", "nodes"),
            r(("list", "watch"), "", "namespaces"),
            r(("list", "watch"), "networking.k8s.io", "networkpolicies"),
            r(("list", "get", "watch"), "", "endpoints", "pods"),
        ]),
    ]  # fmt: skip
    return roles


def _controller_roles() -> list[tuple[str, list[Rule]]]:
    apps_ext = ("extensions", "apps")
    return [
        ("clusterrole-aggregation-controller", [
            r(("escalate", "get", "list", "watch", "update", "patch"), RBAC_GROUP, "clusterroles"),
        ]),
        ("cronjob-controller", [
            r(("get", "list", "watch", "update"), "batch", "cronjobs"),
            r(("get", "list", "watch", "create", "update", "delete", "patch"), "batch", "jobs"),
            r("update", "batch", "cronjobs/status"),
            r("update", "batch", "cronjobs/finalizers"),
            r(("list", "watch", "delete"), "", "pods"),
            events(),
        ]),
        ("daemon-set-controller", [
            r(READ, apps_ext, "daemonsets"),
            r("update", apps_ext, "daemonsets/status"),
            r("update", apps_ext, "daemonsets/finalizers"),
            r(("list", "watch"), "", "nodes"),
            r(("list", "watch", "create", "delete", "patch"), "", "pods"),
            r("create", "", "pods/binding"),
            r(("get", "list", "watch", "create", "delete", "update", "patch"), "apps", "controllerrevisions"),
            events(),
        ]),
        ("deployment-controller", [
            r(("get", "list", "watch", "update"), apps_ext, "deployments"),
            r("update", apps_ext, "deployments/status"),
            r("update", apps_ext, "deployments/finalizers"),
            r(("get", "list", "watch", "create", "update", "patch", "delete"), ("apps", "extensions"), "replicasets"),
            r(("get", "list", "watch", "update"), "", "pods"),
            events(),
        ]),
        ("disruption-controller", [
            r(READ, apps_ext, "deployments"),
            r(READ, ("apps", "extensions"), "replicasets"),
            r(READ, "", "replicationcontrollers"),
            r(READ, "policy", "poddisruptionbudgets"),
            r(READ, "apps", "statefulsets"),
            r("update", "policy", "poddisruptionbudgets/status"),
            r(("patch", "update"), "", "pods/status"),
            r("get", "*", "*/scale"),
            events(),
        ]),
        ("endpoint-controller", [
            r(READ, "", "services", "pods"),
            r(("get", "list", "watch", "create", "update", "delete"), "", "endpoints"),
            r("create", "", "endpoints/restricted"),
            events(),
        ]),
        ("endpointslice-controller", [
            r(READ, "", "services", "pods", "nodes"),
            r("update", "", "services/finalizers"),
            r(("get", "list", "watch", "create", "update", "delete"), "discovery.k8s.io", "endpointslices"),
            events(),
        ]),
        ("endpointslicemirroring-controller", [
            r(READ, "", "services", "endpoints"),
            r("update", "", "services/finalizers"),
            r("update", "", "endpoints/finalizers"),
            r(("get", "list", "watch", "create", "update", "delete"), "discovery.k8s.io", "endpointslices"),
            events(),
        ]),
        ("ephemeral-volume-controller", [
            r(READ, "", "pods"),
            r("update", "", "pods/finalizers"),
            r(("get", "list", "watch", "create"), "", "persistentvolumeclaims"),
            events(),
        ]),
        ("expand-controller", [
            r(("get", "list", "watch", "update", "patch"), "", "persistentvolumes"),
            r(("update", "patch"), "", "persistentvolumeclaims/status"),
            r(READ, "", "persistentvolumeclaims"),
            events(),
            r("get", "", "services"),
        ]),
        ("generic-garbage-collector", [
            r(("get", "list", "watch", "patch", "update", "delete"), "*", "*"),
            events(),
        ]),
        ("horizontal-pod-autoscaler", [
            r(READ, "autoscaling", "horizontalpodautoscalers"),
            r("update", "autoscaling", "horizontalpodautoscalers/status"),
            r(("get", "update"), "*", "*/scale"),
            r(("list", "watch"), "", "pods"),
            r(("list", "watch"), "metrics.k8s.io", "pods"),
            r(READ, "custom.metrics.k8s.io", "*"),
            r(READ, "external.metrics.k8s.io", "*"),
            events(),
        ]),
        ("job-controller", [
            r(("get", "list", "watch", "update", "patch"), "batch", "jobs"),
            r("update", "batch", "jobs/status"),
            r("update", "batch", "jobs/finalizers"),
            r(("list", "watch", "create", "delete", "patch"), "", "pods"),
            events(),
        ]),
        ("legacy-service-account-token-cleaner", [
            r("get", "", "configmaps", names=("kube-apiserver-legacy-service-account-token-tracking",)),
            r(("patch", "delete"), "", "secrets"),
        ]),
        ("namespace-controller", [
            r(("get", "list", "watch", "delete"), "", "namespaces"),
            r("update", "", "namespaces/finalize", "namespaces/status"),
            r(("get", "list", "watch", "delete", "deletecollection"), "*", "*"),
        ]),
        ("node-controller", [
            r(("get", "list", "watch", "update", "delete", "patch"), "", "nodes"),
            r(("patch", "update"), "", "nodes/status"),
            r(("patch", "update"), "", "pods/status"),
            r(("list", "watch", "get", "delete"), "", "pods"),
            events(),
        ]),
        ("persistent-volume-binder", [
            r(("get", "list", "watch", "update", "create", "delete"), "", "persistentvolumes"),
            r("update", "", "persistentvolumes/status"),
            r(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            r("update", "", "persistentvolumeclaims/status"),
            r(("list", "watch", "get", "create", "delete"), "", "pods"),
            r(READ, "storage.k8s.io", "storageclasses"),
            r(("list", "watch"), "", "nodes"),
            events(),
            r("watch", "", "events"),
            r("get", "", "services"),
        ]),
        ("pod-garbage-collector", [
            r(("list", "watch", "delete"), "", "pods"),
            r(READ, "", "nodes"),
            r("patch", "", "pods/status"),
        ]),
        ("pv-protection-controller", [
            r(("get", "list", "watch", "update"), "", "persistentvolumes"),
            events(),
        ]),
        ("pvc-protection-controller", [
            r(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            r(("list", "watch", "get"), "", "pods"),
            events(),
        ]),
        ("replicaset-controller", [
            r(("get", "list", "watch", "update"), ("apps", "extensions"), "replicasets"),
            r("update", ("apps", "extensions"), "replicasets/status"),
            r("update", ("apps", "extensions"), "replicasets/finalizers"),
            r(("list", "watch", "patch", "create", "delete"), "", "pods"),
            events(),
        ]),
        ("replication-controller", [
            r(("get", "list", "watch", "update"), "", "replicationcontrollers"),
            r("update", "", "replicationcontrollers/status"),
            r("update", "", "replicationcontrollers/finalizers"),
            r(("list", "watch", "patch", "create", "delete"), "", "pods"),
            events(),
        ]),
        ("resourcequota-controller", [
            r(("list", "watch"), "*", "*"),
            r("update", "", "resourcequotas/status"),
            events(),
        ]),
        ("root-ca-cert-publisher", [
            r(("create", "update"), "", "configmaps"),
            events(),
        ]),
        ("route-controller", [
            r(("list", "watch"), "", "nodes"),
            r("patch", "", "nodes/status"),
            events(),
        ]),
        ("service-account-controller", [
            r("create", "", "serviceaccounts"),
            events(),
        ]),
        ("service-cidrs-controller", [
            r(("get", "list", "watch", "patch", "update"), "networking.k8s.io", "servicecidrs"),
            r(("patch", "update"), "networking.k8s.io", "servicecidrs/finalizers"),
            r(("patch", "update"), "networking.k8s.io", "servicecidrs/status"),
            r(READ, "networking.k8s.io", "ipaddresses"),
            events(),
        ]),
        ("service-controller", [
            r(READ, "", "services"),
            r(("patch", "update"), "", "services/status"),
            r(("list", "watch"), "", "nodes"),
            events(),
        ]),
        ("statefulset-controller", [
            r(("list", "watch"), "", "pods"),
            r(READ, "apps", "statefulsets"),
            r("update", "apps", "statefulsets/status"),
            r("update", "apps", "statefulsets/finalizers"),
            r(("get", "create", "delete", "update", "patch"), "", "pods"),
            r(("get", "create", "delete", "update", "patch", "list", "watch"), "apps", "controllerrevisions"),
            r(("get", "create", "list", "watch"), "", "persistentvolumeclaims"),
            r(("update", "delete"), "", "persistentvolumeclaims"),
            r("update", "", "pods/finalizers"),
            events(),
        ]),
        ("ttl-after-finished-controller", [
            r(("get", "list", "watch", "delete"), "batch", "jobs"),
            events(),
        ]),
        ("ttl-controller", [
            r(("update", "patch", "list", "watch"), "", "nodes"),
            events(),
        ]),
        ("certificate-controller", [
            r(("get", "list", "watch", "delete"), "certificates.k8s.io", "certificatesigningrequests"),
            r("update", "certificates.k8s.io", "certificatesigningrequests/status",
              "certificatesigningrequests/approval"),
            r("approve", "certificates.k8s.io", "signers", names=("kubernetes.io/kube-apiserver-client-kubelet",)),
            r("sign", "certificates.k8s.io", "signers", names=(
                "kubernetes.io/legacy-unknown", "kubernetes.io/kube-apiserver-client",
                "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving")),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
            events(),
        ]),
        ("validatingadmissionpolicy-status-controller", [
            r(READ, "admissionregistration.k8s.io", "validatingadmissionpolicies"),
            r(("get", "patch", "update"), "admissionregistration.k8s.io", "validatingadmissionpolicies/status"),
            events(),
        ]),
        ("volumeattributesclass-protection-controller", [
            r(("list", "watch", "get"), "", "persistentvolumeclaims"),
            r(("list", "watch", "get"), "", "persistentvolumes"),
            r(("get", "list", "watch", "update"), "storage.k8s.io", "volumeattributesclasses"),
            events(),
        ]),
    ]  # fmt: skip


def controller_roles() -> list[dict[str, Any]]:
    return [_cluster_role(CONTROLLER_PREFIX + name, rules) for name, rules in _controller_roles()]


def controller_role_bindings() -> list[dict[str, Any]]:
    return [_crb(CONTROLLER_PREFIX + name, _sa("kube-system", name)) for name, _ in _controller_roles()]


def cluster_role_bindings() -> list[dict[str, Any]]:
    return [
        _crb("cluster-admin", _group("system:masters")),
        _crb("system:basic-user", _group("system:authenticated")),
        _crb("system:discovery", _group("system:authenticated")),
        _crb("system:kube-controller-manager", _user("system:kube-controller-manager")),
        _crb("system:kube-dns", _sa("kube-system", "kube-dns")),
        _crb("system:kube-scheduler", _user("system:kube-scheduler")),
        _crb("system:monitoring", _group("system:monitoring")),
        _crb("system:node", _group("system:nodes")),
        _crb("system:node-proxier", _user("system:kube-proxy")),
        _crb("system:public-info-viewer", _group("system:authenticated"), _group("system:unauthenticated")),
        _crb("system:service-account-issuer-discovery", _group("system:serviceaccounts")),
        _crb("system:volume-scheduler", _user("system:kube-scheduler")),
        _crb(K3TRIO_CONTROLLER, _user(K3TRIO_CONTROLLER)),
        _crb("kube-apiserver-kubelet-admin", _user(APISERVER_USER), role="system:kubelet-api-admin"),
    ]


def _role(name: str, namespace: str, rules: list[Rule]) -> dict[str, Any]:
    return {"apiVersion": RBAC_API, "kind": "Role", "metadata": _meta(name, namespace), "rules": rules}


def namespace_roles() -> list[dict[str, Any]]:
    ks, kp = "kube-system", "kube-public"
    return [
        _role("extension-apiserver-authentication-reader", ks, [
            r(READ, "", "configmaps", names=("extension-apiserver-authentication",)),
        ]),
        _role("system::leader-locking-kube-controller-manager", ks, [
            r("watch", "", "configmaps"),
            r(("get", "update"), "", "configmaps", names=("kube-controller-manager",)),
        ]),
        _role("system::leader-locking-kube-scheduler", ks, [
            r("watch", "", "configmaps"),
            r(("get", "update"), "", "configmaps", names=("kube-scheduler",)),
        ]),
        _role("system:controller:bootstrap-signer", ks, [r(READ, "", "secrets")]),
        _role("system:controller:cloud-provider", ks, [r(("create", "get", "list", "watch"), "", "configmaps")]),
        _role("system:controller:token-cleaner", ks, [
            r(("delete", "get", "list", "watch"), "", "secrets"),
            events(),
        ]),
        _role("system:controller:bootstrap-signer", kp, [
            r(READ, "", "configmaps"),
            r("update", "", "configmaps", names=("cluster-info",)),
            events(),
        ]),
    ]  # fmt: skip


def namespace_role_bindings() -> list[dict[str, Any]]:
    ks, kp = "kube-system", "kube-public"

    def rb(name: str, role: str, namespace: str, *subjects: dict[str, str]) -> dict[str, Any]:
        return _binding("RoleBinding", name, "Role", role, list(subjects), namespace)

    return [
        rb("system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader", ks,
           _user("system:kube-controller-manager"), _user("system:kube-scheduler")),
        rb("system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager", ks,
           _sa(ks, "kube-controller-manager"), _user("system:kube-controller-manager")),
        rb("system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler", ks,
           _sa(ks, "kube-scheduler"), _user("system:kube-scheduler")),
        rb("system:controller:bootstrap-signer", "system:controller:bootstrap-signer", ks, _sa(ks, "bootstrap-signer")),
        rb("system:controller:cloud-provider", "system:controller:cloud-provider", ks, _sa(ks, "cloud-provider")),
        rb("system:controller:token-cleaner", "system:controller:token-cleaner", ks, _sa(ks, "token-cleaner")),
        rb("system:controller:bootstrap-signer", "system:controller:bootstrap-signer", kp, _sa(ks, "bootstrap-signer")),
    ]  # fmt: skip


def bootstrap_policy() -> list[dict[str, Any]]:
    """Every default RBAC object, ClusterRoles first (fresh copies on each call)."""
    roles = cluster_roles() + controller_roles()
    resolve_aggregation(roles)
    objs = roles + cluster_role_bindings() + controller_role_bindings() + namespace_roles() + namespace_role_bindings()
    return copy.deepcopy(objs)
