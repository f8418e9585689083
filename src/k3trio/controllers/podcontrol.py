"""Pods from templates, pod predicates, owner references, and ``PodControl`` (the writes).

Pure helpers (no I/O):

- ``controller_ref(owner)`` / ``controller_of(obj)``: the ``ownerReferences`` entry with
  ``controller: true, blockOwnerDeletion: true`` that makes an owner *the* controller;
- ``pod_from_template(template, owner, generate_name=...)``: a pod as upstream's
  ``GetPodFromTemplate`` builds it (labels, annotations, finalizers and spec of the template,
  ``generateName`` ``<owner>-``, the controller reference);
- ``is_pod_active``, ``is_pod_ready``, ``is_pod_available``, ``pod_ready_time``: the phase /
  condition predicates status computations count with.

``PodControl`` does the writes through the API and records the upstream events on the owner:
``SuccessfulCreate`` "Created pod: <name>", ``FailedCreate``, ``SuccessfulDelete`` "Deleted
pod: <name>", ``FailedDelete``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..api.meta import parse_time
from ..client import Client, EventRecorder
from ..client.errors import ApiError, NotFound
from ..client.resource import PODS
from .base import Obj, meta_of

__all__ = [
    "PodControl",
    "controller_of",
    "controller_ref",
    "is_pod_active",
    "is_pod_available",
    "is_pod_ready",
    "pod_from_template",
    "pod_ready_time",
]


def controller_ref(owner: Mapping[str, Any]) -> Obj:
    """The controller ``OwnerReference`` pointing at ``owner``."""
    meta = meta_of(owner)
    return {
        "apiVersion": str(owner.get("apiVersion", "")),
        "kind": str(owner.get("kind", "")),
        "name": str(meta.get("name", "")),
        "uid": str(meta.get("uid", "")),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The owner reference with ``controller: true``, if any."""
    for ref in meta_of(obj).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller"):
            return ref
    return None


def pod_from_template(
    template: Mapping[str, Any],
    owner: Mapping[str, Any],
    *,
    generate_name: str | None = None,
    name: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> Obj:
    """A new pod object for ``owner`` from its pod ``template`` (not written)."""
    tmeta = meta_of(template)
    owner_meta = meta_of(owner)
    labels = dict(tmeta.get("labels") or {})
    if extra_labels:
        labels.update(extra_labels)
    meta: Obj = {"namespace": owner_meta.get("namespace", ""), "labels": labels}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = (
            generate_name if generate_name is not None else f"{owner_meta.get('name', '')}-"
        )
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    meta["ownerReferences"] = [controller_ref(owner)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": copy.deepcopy(dict(template.get("spec") or {})),
    }


def _status(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    status = pod.get("status")
    return status if isinstance(status, Mapping) else {}


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Not Succeeded/Failed and not being deleted (upstream ``IsPodActive``)."""
    phase = _status(pod).get("phase")
    return phase not in ("Succeeded", "Failed") and not meta_of(pod).get("deletionTimestamp")


def is_pod_terminating(pod: Mapping[str, Any]) -> bool:
    """Being deleted but not yet in a terminal phase."""
    phase = _status(pod).get("phase")
    return bool(meta_of(pod).get("deletionTimestamp")) and phase not in ("Succeeded", "Failed")


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in _status(pod).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    cond = _ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_ready_time(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod last became Ready (None if not ready or unknown)."""
    cond = _ready_condition(pod)
    if cond is None or cond.get("status") != "True" or not cond.get("lastTransitionTime"):
        return None
    try:
        return parse_time(str(cond["lastTransitionTime"]))
    except ValueError:
        return None


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least ``min_ready_seconds`` (upstream ``IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = pod_ready_time(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= now


class PodControl:
    """Creates and deletes pods for controllers, recording events on the owner."""

    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create(self, pod: Obj, owner: Mapping[str, Any]) -> Obj:
        """Create ``pod`` (from ``pod_from_template``) for ``owner``.

        Raises:
            ApiError: the create failed (a ``FailedCreate`` event was recorded).
        """
        ns = str(meta_of(pod).get("namespace") or meta_of(owner).get("namespace") or "")
        try:
            created = await self.client.create(PODS, pod, namespace=ns)
        except ApiError as exc:
            self.recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.recorder.event(owner, "Normal", "SuccessfulCreate",
                            f"Created pod: {meta_of(created).get('name', '')}")
        return created

    async def delete(self, namespace: str, name: str, owner: Mapping[str, Any]) -> None:
        """Delete the pod ``namespace/name`` of ``owner``.

        Raises:
            NotFound: the pod was already gone (no event).
            ApiError: the delete failed (a ``FailedDelete`` event was recorded).
        """
        try:
            await self.client.delete(PODS, name, namespace=namespace)
        except NotFound:
            raise
        except ApiError as exc:
            self.recorder.event(owner, "Warning", "FailedDelete",
                                f"Error deleting: {exc.message}")
            raise
        self.recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
