"""Per-kind validation: ``validate(group, version, kind, obj, old=None) -> list[FieldError]``.

Validation runs after defaulting. It checks the object metadata common to every kind (name
rule and scope of the kind, labels, annotations, owner references, finalizers; on update the
immutable identity fields) and then the kind's own rules. An empty list means valid; the API
server turns a non-empty list into a 422 with :class:`k3trio.api.errors.Invalid`.

Kinds not listed here get the metadata checks only (DNS-subdomain names), which is what the
API server does for kinds without specific rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from k3trio.api.errors import FieldError
from k3trio.api.meta import (
    NameValidator,
    validate_dns1035_label_name,
    validate_dns1123_label_name,
    validate_dns1123_subdomain_name,
    validate_object_meta,
    validate_object_meta_update,
    validate_path_segment_name,
)
from k3trio.api.validation import kinds as k
from k3trio.api.validation.cron import parse_schedule
from k3trio.api.validation.pod import validate_pod_spec, validate_pod_update

__all__ = ["KindRules", "parse_schedule", "rules_for", "validate", "validate_pod_spec", "validate_status_update"]

Obj = dict[str, Any]
SpecValidator = Callable[[Obj, "Obj | None"], list[FieldError]]


def _pod(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs = validate_pod_spec(obj.get("spec"), "spec")
    if old is not None:
        errs += validate_pod_update(obj, old)
    return errs


def _none(obj: Obj, old: Obj | None) -> list[FieldError]:
    return []


@dataclass(frozen=True)
class KindRules:
    namespaced: bool
    name: NameValidator = validate_dns1123_subdomain_name
    spec: SpecValidator = _none


_SUB = validate_dns1123_subdomain_name
_RULES: dict[tuple[str, str], KindRules] = {
    ("", "Pod"): KindRules(True, _SUB, _pod),
    ("", "Service"): KindRules(True, validate_dns1035_label_name, k.validate_service),
    ("", "ConfigMap"): KindRules(True, _SUB, k.validate_config_map),
    ("", "Secret"): KindRules(True, _SUB, k.validate_secret),
    ("", "Namespace"): KindRules(False, validate_dns1123_label_name, k.validate_namespace),
    ("", "Node"): KindRules(False, _SUB, k.validate_node),
    ("", "ServiceAccount"): KindRules(True, _SUB),
    ("", "PersistentVolumeClaim"): KindRules(True, _SUB, k.validate_pvc),
    ("", "PersistentVolume"): KindRules(False, _SUB),
    ("", "Endpoints"): KindRules(True, _SUB),
    ("", "Event"): KindRules(True, _SUB, k.validate_event),
    ("", "PodTemplate"): KindRules(True, _SUB),
    ("", "ResourceQuota"): KindRules(True, _SUB),
    ("", "LimitRange"): KindRules(True, _SUB),
    ("apps", "Deployment"): KindRules(True, _SUB, k.validate_deployment),
    ("apps", "ReplicaSet"): KindRules(True, _SUB, k.validate_replica_set),
    ("apps", "StatefulSet"): KindRules(True, _SUB, k.validate_stateful_set),
    ("apps", "DaemonSet"): KindRules(True, _SUB, k.validate_daemon_set),
    ("apps", "ControllerRevision"): KindRules(True, _SUB),
    ("batch", "Job"): KindRules(True, _SUB, k.validate_job),
    ("batch", "CronJob"): KindRules(True, _SUB, k.validate_cron_job),
    ("rbac.authorization.k8s.io", "Role"): KindRules(True, validate_path_segment_name, k.validate_role),
    ("rbac.authorization.k8s.io", "ClusterRole"): KindRules(False, validate_path_segment_name, k.validate_cluster_role),
    ("rbac.authorization.k8s.io", "RoleBinding"): KindRules(True, validate_path_segment_name, k.validate_role_binding),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): KindRules(False, validate_path_segment_name, k.validate_cluster_role_binding),
    ("coordination.k8s.io", "Lease"): KindRules(True, _SUB, k.validate_lease),
    ("events.k8s.io", "Event"): KindRules(True, _SUB),
    ("scheduling.k8s.io", "PriorityClass"): KindRules(False, _SUB, k.validate_priority_class),
    ("storage.k8s.io", "StorageClass"): KindRules(False, _SUB, k.validate_storage_class),
    ("networking.k8s.io", "Ingress"): KindRules(True, _SUB),
    ("networking.k8s.io", "IngressClass"): KindRules(False, _SUB),
    ("networking.k8s.io", "NetworkPolicy"): KindRules(True, _SUB),
    ("discovery.k8s.io", "EndpointSlice"): KindRules(True, _SUB),
    ("policy", "PodDisruptionBudget"): KindRules(True, _SUB),
    ("autoscaling", "HorizontalPodAutoscaler"): KindRules(True, _SUB),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): KindRules(False, _SUB),
}


def rules_for(group: str, kind: str, *, namespaced: bool | None = None) -> KindRules:
    """The rules of a kind; unknown kinds get metadata-only rules with the given scope."""
    rules = _RULES.get((group, kind))
    if rules is None:
        return KindRules(bool(namespaced) if namespaced is not None else True)
    return rules


def validate(
    group: str, version: str, kind: str, obj: Obj, old: Obj | None = None, *, namespaced: bool | None = None
) -> list[FieldError]:
    """Validate ``obj`` for create (``old`` None) or update.

    Args:
        group, version, kind: the object's type.
        obj: the (defaulted) object.
        old: the stored object on update.
        namespaced: scope for kinds not known here (custom resources); ignored otherwise.

    Returns:
        The field errors, empty when valid.
    """
    rules = rules_for(group, kind, namespaced=namespaced)
    errs = validate_object_meta(obj, namespaced=rules.namespaced, name_validator=rules.name)
    if old is not None:
        errs += validate_object_meta_update(obj, old)
    errs += rules.spec(obj, old)
    return errs


def validate_status_update(group: str, version: str, kind: str, obj: Obj, old: Obj) -> list[FieldError]:
    """Validate a write to the ``status`` subresource: metadata immutability plus status
    fields that must stay non-negative."""
    errs = validate_object_meta_update(obj, old)
    status = obj.get("status") or {}
    if isinstance(status, dict):
        for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "unavailableReplicas",
                    "currentReplicas", "observedGeneration", "succeeded", "failed", "active",
                    "currentNumberScheduled", "desiredNumberScheduled", "numberReady", "numberMisscheduled"):
            value = status.get(key)
            if isinstance(value, int) and value < 0:
                errs.append(FieldError.invalid(f"status.{key}", value, "must be greater than or equal to 0"))
    if group == "" and kind == "Pod":
        new_node, old_node = (obj.get("spec") or {}).get("nodeName"), (old.get("spec") or {}).get("nodeName")
        if new_node != old_node:
            errs.append(FieldError.forbidden("spec.nodeName", "may not be changed"))
    return errs
