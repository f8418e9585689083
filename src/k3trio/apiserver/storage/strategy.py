"""Per-kind storage behaviour (upstream's ``rest.RESTCreateStrategy`` & co.), pure.

A :class:`Strategy` decides, for one resource, what the registry does around defaults and
validation: which fields a create resets, whether ``metadata.generation`` is kept and when
it is bumped, which part of an object the main resource and the ``status`` subresource may
change, and whether PUT may create or skip the resourceVersion precondition.

Invariants:
- ``prepare_for_create``/``prepare_for_update`` mutate the incoming object only.
- On the main resource of a kind with a ``status`` subresource, the stored status wins; on
  ``/status`` only the status (and, as upstream allows, labels/annotations are *not*) comes
  from the request: everything else is the stored object's.
- Generation starts at 1 and grows by one exactly when the object outside ``metadata`` and
  ``status`` changed (spec-like fields), for kinds that use it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ...api import defaults as _defaults
from ...api import fields as _fields
from ...api import validation as _validation
from ...api.errors import FieldError
from ...api.quantity import QuantityError, quantity_from_json
from ...api.registry import ResourceInfo

__all__ = ["Strategy", "strategy_for", "pod_qos_class"]

Obj = dict[str, Any]

#: Kinds whose objects carry ``metadata.generation`` (group, kind).
_GENERATION_KINDS = frozenset(
    {
        ("", "Pod"),
        ("", "ReplicationController"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "Ingress"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    }
)

#: Kinds whose status a create resets to empty.
_CLEAR_STATUS_ON_CREATE = frozenset(
    {
        ("", "ReplicationController"),
        ("", "Service"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "Ingress"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
    }
)

#: Resources where PUT of a missing object creates it (``AllowCreateOnUpdate``).
_CREATE_ON_UPDATE = frozenset(
    {
        ("", "endpoints"),
        ("", "limitranges"),
        ("coordination.k8s.io", "leases"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
    }
)


def _resources(container: Obj, key: str) -> Obj:
    res = container.get("resources") or {}
    value = res.get(key) or {}
    return value if isinstance(value, dict) else {}


def pod_qos_class(pod: Obj) -> str:
    """``GetPodQOS``: Guaranteed, Burstable or BestEffort."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        requests = _resources(c, "requests")
        limits = _resources(c, "limits")
        for name in ("cpu", "memory"):
            req, lim = requests.get(name), limits.get(name)
            if _nonzero(req) or _nonzero(lim):
                any_set = True
            if lim is None or not _nonzero(lim):
                guaranteed = False
            elif req is not None and not _same(req, lim):
                guaranteed = False
    pod_res = spec.get("resources")
    if isinstance(pod_res, dict) and (pod_res.get("requests") or pod_res.get("limits")):
        any_set = True
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _nonzero(value: Any) -> bool:
    if value is None:
        return False
    try:
        return quantity_from_json(value).sign() != 0  # type: ignore[attr-defined,no-any-return]
    except (QuantityError, AttributeError, TypeError):
        return str(value) not in ("0", "")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(quantity_from_json(a) == quantity_from_json(b))
    except (QuantityError, TypeError):
        return str(a) == str(b)


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Strategy:
    """The behaviour of one resource; subclasses specialise kinds (pods, namespaces, CRs)."""

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info
        gk = (info.group, info.kind)
        self.uses_generation = gk in _GENERATION_KINDS or info.custom
        self.has_status = info.subresource("status") is not None
        self.clear_status_on_create = gk in _CLEAR_STATUS_ON_CREATE or (info.custom and self.has_status)
        self.allow_create_on_update = (info.group, info.resource) in _CREATE_ON_UPDATE
        self.allow_unconditional_update = not info.custom and gk != (
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
        )
        self._field_kind = _fields.FIELD_TABLE.get(gk)

    # -- field selectors -----------------------------------------------------------------------
    def field_set(self, obj: Obj) -> dict[str, str]:
        return _fields.field_set(self.info.group, self.info.kind, obj, self.info.namespaced)

    # -- create / update -----------------------------------------------------------------------
    def prepare_for_create(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if self.uses_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if self.clear_status_on_create:
            if self.info.custom:
                obj.pop("status", None)
            else:
                obj["status"] = {}

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        old_meta = old.get("metadata") or {}
        if self.has_status:
            if "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)
        if self.uses_generation:
            generation = int(old_meta.get("generation") or 0)
            if _spec_part(obj) != _spec_part(old):
                generation += 1
            meta["generation"] = generation
        else:
            meta.pop("generation", None)

    def prepare_for_status_update(self, obj: Obj, old: Obj) -> Obj:
        """The object a ``/status`` write stores: the stored one with the new status."""
        out = copy.deepcopy(old)
        if "status" in obj:
            out["status"] = obj["status"]
        else:
            out.pop("status", None)
        meta = out.setdefault("metadata", {})
        new_meta = obj.get("metadata") or {}
        if "resourceVersion" in new_meta:
            meta["resourceVersion"] = new_meta["resourceVersion"]
        return out

    def prepare_for_delete(self, obj: Obj, now: str) -> bool:
        """Changes the first delete request makes before finalizers run (True: changed)."""
        return False

    def default(self, obj: Obj, version: str) -> None:
        _defaults.apply_defaults(self.info.group, version, self.info.kind, obj)

    def validate(self, obj: Obj, old: Obj | None) -> list[FieldError]:
        return _validation.validate(
            self.info.group, self.info.version, self.info.kind, obj, old, namespaced=self.info.namespaced
        )

    def validate_status(self, obj: Obj, old: Obj) -> list[FieldError]:
        return _validation.validate_status_update(self.info.group, self.info.version, self.info.kind, obj, old)


class PodStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)


class NamespaceStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {})
        fins = spec.get("finalizers") or []
        if "kubernetes" not in fins:
            spec["finalizers"] = [*fins, "kubernetes"]

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        # Spec finalizers change only through /finalize; status only through /status.
        super().prepare_for_update(obj, old)
        if "spec" in old:
            obj["spec"] = copy.deepcopy(old["spec"])
        else:
            obj.pop("spec", None)


class PersistentVolumeStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending"}


class CustomResourceStrategy(Strategy):
    """Custom resources: schema defaulting, pruning and validation from the CRD engineer."""

    def __init__(self, info: ResourceInfo, schema: Obj | None) -> None:
        super().__init__(info)
        self.schema = schema

    def default(self, obj: Obj, version: str) -> None:
        if self.schema is None:
            return
        try:
            from ...api import crd as _crd  # optional until the CRD package lands
        except ImportError:
            return
        _crd.prune(self.schema, obj)
        _crd.apply_defaults(self.schema, obj)

    def validate(self, obj: Obj, old: Obj | None) -> list[FieldError]:
        errs = super().validate(obj, old)
        if self.schema is not None:
            try:
                from ...api import crd as _crd
            except ImportError:
                return errs
            errs += _crd.validate(self.schema, obj)
        return errs


#: The finalizer that makes a CRD's deletion remove its custom resources first.
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def _storage_version(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage"):
            return str(v.get("name", ""))
    return ""


def set_crd_condition(crd: Obj, ctype: str, status: str, reason: str, message: str, now: str) -> bool:
    """Set one status condition (transition time moves only when the status does)."""
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == ctype:
            if (cond.get("status"), cond.get("reason"), cond.get("message")) == (status, reason, message):
                return False
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now
            cond.update(status=status, reason=reason, message=message)
            return True
    conditions.append({"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason, "message": message})
    return True


class CRDStrategy(Strategy):
    """CustomResourceDefinitions: CRD validation, stored versions, cleanup on delete."""

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        status: Obj = {}
        storage = _storage_version(obj)
        if storage:
            status["storedVersions"] = [storage]
        obj["status"] = status

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)
        storage = _storage_version(obj)
        status = obj.setdefault("status", {})
        stored = list(status.get("storedVersions") or [])
        if storage and storage not in stored:
            status["storedVersions"] = stored + [storage]

    def validate(self, obj: Obj, old: Obj | None) -> list[FieldError]:
        from ...api.crd import validate_crd

        errs = super().validate(obj, old)
        return errs + validate_crd(obj, old)

    def prepare_for_delete(self, obj: Obj, now: str) -> bool:
        meta = obj.setdefault("metadata", {})
        if meta.get("deletionTimestamp"):
            return False
        finalizers = list(meta.get("finalizers") or [])
        changed = False
        if CRD_CLEANUP_FINALIZER not in finalizers:
            meta["finalizers"] = finalizers + [CRD_CLEANUP_FINALIZER]
            changed = True
        changed |= set_crd_condition(
            obj, "Terminating", "True", "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon", now,
        )
        return changed


_SPECIAL: dict[tuple[str, str], Callable[[ResourceInfo], Strategy]] = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): CRDStrategy,
    ("", "pods"): PodStrategy,
    ("", "namespaces"): NamespaceStrategy,
    ("", "persistentvolumes"): PersistentVolumeStrategy,
}


def strategy_for(info: ResourceInfo) -> Strategy:
    """The strategy of a built-in resource."""
    factory = _SPECIAL.get((info.group, info.resource), Strategy)
    return factory(info)
