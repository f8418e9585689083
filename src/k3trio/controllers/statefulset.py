"""The StatefulSet controller (upstream ``pkg/controller/statefulset``).

One sync of ``namespace/name``:

    claim ControllerRevisions and pods (adopt matching orphans named <set>-<n>, release others)
    revisions: update revision = the set's template (an equal old revision is renumbered,
               else a new one is created, bumping collisionCount on a name clash);
               current revision = status.currentRevision (or the update revision)
    ├─ being deleted -> status only
    ├─ replicas (ordinals start .. start+replicas-1), lowest first:
    │    failed/succeeded -> delete (recreated next sync); missing -> PVCs, then the pod
    │    (of the current revision below the partition, else of the update revision);
    │    OrderedReady stops at the first pod created / not Running+Ready+available / terminating
    ├─ condemned (ordinals out of range), highest first: fix claim ownership, then delete;
    │    OrderedReady: one at a time, only when every lower pod is healthy
    ├─ RollingUpdate: from the highest ordinal down to ``partition``, delete pods not at the
    │    update revision, at most ``maxUnavailable`` unavailable at once (default 1: wait for
    │    each to come back healthy); OnDelete: nothing (pods update when deleted by hand)
    └─ status (replicas, ready, available, current, updated, revisions, collisionCount,
       observedGeneration); a RollingUpdate whose pods are all updated and ready makes the
       update revision current; old revisions beyond ``revisionHistoryLimit`` that no pod
       uses are deleted.

Events as upstream: ``SuccessfulCreate`` "create Pod db-0 in StatefulSet db successful",
"create Claim data-db-0 Pod db-0 in StatefulSet db success", ``SuccessfulDelete``,
``FailedCreate``/``FailedDelete``/``FailedUpdate`` with the error.

Invariants: pod names are deterministic, so a create racing the cache fails with
AlreadyExists and the sync simply waits for the informer; a PVC is always created before the
pod that mounts it; at most one worker handles a set at a time.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from ..api import labels
from ..client import DeletedFinalStateUnknown
from ..client.errors import AlreadyExists, ApiError, Conflict, NotFound
from ..client.resource import PODS, Resource
from . import statefulset_util as su
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import PVCS
from .history import (
    CONTROLLERREVISIONS,
    History,
    apply_revision,
    find_equal_revisions,
    new_revision,
    next_revision,
    revision_data,
    sort_revisions,
)
from .podcontrol import controller_of, controller_ref, is_pod_ready

__all__ = ["STATEFULSETS", "StatefulSetController"]

log = logging.getLogger("k3trio.controllers.statefulset")

STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet", True,
                        subresources=("status", "scale"))


#: seconds before looking again at a pod whose claim still belongs to its previous pod
STALE_CLAIM_RECHECK = 1.0


class _Exit(Exception):
    """Stop processing this sync (not an error)."""


class StatefulSetController(Controller):
    name = "statefulset"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.sets = self.informer(
            STATEFULSETS, on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n),
            on_delete=self.enqueue).lister
        self.pods = self.informer(PODS, on_add=self._pod_added, on_update=self._pod_updated,
                                  on_delete=self._pod_deleted).lister
        self.history = History(self.client, self.informer(CONTROLLERREVISIONS).lister)
        self.claims = self.informer(PVCS).lister

    # -- handlers -------------------------------------------------------------------------

    def _owner(self, pod: Mapping[str, Any]) -> Obj | None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "StatefulSet":
            return None
        s = self.sets.get(str(ref.get("name")), str(meta_of(pod).get("namespace") or ""))
        if s is None or meta_of(s).get("uid") != ref.get("uid"):
            return None
        return s

    def _matching(self, pod: Mapping[str, Any]) -> list[Obj]:
        out = []
        pod_labels = meta_of(pod).get("labels") or {}
        for s in self.sets.list(str(meta_of(pod).get("namespace") or "")):
            try:
                sel = labels.from_label_selector((s.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if not sel.empty and sel.matches(pod_labels):
                out.append(s)
        return out

    def _pod_added(self, pod: Obj) -> None:
        if meta_of(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        s = self._owner(pod)
        if s is not None:
            self.enqueue(s)
        elif controller_of(pod) is None:
            for s in self._matching(pod):
                self.enqueue(s)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta_of(old).get("resourceVersion") == meta_of(new).get("resourceVersion"):
            return
        if controller_of(old) != controller_of(new):
            prev = self._owner(old)
            if prev is not None:
                self.enqueue(prev)
        s = self._owner(new)
        if s is not None:
            self.enqueue(s)
            mrs = su.min_ready_seconds(s)
            if mrs > 0 and not is_pod_ready(old) and is_pod_ready(new):
                self.enqueue_after(s, mrs)
            return
        if controller_of(new) is None and (
                meta_of(old).get("labels") != meta_of(new).get("labels")
                or controller_of(old) is not None):
            for s in self._matching(new):
                self.enqueue(s)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        s = self._owner(pod)
        if s is not None:
            self.enqueue(s)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, _, name = key.rpartition("/")
        cached = self.sets.get(name, namespace)
        if cached is None:
            return
        s = copy.deepcopy(cached)
        s.setdefault("apiVersion", "apps/v1")
        s.setdefault("kind", "StatefulSet")
        try:
            selector = labels.from_label_selector((s.get("spec") or {}).get("selector"))
        except labels.SelectorError as exc:
            self.recorder.event(s, "Warning", "InvalidSelector", f"Error parsing selector: {exc}")
            return
        if selector.empty:
            self.recorder.event(s, "Warning", "SelectingAll",
                                "This statefulset is selecting all pods. A non-empty selector "
                                "is required.")
            return
        revisions = sort_revisions(await self.history.claim(s, selector))
        pods = await self._claim_pods(s, selector)
        current, update, collision = await self._revisions(s, revisions)
        if meta_of(update).get("name") not in {meta_of(r).get("name") for r in revisions}:
            revisions = sort_revisions([*revisions, update])
        status: Obj = {}
        error: BaseException | None = None
        try:
            status = await self._update(s, current, update, collision, pods)
        except ApiError as exc:
            error = exc
            status = self._status(s, current, update, collision, pods)
        await self._write_status(s, status)
        await self._truncate_history(s, pods, revisions, current, update)
        mrs = su.min_ready_seconds(s)
        if mrs > 0 and status.get("readyReplicas") != status.get("availableReplicas"):
            self.enqueue_after(s, mrs)
        if error is not None:
            raise error

    async def _claim_pods(self, s: Obj, selector: labels.Selector) -> list[Obj]:
        uid = meta_of(s).get("uid")
        deleting = bool(meta_of(s).get("deletionTimestamp"))
        out: list[Obj] = []
        for pod in self.pods.list(str(meta_of(s).get("namespace") or "")):
            if not su.is_member_of(s, pod):
                continue
            ref = controller_of(pod)
            pmeta = meta_of(pod)
            matches = selector.matches(pmeta.get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches or deleting:
                    out.append(pod)
                    continue
                refs = [r for r in pmeta.get("ownerReferences") or [] if r.get("uid") != uid]
                await self._patch_pod_refs(pod, refs or None)
            elif matches and not deleting and not pmeta.get("deletionTimestamp"):
                adopted = await self._patch_pod_refs(
                    pod, [*(pmeta.get("ownerReferences") or []), controller_ref(s)])
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _patch_pod_refs(self, pod: Obj, refs: list[Any] | None) -> Obj | None:
        pmeta = meta_of(pod)
        try:
            return await self.client.patch(
                PODS, str(pmeta["name"]), {"metadata": {"ownerReferences": refs,
                                                        "uid": pmeta.get("uid")}},
                namespace=str(pmeta.get("namespace")))
        except (NotFound, Conflict):
            return None

    async def _revisions(self, s: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """The current and update revisions and the collision count (creating/renumbering)."""
        collision = [int((s.get("status") or {}).get("collisionCount") or 0)]
        update = new_revision(s, revision_data(s), next_revision(revisions), collision[0])
        equal = find_equal_revisions(revisions, update)
        if equal and revisions and meta_of(equal[-1]).get("name") == \
                meta_of(revisions[-1]).get("name"):
            update = revisions[-1]
        elif equal:
            update = await self.history.update_number(equal[-1], int(update["revision"]))
        else:
            update = await self.history.create(update, collision)
        current_name = (s.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if meta_of(r).get("name") == current_name), update)
        return current, update, collision[0]

    # -- the update -----------------------------------------------------------------------

    def _status(self, s: Obj, current: Obj, update: Obj, collision: int,
                pods: list[Obj]) -> Obj:
        cur, upd = str(meta_of(current)["name"]), str(meta_of(update)["name"])
        status: Obj = {"observedGeneration": int(meta_of(s).get("generation") or 0),
                       "currentRevision": cur, "updateRevision": upd,
                       "collisionCount": collision}
        status.update(su.replica_status(pods, su.min_ready_seconds(s), self.now(), cur, upd))
        return status

    async def _update(self, s: Obj, current: Obj, update: Obj, collision: int,
                      pods: list[Obj]) -> Obj:
        status = self._status(s, current, update, collision, pods)
        if meta_of(s).get("deletionTimestamp"):
            return status
        try:
            await self._update_pods(s, current, update, pods, status)
        except _Exit:
            pass
        return status

    async def _update_pods(self, s: Obj, current: Obj, update: Obj, pods: list[Obj],
                           status: Obj) -> None:
        current_set, update_set = apply_revision(s, current), apply_revision(s, update)
        current_set["status"] = s.get("status") or {}
        cur_name, upd_name = str(meta_of(current)["name"]), str(meta_of(update)["name"])
        start, end = su.start_ordinal(s), su.end_ordinal(s)
        existing: dict[int, Obj] = {}
        condemned: list[Obj] = []
        for pod in pods:
            o = su.get_ordinal(pod)
            if start <= o < end:
                existing[o] = pod
            elif o >= 0:
                condemned.append(pod)
        condemned.sort(key=su.get_ordinal, reverse=True)
        replicas: list[tuple[Obj, bool]] = []
        for o in range(start, end):
            if o in existing:
                replicas.append((existing[o], True))
            else:
                replicas.append((self._versioned_pod(current_set, update_set, cur_name,
                                                     upd_name, o), False))
        mrs, now = su.min_ready_seconds(s), self.now()
        first_unhealthy: Obj | None = None
        for pod, _ in replicas:
            if not su.is_healthy(pod, mrs, now):
                first_unhealthy = pod
                break
        if first_unhealthy is None:
            for pod in reversed(condemned):
                if not su.is_healthy(pod, mrs, now):
                    first_unhealthy = pod
                    break
        monotonic = not su.allows_burst(s)
        error: ApiError | None = None
        for pod, created in replicas:
            try:
                if await self._process_replica(s, update_set, monotonic, pod, created) \
                        and monotonic:
                    raise _Exit
            except ApiError as exc:
                if monotonic:
                    raise
                error = error or exc
        if error is not None:
            raise error
        for pod in condemned:
            await self._fix_claims(update_set, pod)
        for pod in condemned:
            if await self._process_condemned(s, first_unhealthy, monotonic, pod, status,
                                             cur_name, upd_name):
                raise _Exit
        if su.strategy_type(s) == "OnDelete":
            return
        await self._rolling_update(s, [p for p, _ in replicas], status, cur_name, upd_name)

    def _versioned_pod(self, current_set: Obj, update_set: Obj, cur: str, upd: str,
                       ordinal: int) -> Obj:
        ru = su.rolling_update(current_set)
        start = su.start_ordinal(current_set)
        cur_replicas = int((current_set.get("status") or {}).get("currentReplicas") or 0)
        use_current = (
            (su.strategy_type(current_set) == "RollingUpdate" and ru is None
             and ordinal < start + cur_replicas)
            or (ru is not None and ordinal < start + su.partition(current_set))
        )
        if use_current:
            return su.new_pod(current_set, ordinal, cur)
        return su.new_pod(update_set, ordinal, upd)

    async def _process_replica(self, s: Obj, update_set: Obj, monotonic: bool, pod: Obj,
                               created: bool) -> bool:
        """Act on one in-range replica; True: stop here (in OrderedReady)."""
        if created and su.is_terminal(pod):
            if not su.is_terminating(pod):
                await self._delete_pod(s, pod)
            return True
        if not created:
            if await self._claim_is_stale(s, pod):
                # the garbage collector removes the old pod's claim; look again soon
                self.enqueue_after(s, STALE_CLAIM_RECHECK)
                return True
            return await self._create_pod(s, pod) or monotonic
        if su.phase(pod) == "Pending":
            await self._create_claims(s, pod)
        mrs, now = su.min_ready_seconds(s), self.now()
        if monotonic and (su.is_terminating(pod) or not su.is_running_and_ready(pod)
                          or not su.is_running_and_available(pod, mrs, now)):
            return True
        identity = su.identity_matches(s, pod)
        storage = su.storage_matches(s, pod)
        if not (identity and storage):
            await self._update_pod(update_set, pod, identity, storage)
        if not await self._claims_match(update_set, pod):
            await self._fix_claims(update_set, pod)
        return False

    async def _process_condemned(self, s: Obj, first_unhealthy: Obj | None, monotonic: bool,
                                 pod: Obj, status: Obj, cur: str, upd: str) -> bool:
        """Delete one out-of-range pod; True: stop here."""
        if su.is_terminating(pod):
            return monotonic
        mrs, now = su.min_ready_seconds(s), self.now()
        if monotonic and pod is not first_unhealthy and (
                not su.is_running_and_ready(pod)
                or not su.is_running_and_available(pod, mrs, now)):
            return True
        await self._delete_pod(s, pod)
        rev = su.pod_revision(pod)
        if rev == cur:
            status["currentReplicas"] -= 1
        if rev == upd:
            status["updatedReplicas"] -= 1
        return monotonic

    async def _rolling_update(self, s: Obj, replicas: list[Obj], status: Obj, cur: str,
                              upd: str) -> None:
        mrs, now = su.min_ready_seconds(s), self.now()
        update_min = su.start_ordinal(s) + su.partition(s)
        unavailable = sum(1 for p in replicas if not su.is_healthy(p, mrs, now))
        budget = su.max_unavailable(s) - unavailable
        for pod in sorted(replicas, key=su.get_ordinal, reverse=True):
            if budget <= 0:
                return
            if su.get_ordinal(pod) < update_min:
                return
            if su.pod_revision(pod) != upd and not su.is_terminating(pod) and meta_of(pod).get("uid"):
                try:
                    await self._delete_pod(s, pod)
                except NotFound:
                    pass
                budget -= 1
                if su.pod_revision(pod) == cur:
                    status["currentReplicas"] -= 1

    # -- pods and claims ------------------------------------------------------------------

    def _pod_event(self, verb: str, s: Obj, pod: Mapping[str, Any],
                   error: BaseException | None) -> None:
        name, set_name = meta_of(pod).get("name"), meta_of(s).get("name")
        if error is None:
            self.recorder.event(s, "Normal", f"Successful{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} successful")
        else:
            msg = getattr(error, "message", str(error))
            self.recorder.event(s, "Warning", f"Failed{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} failed error: {msg}")

    async def _create_pod(self, s: Obj, pod: Obj) -> bool:
        """Create the claims, then the pod. True: it already existed (cache lag)."""
        try:
            await self._create_claims(s, pod)
        except ApiError as exc:
            self._pod_event("create", s, pod, exc)
            raise
        ns = str(meta_of(s)["namespace"])
        try:
            created = await self.client.create(PODS, pod, namespace=ns)
        except AlreadyExists:
            return True
        except ApiError as exc:
            self._pod_event("create", s, pod, exc)
            raise
        try:
            await self._fix_claims(s, created)
        except ApiError as exc:
            self._pod_event("update", s, pod, exc)
            raise
        self._pod_event("create", s, pod, None)
        return False

    async def _delete_pod(self, s: Obj, pod: Mapping[str, Any]) -> None:
        pmeta = meta_of(pod)
        try:
            await self.client.delete(PODS, str(pmeta["name"]),
                                     namespace=str(pmeta.get("namespace")))
        except NotFound:
            return
        except ApiError as exc:
            self._pod_event("delete", s, pod, exc)
            raise
        self._pod_event("delete", s, pod, None)

    async def _update_pod(self, s: Obj, pod: Obj, identity: bool, storage: bool) -> None:
        obj = copy.deepcopy(pod)
        ordinal = su.get_ordinal(obj)
        if not identity:
            su.update_identity(s, obj, ordinal)
        if not storage:
            su.update_storage(s, obj, ordinal)
            await self._create_claims(s, obj)
        try:
            await self.client.update(PODS, obj)
        except ApiError as exc:
            self._pod_event("update", s, pod, exc)
            raise

    def _claim(self, s: Mapping[str, Any], name: str) -> Obj | None:
        return self.claims.get(name, str(meta_of(s).get("namespace") or ""))

    async def _create_claims(self, s: Obj, pod: Mapping[str, Any]) -> None:
        ordinal = su.get_ordinal(pod)
        ns = str(meta_of(s)["namespace"])
        for claim in su.claims_for(s, ordinal).values():
            cname = str(meta_of(claim)["name"])
            existing = self._claim(s, cname)
            if existing is None:
                try:
                    existing = await self.client.get(PVCS, cname, namespace=ns)
                except NotFound:
                    existing = None
            if existing is not None:
                if meta_of(existing).get("deletionTimestamp"):
                    raise Conflict(409, "Conflict", f"pvc {cname} is being deleted")
                continue
            try:
                await self.client.create(PVCS, claim, namespace=ns)
            except AlreadyExists:
                continue
            except ApiError as exc:
                self.recorder.event(
                    s, "Warning", "FailedCreate",
                    f"create Claim {cname} for Pod {meta_of(pod).get('name')} in StatefulSet "
                    f"{meta_of(s).get('name')} failed error: {exc.message}")
                raise
            self.recorder.event(
                s, "Normal", "SuccessfulCreate",
                f"create Claim {cname} Pod {meta_of(pod).get('name')} in StatefulSet "
                f"{meta_of(s).get('name')} success")

    async def _claim_is_stale(self, s: Obj, pod: Mapping[str, Any]) -> bool:
        if su.retention_policy(s)[1] == "Retain":
            return False
        for claim in su.claims_for(s, su.get_ordinal(pod)).values():
            existing = self._claim(s, str(meta_of(claim)["name"]))
            if existing is not None and su.has_stale_owner_ref(existing, pod):
                return True
        return False

    async def _claims_match(self, s: Obj, pod: Mapping[str, Any]) -> bool:
        for claim in su.claims_for(s, su.get_ordinal(pod)).values():
            existing = self._claim(s, str(meta_of(claim)["name"]))
            if existing is None:
                continue
            if su.update_claim_owner_refs(copy.deepcopy(existing), s, pod):
                return False
        return True

    async def _fix_claims(self, s: Obj, pod: Mapping[str, Any]) -> None:
        """Set the claims' owner references for the retention policy."""
        if su.get_ordinal(pod) < 0:
            return
        for claim in su.claims_for(s, su.get_ordinal(pod)).values():
            existing = self._claim(s, str(meta_of(claim)["name"]))
            if existing is None:
                continue
            obj = copy.deepcopy(existing)
            if not su.update_claim_owner_refs(obj, s, pod):
                continue
            try:
                await self.client.update(PVCS, obj)
            except NotFound:
                continue

    # -- status and history ---------------------------------------------------------------

    async def _write_status(self, s: Obj, status: Obj) -> None:
        su.complete_rolling_update(s, status)
        if not su.status_differs(s.get("status") or {}, status):
            return
        obj = copy.deepcopy(s)
        for attempt in range(2):
            merged = dict(obj.get("status") or {})
            merged.update(status)
            obj["status"] = merged
            try:
                await self.client.update_status(STATEFULSETS, obj)
                return
            except NotFound:
                return
            except Conflict:
                if attempt:
                    raise
                obj = await self.client.get(STATEFULSETS, str(meta_of(s)["name"]),
                                            namespace=str(meta_of(s)["namespace"]))

    async def _truncate_history(self, s: Obj, pods: list[Obj], revisions: list[Obj],
                                current: Obj, update: Obj) -> None:
        live = {meta_of(current).get("name"), meta_of(update).get("name")}
        live.update(su.pod_revision(p) for p in pods)
        old = [r for r in revisions if meta_of(r).get("name") not in live]
        limit = int((s.get("spec") or {}).get("revisionHistoryLimit", 10) or 0)
        for rev in old[:max(len(old) - limit, 0)]:
            await self.history.delete(rev)
