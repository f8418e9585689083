"""Per-kind storage behaviour (upstream's ``rest.RESTCreateStrategy`` & co.), pure.

A :class:`Strategy` decides, for one resource, what the registry does around defaults and
validation: which fields a create resets, whether ``metadata.generation`` is kept and when
it is bumped, which part of an object the main resource and the ``status`` subresource may
change, and whether PUT may create or skip the resourceVersion precondition.

Invariants:
- ``prepare_for_create``/``prepare_for_update`` mutate the incoming object only.
- On the main resource of a kind with a ``status`` subresource, the stored status wins; on
  ``/status`` the status and, for most kinds, labels/annotations/ownerReferences/finalizers
  come from the request (custom resources and a few kinds keep all stored metadata);
  everything else is the stored object's.
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

#: What a create leaves as status for kinds whose status a create resets: the zero value
#: as upstream's JSON shows it (fields without ``omitempty`` stay).
_EMPTY_STATUS: dict[tuple[str, str], Obj] = {
    ("", "Service"): {"loadBalancer": {}},
    ("networking.k8s.io", "Ingress"): {"loadBalancer": {}},
    ("", "ReplicationController"): {"replicas": 0},
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {
        "currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0,
    },
    ("policy", "PodDisruptionBudget"): {
        "disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0,
    },
}

#: Kinds whose ``/status`` writes keep all of the stored metadata (upstream's
#: ``ResetObjectMetaForStatus`` or a full ObjectMeta copy); other kinds take labels,
#: annotations, owner references and finalizers from a status write, as upstream's
#: status strategies that only reset the spec do.
_STATUS_KEEPS_METADATA = frozenset(
    {
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("resource.k8s.io", "ResourceClaim"),
    }
)

#: Metadata a status write may not change even where it may change the rest.
_STATUS_KEEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("ownerReferences",),
    ("apps", "Deployment"): ("labels",),
    ("apps", "ReplicaSet"): ("labels",),
    ("apps", "StatefulSet"): ("labels",),
    ("apps", "DaemonSet"): ("labels",),
}

#: The metadata fields a status write may carry over from the request.
_STATUS_METADATA = ("labels", "annotations", "ownerReferences", "finalizers")

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
        return quantity_from_json(value).sign() != 0
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
        self.empty_status: Obj = _EMPTY_STATUS.get(gk, {})
        if info.custom or gk in _STATUS_KEEPS_METADATA:
            self.status_metadata: tuple[str, ...] = ()
        else:
            keep = _STATUS_KEEPS.get(gk, ())
            self.status_metadata = tuple(k for k in _STATUS_METADATA if k not in keep)

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
                obj["status"] = copy.deepcopy(self.empty_status)

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
        for key in self.status_metadata:
            if new_meta.get(key):
                meta[key] = copy.deepcopy(new_meta[key])
            else:
                meta.pop(key, None)
        if "resourceVersion" in new_meta:
            meta["resourceVersion"] = new_meta["resourceVersion"]
        return out

    def prepare_for_delete(self, obj: Obj, now: str) -> bool:
        """Changes the first delete request makes before finalizers run (True: changed)."""
        return False

    def prepare_for_approval(self, obj: Obj, old: Obj) -> Obj:
        """The object an ``/approval`` write stores (only CSRs have that subresource)."""
        return obj

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

    def on_read(self, obj: Obj) -> None:
        """Defaults of the current schema on objects read from the store (upstream's
        storage decoder defaults, so a default added later shows on old objects)."""
        if self.schema is None:
            return
        try:
            from ...api import crd as _crd
        except ImportError:  # pragma: no cover
            return
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


_APPROVAL_CONDITIONS = ("Approved", "Denied")


def _stamp_conditions(new: Obj, old: Obj, now: str) -> None:
    """Fill a CSR condition's missing ``lastUpdateTime`` (now) and ``lastTransitionTime``
    (kept from a stored condition of the same type and status, else now)."""
    old_conditions = (old.get("status") or {}).get("conditions") or []
    for cond in (new.get("status") or {}).get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        if not cond.get("lastUpdateTime"):
            cond["lastUpdateTime"] = now
        if not cond.get("lastTransitionTime"):
            cond["lastTransitionTime"] = next(
                (
                    o["lastTransitionTime"] for o in old_conditions
                    if isinstance(o, dict) and o.get("type") == cond.get("type")
                    and o.get("status") == cond.get("status") and o.get("lastTransitionTime")
                ),
                now,
            )


class CSRStrategy(Strategy):
    """CertificateSigningRequests: ``/approval`` changes only the Approved/Denied conditions,
    ``/status`` the certificate and the other conditions; both stamp condition times."""

    def prepare_for_status_update(self, obj: Obj, old: Obj) -> Obj:
        out = super().prepare_for_status_update(obj, old)
        new_conditions = [
            c for c in (out.get("status") or {}).get("conditions") or []
            if not (isinstance(c, dict) and c.get("type") in _APPROVAL_CONDITIONS)
        ]
        kept = [
            c for c in (old.get("status") or {}).get("conditions") or []
            if isinstance(c, dict) and c.get("type") in _APPROVAL_CONDITIONS
        ]
        conditions = kept + new_conditions
        status = out.setdefault("status", {})
        if conditions:
            status["conditions"] = conditions
        else:
            status.pop("conditions", None)
        _stamp_conditions(out, old, _now_text())
        return out

    def prepare_for_approval(self, obj: Obj, old: Obj) -> Obj:
        out = copy.deepcopy(old)
        conditions = (obj.get("status") or {}).get("conditions")
        status = out.setdefault("status", {})
        if conditions:
            status["conditions"] = copy.deepcopy(conditions)
        else:
            status.pop("conditions", None)
        new_meta = obj.get("metadata") or {}
        if "resourceVersion" in new_meta:
            out.setdefault("metadata", {})["resourceVersion"] = new_meta["resourceVersion"]
        _stamp_conditions(out, old, _now_text())
        return out


def _now_text() -> str:
    from datetime import datetime, timezone

    from ...api import meta as _meta

    return _meta.format_time(datetime.now(timezone.utc))


_SPECIAL: dict[tuple[str, str], Callable[[ResourceInfo], Strategy]] = {
    ("certificates.k8s.io", "certificatesigningrequests"): CSRStrategy,
    ("apiextensions.k8s.io", "customresourcedefinitions"): CRDStrategy,
    ("", "pods"): PodStrategy,
    ("", "namespaces"): NamespaceStrategy,
    ("", "persistentvolumes"): PersistentVolumeStrategy,
}


def strategy_for(info: ResourceInfo) -> Strategy:
    """The strategy of a built-in resource."""
    factory = _SPECIAL.get((info.group, info.resource), Strategy)
    return factory(info)
