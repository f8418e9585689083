"""Storage plugins: DefaultStorageClass, StorageObjectInUseProtection, PersistentVolumeClaimResize.

- DefaultStorageClass (mutating, PVC create): a claim with no ``storageClassName`` (absent,
  not ``""``) and no beta class annotation gets the default class: the StorageClass annotated
  ``storageclass.kubernetes.io/is-default-class: "true"`` (or the beta annotation); with
  several, the newest one (then the first by name), as upstream since 1.26.
- StorageObjectInUseProtection (mutating, create): PVCs get the ``kubernetes.io/pvc-protection``
  finalizer and PVs ``kubernetes.io/pv-protection``.
- PersistentVolumeClaimResize (validating, PVC update): growing ``requests.storage`` needs a
  StorageClass with ``allowVolumeExpansion: true``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from k3trio.apiserver.admission._common import annotations_of, forbidden, meta_of, resource_list, spec_of
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

STORAGE_CLASSES = "storageclasses.storage.k8s.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


def newest_default(objs: Sequence[Mapping[str, Any]], annotations: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The most recently created object carrying any of ``annotations`` set to ``"true"``."""
    defaults = [o for o in objs if any(annotations_of(o).get(a) == "true" for a in annotations)]
    if not defaults:
        return None
    defaults.sort(key=lambda o: str(meta_of(o).get("name", "")))
    defaults.sort(key=lambda o: str(meta_of(o).get("creationTimestamp", "")), reverse=True)
    return defaults[0]


class DefaultStorageClass:
    name = "DefaultStorageClass"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == ""
            and attrs.resource == "persistentvolumeclaims"
            and not attrs.subresource
            and attrs.obj is not None
        )

    async def admit(self, attrs: AdmissionAttributes) -> None:
        pvc = attrs.obj
        assert pvc is not None
        spec = pvc.setdefault("spec", {})
        if spec.get("storageClassName") is not None or BETA_CLASS_ANNOTATION in annotations_of(pvc):
            return
        found = newest_default(
            self._objects.list(STORAGE_CLASSES), (DEFAULT_CLASS_ANNOTATION, BETA_DEFAULT_CLASS_ANNOTATION)
        )
        if found is not None:
            spec["storageClassName"] = meta_of(found).get("name", "")


class StorageObjectInUseProtection:
    name = "StorageObjectInUseProtection"

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.CREATE
            and attrs.group == ""
            and attrs.resource in ("persistentvolumeclaims", "persistentvolumes")
            and not attrs.subresource
            and attrs.obj is not None
        )

    async def admit(self, attrs: AdmissionAttributes) -> None:
        assert attrs.obj is not None
        finalizer = PVC_PROTECTION if attrs.resource == "persistentvolumeclaims" else PV_PROTECTION
        meta = attrs.obj.setdefault("metadata", {})
        finalizers = meta.get("finalizers")
        if not isinstance(finalizers, list):
            finalizers = []
        if finalizer not in finalizers:
            finalizers.append(finalizer)
        meta["finalizers"] = finalizers


class PersistentVolumeClaimResize:
    name = "PersistentVolumeClaimResize"

    def __init__(self, objects: ObjectSource) -> None:
        self._objects = objects

    def handles(self, attrs: AdmissionAttributes) -> bool:
        return (
            attrs.operation is Operation.UPDATE
            and attrs.group == ""
            and attrs.resource == "persistentvolumeclaims"
            and not attrs.subresource
            and attrs.obj is not None
            and attrs.old is not None
        )

    async def validate(self, attrs: AdmissionAttributes) -> None:
        def size(obj: Mapping[str, Any] | None) -> Any:
            return resource_list((spec_of(obj).get("resources") or {}).get("requests")).get("storage")

        new, old = size(attrs.obj), size(attrs.old)
        if new is None or old is None or not old < new:
            return
        sc_name = spec_of(attrs.obj).get("storageClassName") or annotations_of(attrs.obj).get(BETA_CLASS_ANNOTATION)
        sc = self._objects.get(STORAGE_CLASSES, "", sc_name) if sc_name else None
        if sc is None or not sc.get("allowVolumeExpansion"):
            raise forbidden(
                attrs,
                "only dynamically provisioned pvc can be resized and "
                "the storageclass that provisions the pvc must support resize",
            )
