"""The PersistentVolume binder: binds claims to volumes and keeps both phases right.

Queue keys are ``claim:<namespace>/<name>`` and ``volume:<name>``; everything is also
resynced every 15 s as upstream's ``pvClaimBinderSyncPeriod``.

Claims (``sync_claim``):
- unbound (no ``spec.volumeName``): with a ``WaitForFirstConsumer`` class and no
  ``volume.kubernetes.io/selected-node`` annotation, wait (``WaitForFirstConsumer`` event);
  otherwise bind the best volume (``find_volume``, pure: a volume pre-bound to this claim
  first, else the smallest Available volume with the claim's class, volume mode, all its
  access modes, enough capacity and matching its selector). Without one: Pending, with
  ``ExternalProvisioning`` (the class names a provisioner; the claim is annotated with it) or
  ``FailedBinding`` events;
- bound: ``Bound`` with the volume's capacity and access modes while the volume points back
  at it; ``Lost`` (``ClaimLost``) when the volume is gone, ``ClaimMisbound`` when it belongs
  to another claim.

Binding writes the volume first (``spec.claimRef``, ``pv.kubernetes.io/bound-by-controller``,
phase Bound) and then the claim (``spec.volumeName``, ``pv.kubernetes.io/bind-completed``,
``pv.kubernetes.io/bound-by-controller``, phase Bound), so a crash in between is repaired by
the next pass.

Volumes (``sync_volume``): no claimRef (or a pre-bound one without UID) -> Available; the
claim exists and names the volume -> Bound; the claim is gone -> Released and the reclaim
policy applies: Retain keeps it, Delete leaves a provisioned volume to its provisioner and
fails a static one (``VolumeFailedDelete``), Recycle fails (``VolumeFailedRecycle``); a volume
bound by the controller whose claim went to another volume is unbound.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import trio

from ..api import labels
from ..api.quantity import Quantity, QuantityError, quantity_from_json
from ..client import Conflict, NotFound
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import PVCS, PVS, STORAGECLASSES

__all__ = ["PersistentVolumeBinder", "find_volume", "storage_class_of"]

RESYNC = 15.0
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def storage_class_of(obj: Mapping[str, Any]) -> str:
    ann = meta_of(obj).get("annotations") or {}
    if BETA_CLASS in ann:
        return str(ann[BETA_CLASS])
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def _quantity(value: Any) -> Quantity | None:
    try:
        return quantity_from_json(value)
    except (QuantityError, ValueError, TypeError):
        return None


def _capacity(pv: Mapping[str, Any]) -> Quantity | None:
    return _quantity(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))


def _matches(pv: Mapping[str, Any], pvc: Mapping[str, Any]) -> bool:
    pspec, cspec = pv.get("spec") or {}, pvc.get("spec") or {}
    if meta_of(pv).get("deletionTimestamp"):
        return False
    if storage_class_of(pv) != storage_class_of(pvc):
        return False
    if (pspec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return False
    if not set(cspec.get("accessModes") or []) <= set(pspec.get("accessModes") or []):
        return False
    want = _quantity(((cspec.get("resources") or {}).get("requests") or {}).get("storage", "0"))
    have = _capacity(pv)
    if want is None or have is None or have < want:
        return False
    try:
        sel = labels.from_label_selector(cspec.get("selector")) if cspec.get("selector") \
            else None
    except labels.SelectorError:
        return False
    return sel is None or sel.matches(meta_of(pv).get("labels") or {})


def find_volume(pvc: Mapping[str, Any], pvs: list[Obj]) -> Obj | None:
    """The volume to bind the claim to (see module docstring)."""
    meta = meta_of(pvc)
    best: Obj | None = None
    for pv in pvs:
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref:
            if ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace"):
                continue
            if ref.get("uid") and ref.get("uid") != meta.get("uid"):
                continue
            if _matches(pv, pvc):
                return pv  # pre-bound to this claim
            continue
        if (pv.get("status") or {}).get("phase") not in (None, "", "Available", "Pending"):
            continue
        if not _matches(pv, pvc):
            continue
        if best is None or _capacity(pv) < _capacity(best):  # type: ignore[operator]
            best = pv
    return best


class PersistentVolumeBinder(Controller):
    name = "persistentvolume-binder"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.pvs = self.informer(PVS, on_add=self._pv_changed, on_delete=self._pv_changed,
                                 on_update=lambda o, n: self._pv_changed(n))
        self.pvcs = self.informer(PVCS, on_add=self._pvc_changed, on_delete=self._pvc_changed,
                                  on_update=lambda o, n: self._pvc_changed(n))
        self.classes = self.informer(STORAGECLASSES)

    def _pv_changed(self, obj: Any) -> None:
        pv = getattr(obj, "obj", obj)
        self.queue.add(f"volume:{meta_of(pv).get('name')}")
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref:
            self.queue.add(f"claim:{ref.get('namespace')}/{ref.get('name')}")

    def _pvc_changed(self, obj: Any) -> None:
        pvc = getattr(obj, "obj", obj)
        self.queue.add(f"claim:{meta_of(pvc).get('namespace')}/{meta_of(pvc).get('name')}")
        if (pvc.get("spec") or {}).get("volumeName"):
            self.queue.add(f"volume:{pvc['spec']['volumeName']}")

    async def background(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._resync)

    async def _resync(self) -> None:
        while True:
            await trio.sleep(RESYNC)
            for pv in self.pvs.lister.list():
                self.queue.add(f"volume:{meta_of(pv).get('name')}")
            for pvc in self.pvcs.lister.list():
                self.queue.add(f"claim:{meta_of(pvc).get('namespace')}/{meta_of(pvc).get('name')}")

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        try:
            if kind == "claim":
                ns, name = rest.split("/", 1)
                pvc = self.pvcs.lister.get(name, ns)
                if pvc is not None and not meta_of(pvc).get("deletionTimestamp"):
                    await self.sync_claim(copy.deepcopy(pvc))
            else:
                pv = self.pvs.lister.get(rest)
                if pv is not None:
                    await self.sync_volume(copy.deepcopy(pv))
        except Conflict:
            self.queue.add_rate_limited(key)
        except NotFound:
            return

    # -- claims ------------------------------------------------------------------------

    async def sync_claim(self, pvc: Obj) -> None:
        volume_name = (pvc.get("spec") or {}).get("volumeName")
        if not volume_name:
            await self._bind_unbound(pvc)
            return
        pv = self.pvs.lister.get(str(volume_name))
        if pv is None:
            if (pvc.get("status") or {}).get("phase") == "Bound":
                await self._claim_phase(pvc, "Lost")
                self.recorder.event(pvc, "Warning", "ClaimLost",
                                    "Bound claim has lost its PersistentVolume. Data on the "
                                    "volume is lost!")
            return
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or (ref.get("name") == meta_of(pvc).get("name") and
                       ref.get("namespace") == meta_of(pvc).get("namespace") and
                       not ref.get("uid")):
            await self._bind(copy.deepcopy(pv), pvc)
            return
        if ref.get("uid") == meta_of(pvc).get("uid"):
            await self._claim_bound_status(pvc, pv)
            return
        self.recorder.event(pvc, "Warning", "ClaimMisbound",
                            "Two claims are bound to the same volume, this one is bound incorrectly")
        await self._claim_phase(pvc, "Lost")

    async def _bind_unbound(self, pvc: Obj) -> None:
        cls_name = storage_class_of(pvc)
        sc = self.classes.lister.get(cls_name) if cls_name else None
        pv = find_volume(pvc, self.pvs.lister.list())
        wait = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer" and \
            SELECTED_NODE not in (meta_of(pvc).get("annotations") or {})
        if pv is not None and not (wait and not (pv.get("spec") or {}).get("claimRef")):
            await self._bind(copy.deepcopy(pv), pvc)
            return
        if wait:
            self.recorder.event(pvc, "Normal", "WaitForFirstConsumer",
                                "waiting for first consumer to be created before binding")
        elif sc is not None and sc.get("provisioner"):
            prov = str(sc["provisioner"])
            ann = meta_of(pvc).get("annotations") or {}
            if ann.get(STORAGE_PROVISIONER) != prov:
                pvc["metadata"].setdefault("annotations", {}).update(
                    {STORAGE_PROVISIONER: prov, BETA_STORAGE_PROVISIONER: prov})
                pvc = await self.client.update(PVCS, pvc)
            self.recorder.event(
                pvc, "Normal", "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner '{prov}' "
                "or manually by the system administrator. If volume creation is delayed, please "
                "verify that the provisioner is running and correctly registered.")
        elif not cls_name:
            self.recorder.event(pvc, "Normal", "FailedBinding",
                                "no persistent volumes available for this claim and no storage "
                                "class is set")
        else:
            self.recorder.event(pvc, "Warning", "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{cls_name}" not found')
        await self._claim_phase(pvc, "Pending")

    async def _bind(self, pv: Obj, pvc: Obj) -> None:
        meta = meta_of(pvc)
        ref = {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace"),
               "name": meta.get("name"), "uid": meta.get("uid"), "apiVersion": "v1",
               "resourceVersion": meta.get("resourceVersion")}
        old_ref = (pv.get("spec") or {}).get("claimRef") or {}
        if old_ref.get("uid") != meta.get("uid"):
            if not old_ref:
                pv["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            pv["spec"]["claimRef"] = ref
            pv = await self.client.update(PVS, pv)
        if (pv.get("status") or {}).get("phase") != "Bound":
            pv.setdefault("status", {})["phase"] = "Bound"
            pv = await self.client.update_status(PVS, pv)
        ann = pvc["metadata"].setdefault("annotations", {})
        if (pvc.get("spec") or {}).get("volumeName") != meta_of(pv).get("name") or \
                ann.get(BIND_COMPLETED) != "yes":
            if not (pvc.get("spec") or {}).get("volumeName"):
                ann[BOUND_BY_CONTROLLER] = "yes"
            ann[BIND_COMPLETED] = "yes"
            pvc["spec"]["volumeName"] = meta_of(pv).get("name")
            pvc = await self.client.update(PVCS, pvc)
        await self._claim_bound_status(pvc, pv)

    async def _claim_bound_status(self, pvc: Obj, pv: Obj) -> None:
        pspec = pv.get("spec") or {}
        status = dict(pvc.get("status") or {})
        want = {**status, "phase": "Bound", "accessModes": list(pspec.get("accessModes") or []),
                "capacity": dict(pspec.get("capacity") or {})}
        if status == want:
            return
        pvc["status"] = want
        await self.client.update_status(PVCS, pvc)

    async def _claim_phase(self, pvc: Obj, phase: str) -> None:
        if (pvc.get("status") or {}).get("phase") == phase:
            return
        pvc.setdefault("status", {})["phase"] = phase
        await self.client.update_status(PVCS, pvc)

    # -- volumes -----------------------------------------------------------------------

    async def sync_volume(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            await self._volume_phase(pv, "Available")
            return
        pvc = self.pvcs.lister.get(str(ref.get("name")), str(ref.get("namespace")))
        if pvc is None or meta_of(pvc).get("uid") != ref.get("uid"):
            try:
                fresh = await self.client.get(PVCS, str(ref.get("name")),
                                              namespace=str(ref.get("namespace")))
            except NotFound:
                fresh = None
            if fresh is not None and meta_of(fresh).get("uid") == ref.get("uid"):
                return  # the cache is behind
            await self._released(pv)
            return
        volume_name = (pvc.get("spec") or {}).get("volumeName")
        if not volume_name:
            self.queue.add(f"claim:{ref.get('namespace')}/{ref.get('name')}")
            return
        if volume_name == meta_of(pv).get("name"):
            await self._volume_phase(pv, "Bound")
            return
        if (meta_of(pv).get("annotations") or {}).get(BOUND_BY_CONTROLLER):
            pv["spec"].pop("claimRef", None)
            pv = await self.client.update(PVS, pv)
            await self._volume_phase(pv, "Available")
        else:
            await self._volume_phase(pv, "Released")

    async def _released(self, pv: Obj) -> None:
        if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
            pv = await self._volume_phase(pv, "Released")
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain" or (pv.get("status") or {}).get("phase") == "Failed":
            return
        if policy == "Delete":
            if (meta_of(pv).get("annotations") or {}).get(PROVISIONED_BY):
                return  # the provisioner deletes what it provisioned
            message = (f'error getting deleter volume plugin for volume "{meta_of(pv).get("name")}"'
                       ": no deletable volume plugin matched")
            self.recorder.event(pv, "Warning", "VolumeFailedDelete", message)
        else:
            message = "recycling volumes is not supported"
            self.recorder.event(pv, "Warning", "VolumeFailedRecycle", message)
        pv["status"] = {**(pv.get("status") or {}), "phase": "Failed", "message": message}
        await self.client.update_status(PVS, pv)

    async def _volume_phase(self, pv: Obj, phase: str) -> Obj:
        if (pv.get("status") or {}).get("phase") == phase:
            return pv
        status = {k: v for k, v in (pv.get("status") or {}).items() if k != "message"}
        pv["status"] = {**status, "phase": phase}
        return await self.client.update_status(PVS, pv)
