"""The ReplicaSet and ReplicationController controllers (upstream ``replica_set.go``).

One sync of ``namespace/name``:

1. the owner is read from the lister (gone: forget its expectations, done);
2. the active pods of the namespace are *claimed*: pods controlled by the owner are kept,
   orphans matching the selector are adopted (a controller reference is added), owned pods
   that no longer match are released (the reference is removed);
3. only when the expectations are satisfied (every create/delete of the last sync observed),
   the diff is acted on: too few pods -> create in slow-start batches (1, 2, 4, ...), at most
   ``BURST_REPLICAS`` per sync; too many -> delete the ``rank_pods_for_deletion`` first ones;
4. status is recomputed from the observed pods (``replicas``, ``fullyLabeledReplicas``,
   ``readyReplicas``, ``availableReplicas``, ``terminatingReplicas``, ``observedGeneration``,
   a ``ReplicaFailure`` condition when a create/delete failed) and written only if changed;
5. with ``minReadySeconds``, a sync is scheduled for when ready pods become available.

The two controllers differ only in ``OwnerKind`` (resource, kind, selector form).

Invariants: the expectations of a key are raised before its writes are issued and lowered
for every write that failed, so a lost write never blocks the owner; at most one worker
handles a key at a time (the queue), so counts cannot race within the controller.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import trio

from ..api import labels
from ..client import DeletedFinalStateUnknown, object_key
from ..client.errors import ApiError, Conflict, NotFound
from ..client.resource import PODS, Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .expectations import UIDTrackingExpectations
from .podcontrol import (
    PodControl,
    controller_of,
    controller_ref,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    is_pod_terminating,
    pod_from_template,
    pod_ready_time,
)

__all__ = [
    "BURST_REPLICAS",
    "REPLICASETS",
    "REPLICATIONCONTROLLERS",
    "OwnerKind",
    "ReplicaSetController",
    "ReplicationControllerController",
    "calculate_status",
    "rank_pods_for_deletion",
    "slow_start_batch",
]

log = logging.getLogger("k3trio.controllers.replicaset")

BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1

REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", True,
                       subresources=("status", "scale"))
REPLICATIONCONTROLLERS = Resource("", "v1", "replicationcontrollers", "ReplicationController",
                                  True, subresources=("status", "scale"))


@attrs.frozen
class OwnerKind:
    resource: Resource
    api_version: str
    kind: str
    #: True: ``spec.selector`` is a LabelSelector; False: a plain label map (RC).
    label_selector: bool

    def selector(self, owner: Mapping[str, Any]) -> labels.Selector:
        spec = owner.get("spec") or {}
        sel = spec.get("selector")
        if self.label_selector:
            return labels.from_label_selector(sel)
        if not sel:  # an RC defaults its selector to the template labels
            sel = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not sel:
                return labels.NOTHING
        return labels.selector_from_set(sel)


RS_KIND = OwnerKind(REPLICASETS, "apps/v1", "ReplicaSet", True)
RC_KIND = OwnerKind(REPLICATIONCONTROLLERS, "v1", "ReplicationController", False)


# -- pure decisions --------------------------------------------------------------------------


async def slow_start_batch(count: int, initial: int, fn: Callable[[], Awaitable[None]]) -> int:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4... running each batch concurrently.

    Stops after the first batch with a failure. Returns how many calls succeeded; the
    remaining ``count - successes`` were either failed or never attempted.
    """
    remaining = count
    successes = 0
    batch = min(remaining, initial)
    while batch > 0:
        errors: list[BaseException] = []

        async def one() -> None:
            nonlocal successes
            try:
                await fn()
                successes += 1
            except ApiError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for _ in range(batch):
                nursery.start_soon(one)
        if errors:
            return successes
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _creation(pod: Mapping[str, Any]) -> str:
    return str(meta_of(pod).get("creationTimestamp") or "")


def _restarts(pod: Mapping[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def rank_pods_for_deletion(pods: list[Obj], related: list[Obj], count: int) -> list[Obj]:
    """The ``count`` pods to delete first (upstream ``getPodsToDelete`` ordering).

    Unscheduled before scheduled; Pending < Unknown < Running; not ready before ready; pods
    doubled up on a node (more ``related`` active pods on the same node) first; more recently
    ready first; more restarts first; newer first.
    """
    if count >= len(pods):
        return list(pods)
    per_node: dict[str, int] = {}
    for p in related:
        node = (p.get("spec") or {}).get("nodeName")
        if node and is_pod_active(p):
            per_node[node] = per_node.get(node, 0) + 1

    def key(pod: Obj) -> tuple[Any, ...]:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        phase = _PHASE_RANK.get(str((pod.get("status") or {}).get("phase") or ""), 3)
        ready = is_pod_ready(pod)
        rt = pod_ready_time(pod) if ready else None
        # Newer ready time / creation first: negate by sorting on the inverted string.
        ready_key = -rt.timestamp() if rt is not None else float("-inf")
        created = _creation(pod)
        return (
            1 if node else 0,
            phase,
            1 if ready else 0,
            -per_node.get(node, 0) if node else 0,
            ready_key,
            -_restarts(pod),
            tuple(-ord(c) for c in created) if created else (),
        )

    return sorted(pods, key=key)[:count]


def _condition(conditions: list[Obj], ctype: str) -> Obj | None:
    for c in conditions:
        if c.get("type") == ctype:
            return c
    return None


def calculate_status(
    owner: Mapping[str, Any],
    pods: list[Obj],
    terminating: int,
    manage_error: tuple[str, str] | None,
    now: datetime,
    *,
    with_terminating: bool = True,
) -> Obj:
    """The owner's new status from its claimed active ``pods`` (pure).

    ``manage_error`` is ``(reason, message)`` of a failed create/delete (``FailedCreate`` /
    ``FailedDelete``) -> a ``ReplicaFailure`` condition; when the diff was fixed, the
    condition is removed.
    """
    spec = owner.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully = sum(1 for p in pods if labels.selector_from_set(template_labels).matches(
        meta_of(p).get("labels") or {}))
    ready = sum(1 for p in pods if is_pod_ready(p))
    available = sum(1 for p in pods if is_pod_available(p, min_ready, now))
    old = owner.get("status") or {}
    conditions = [dict(c) for c in old.get("conditions") or []]
    failure = _condition(conditions, "ReplicaFailure")
    if manage_error is not None and failure is None:
        conditions.append({"type": "ReplicaFailure", "status": "True",
                           "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "reason": manage_error[0], "message": manage_error[1]})
    elif manage_error is None and failure is not None:
        conditions.remove(failure)
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": fully,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": int(meta_of(owner).get("generation") or 0),
    }
    if with_terminating:
        status["terminatingReplicas"] = terminating
    if conditions:
        status["conditions"] = conditions
    return status


def _status_equal(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def norm(s: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if v not in (0, None, [], {})}

    return norm(old) == norm(new)


# -- the controller ---------------------------------------------------------------------------


class ReplicaSetController(Controller):
    """Keeps ``spec.replicas`` pods running for every ReplicaSet."""

    name = "replicaset"
    owner_kind: OwnerKind = RS_KIND

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.expectations = UIDTrackingExpectations()
        self.pod_control = PodControl(self.client, self.recorder)
        self.burst_replicas = BURST_REPLICAS
        kind = self.owner_kind
        self.owners = self.informer(
            kind.resource, on_add=self._owner_added, on_update=self._owner_updated,
            on_delete=self._owner_deleted,
        ).lister
        self.pods = self.informer(
            PODS, on_add=self._pod_added, on_update=self._pod_updated,
            on_delete=self._pod_deleted,
        ).lister

    # -- handlers -------------------------------------------------------------------

    def _owner_added(self, obj: Obj) -> None:
        self.enqueue(obj)

    def _owner_updated(self, old: Obj, new: Obj) -> None:
        if meta_of(old).get("uid") != meta_of(new).get("uid"):
            self._owner_deleted(DeletedFinalStateUnknown(object_key(old), old))
        self.enqueue(new)

    def _owner_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)
        self.expectations.delete(key)
        self.queue.add(key)

    def _resolve(self, namespace: str, ref: Mapping[str, Any] | None) -> Obj | None:
        if ref is None or ref.get("kind") != self.owner_kind.kind:
            return None
        owner = self.owners.get(str(ref.get("name", "")), namespace)
        if owner is None or meta_of(owner).get("uid") != ref.get("uid"):
            return None
        return owner

    def _owners_matching(self, pod: Obj) -> list[Obj]:
        ns = str(meta_of(pod).get("namespace") or "")
        pod_labels = meta_of(pod).get("labels") or {}
        out = []
        for owner in self.owners.list(ns):
            try:
                sel = self.owner_kind.selector(owner)
            except labels.SelectorError:
                continue
            if not sel.empty and sel.matches(pod_labels):
                out.append(owner)
        return out

    def _pod_added(self, pod: Obj) -> None:
        if meta_of(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ns = str(meta_of(pod).get("namespace") or "")
        ref = controller_of(pod)
        if ref is not None:
            owner = self._resolve(ns, ref)
            if owner is not None:
                self.expectations.creation_observed(object_key(owner))
                self.enqueue(owner)
            return
        for owner in self._owners_matching(pod):
            self.enqueue(owner)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta_of(old).get("resourceVersion") == meta_of(new).get("resourceVersion"):
            return
        ns = str(meta_of(new).get("namespace") or "")
        labels_changed = meta_of(old).get("labels") != meta_of(new).get("labels")
        if meta_of(new).get("deletionTimestamp"):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_ref, new_ref = controller_of(old), controller_of(new)
        if old_ref is not None and old_ref != new_ref:
            owner = self._resolve(ns, old_ref)
            if owner is not None:
                self.enqueue(owner)
        if new_ref is not None:
            owner = self._resolve(ns, new_ref)
            if owner is not None:
                self.enqueue(owner)
                min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
                if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                    self.enqueue_after(owner, min_ready + 1)
            return
        if labels_changed or old_ref != new_ref:
            for owner in self._owners_matching(new):
                self.enqueue(owner)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        ns = str(meta_of(pod).get("namespace") or "")
        owner = self._resolve(ns, controller_of(pod))
        if owner is None:
            return
        key = object_key(owner)
        self.expectations.deletion_observed_of(key, object_key(pod))
        self.queue.add(key)

    # -- sync -----------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = key.rsplit("/", 1) if "/" in key else ("", key)
        owner = self.owners.get(name, namespace)
        if owner is None:
            self.expectations.delete(key)
            return
        try:
            selector = self.owner_kind.selector(owner)
        except labels.SelectorError as exc:
            self.recorder.event(owner, "Warning", "SelectorParsingFailed", str(exc))
            return
        satisfied = self.expectations.satisfied(key)
        all_pods = self.pods.list(namespace)
        pods = await self.claim_pods(owner, selector, [p for p in all_pods if is_pod_active(p)])
        terminating = sum(
            1 for p in all_pods if is_pod_terminating(p)
            and (ref := controller_of(p)) is not None and ref.get("uid") == meta_of(owner).get("uid")
        )
        manage_error: tuple[str, str] | None = None
        if satisfied and not meta_of(owner).get("deletionTimestamp"):
            manage_error = await self.manage_replicas(key, owner, pods, all_pods)
        status = calculate_status(owner, pods, terminating, manage_error, self.now(),
                                  with_terminating=self.owner_kind.label_selector)
        updated = await self.update_status(owner, status)
        spec = (updated or owner).get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        if (manage_error is None and min_ready > 0
                and status["readyReplicas"] == int(spec.get("replicas", 1))
                and status["availableReplicas"] != int(spec.get("replicas", 1))):
            self.enqueue_after(key, min_ready)
        if manage_error is not None:
            raise RuntimeError(manage_error[1])

    async def claim_pods(self, owner: Obj, selector: labels.Selector, pods: list[Obj]) -> list[Obj]:
        """Adopt matching orphans, release non-matching owned pods; return the owned ones."""
        uid = meta_of(owner).get("uid")
        owned: list[Obj] = []
        for pod in pods:
            ref = controller_of(pod)
            matches = not selector.empty and selector.matches(meta_of(pod).get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    owned.append(pod)
                elif not meta_of(owner).get("deletionTimestamp"):
                    await self._release(pod, owner)
                continue
            if matches and not meta_of(owner).get("deletionTimestamp") \
                    and not meta_of(pod).get("deletionTimestamp"):
                adopted = await self._adopt(pod, owner)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _adopt(self, pod: Obj, owner: Obj) -> Obj | None:
        refs = [r for r in meta_of(pod).get("ownerReferences") or []]
        refs.append(controller_ref(owner))
        patch = {"metadata": {"ownerReferences": refs, "uid": meta_of(pod).get("uid"),
                              "resourceVersion": meta_of(pod).get("resourceVersion")}}
        try:
            return await self.client.patch(PODS, str(meta_of(pod)["name"]), patch,
                                           namespace=str(meta_of(pod).get("namespace")))
        except (NotFound, Conflict):
            return None

    async def _release(self, pod: Obj, owner: Obj) -> None:
        uid = meta_of(owner).get("uid")
        refs = [r for r in meta_of(pod).get("ownerReferences") or [] if r.get("uid") != uid]
        patch = {"metadata": {"ownerReferences": refs or None, "uid": meta_of(pod).get("uid")}}
        try:
            await self.client.patch(PODS, str(meta_of(pod)["name"]), patch,
                                    namespace=str(meta_of(pod).get("namespace")))
        except (NotFound, Conflict):
            pass

    async def manage_replicas(
        self, key: str, owner: Obj, pods: list[Obj], related: list[Obj]
    ) -> tuple[str, str] | None:
        """Create or delete pods towards ``spec.replicas``; the error, if any."""
        spec = owner.get("spec") or {}
        diff = len(pods) - int(spec.get("replicas", 1))
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, count)
            template = spec.get("template") or {}
            error: list[ApiError] = []

            async def create() -> None:
                pod = pod_from_template(template, self._owner_ref_source(owner))
                try:
                    await self.pod_control.create(pod, owner)
                except ApiError as exc:
                    error.append(exc)
                    raise

            made = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, create)
            if made < count:
                self.expectations.lower(key, adds=count - made)
                msg = error[0].message if error else "unknown error"
                return ("FailedCreate", msg)
            return None
        if diff > 0:
            count = min(diff, self.burst_replicas)
            victims = rank_pods_for_deletion(pods, related, count)
            self.expectations.expect_deletions_of(key, [object_key(p) for p in victims])
            failures: list[ApiError] = []

            async def delete(pod: Obj) -> None:
                pmeta = meta_of(pod)
                try:
                    await self.pod_control.delete(str(pmeta["namespace"]), str(pmeta["name"]),
                                                  owner)
                except NotFound:
                    self.expectations.deletion_observed_of(key, object_key(pod))
                except ApiError as exc:
                    self.expectations.deletion_observed_of(key, object_key(pod))
                    failures.append(exc)

            async with trio.open_nursery() as nursery:
                for pod in victims:
                    nursery.start_soon(delete, pod)
            if failures:
                return ("FailedDelete", failures[0].message)
        return None

    def _owner_ref_source(self, owner: Obj) -> Obj:
        src = dict(owner)
        src.setdefault("apiVersion", self.owner_kind.api_version)
        src.setdefault("kind", self.owner_kind.kind)
        return src

    async def update_status(self, owner: Obj, status: Obj) -> Obj | None:
        """Write ``status`` unless it equals the current one; retry once on conflict."""
        if _status_equal(owner.get("status") or {}, status):
            return None
        obj = copy.deepcopy(owner)
        for attempt in range(2):
            obj["status"] = status
            obj.setdefault("apiVersion", self.owner_kind.api_version)
            obj.setdefault("kind", self.owner_kind.kind)
            try:
                return await self.client.update_status(self.owner_kind.resource, obj)
            except Conflict:
                if attempt:
                    raise
                meta = meta_of(owner)
                obj = await self.client.get(self.owner_kind.resource, str(meta["name"]),
                                            namespace=str(meta.get("namespace")))
                status["observedGeneration"] = int(meta_of(obj).get("generation") or 0)
            except NotFound:
                return None
        return None


class ReplicationControllerController(ReplicaSetController):
    """The same controller for core/v1 ReplicationControllers."""

    name = "replicationcontroller"
    owner_kind = RC_KIND

