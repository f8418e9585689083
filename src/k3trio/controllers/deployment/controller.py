"""The Deployment controller (upstream ``pkg/controller/deployment``): I/O around ``util``.

One sync of ``namespace/name``:

    claim ReplicaSets (adopt matching orphans, release mismatches)
    ├─ being deleted            -> status only
    ├─ paused / resumed         -> Progressing Unknown DeploymentPaused / DeploymentResumed
    ├─ paused or scaling event  -> proportional scale, history cleanup (paused), status
    ├─ Recreate                 -> old RSs to 0, wait for old pods to go, new RS to replicas
    └─ RollingUpdate            -> new RS up within maxSurge, old RSs down within
                                   maxUnavailable (unhealthy first), cleanup when complete,
                                   rollout status with the Progressing deadline

The new ReplicaSet is ``<deployment>-<pod-template-hash>``; a name clash with a foreign
ReplicaSet bumps ``status.collisionCount`` and retries. Revisions live in the
``deployment.kubernetes.io/revision`` annotation of each ReplicaSet (and of the
Deployment): ``kubectl rollout history`` lists them and ``kubectl rollout undo`` copies an old
ReplicaSet's template back into the Deployment, which this controller then rolls out as the
next revision (the old ReplicaSet is reused, its old revision recorded in
``revision-history``). At most ``revisionHistoryLimit`` (default 10) scaled-down old
ReplicaSets are kept.

Events: ``ScalingReplicaSet`` ("Scaled up replica set web-6c8f9b4d7 from 0 to 3"),
``FailedCreate``, ``SelectingAll``, ``DeploymentRollback`` is not needed (undo is client side).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from ...api import labels
from ...api.meta import parse_time
from ...client import DeletedFinalStateUnknown, object_key
from ...client.errors import AlreadyExists, Conflict, NotFound
from ...client.resource import PODS, Resource
from ..base import Controller, ControllerContext, Obj, meta_of
from ..podcontrol import controller_of, controller_ref
from ..replicaset import REPLICASETS
from . import util as u

__all__ = ["DEPLOYMENTS", "DeploymentController"]

log = logging.getLogger("k3trio.controllers.deployment")

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", True,
                       subresources=("status", "scale"))


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.deployments = self.informer(
            DEPLOYMENTS, on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n),
            on_delete=self.enqueue).lister
        self.rss = self.informer(
            REPLICASETS, on_add=self._rs_added, on_update=self._rs_updated,
            on_delete=self._rs_deleted).lister
        self.pods = self.informer(PODS, on_delete=self._pod_deleted).lister

    # -- handlers -------------------------------------------------------------------------

    def _owner_of(self, rs: Mapping[str, Any]) -> Obj | None:
        ref = controller_of(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(str(ref.get("name")), str(meta_of(rs).get("namespace")))
        if d is None or meta_of(d).get("uid") != ref.get("uid"):
            return None
        return d

    def _matching(self, rs: Mapping[str, Any]) -> list[Obj]:
        rs_labels = meta_of(rs).get("labels") or {}
        out = []
        for d in self.deployments.list(str(meta_of(rs).get("namespace") or "")):
            try:
                sel = labels.from_label_selector((d.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if not sel.empty and sel.matches(rs_labels):
                out.append(d)
        return out

    def _rs_added(self, rs: Obj) -> None:
        if meta_of(rs).get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        d = self._owner_of(rs)
        if d is not None:
            self.enqueue(d)
        elif controller_of(rs) is None:
            for d in self._matching(rs):
                self.enqueue(d)

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        if meta_of(old).get("resourceVersion") == meta_of(new).get("resourceVersion"):
            return
        if controller_of(old) != controller_of(new):
            prev = self._owner_of(old)
            if prev is not None:
                self.enqueue(prev)
        d = self._owner_of(new)
        if d is not None:
            self.enqueue(d)
        elif controller_of(new) is None and meta_of(old).get("labels") != meta_of(new).get("labels"):
            for d in self._matching(new):
                self.enqueue(d)

    def _rs_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        rs = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        d = self._owner_of(rs)
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rss.get(str(ref.get("name")), str(meta_of(pod).get("namespace")))
        if rs is None:
            return
        d = self._owner_of(rs)
        if d is not None and not u.is_rolling(d):
            self.enqueue(d)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, _, name = key.rpartition("/")
        cached = self.deployments.get(name, namespace)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        d.setdefault("apiVersion", "apps/v1")
        d.setdefault("kind", "Deployment")
        selector_obj = (d.get("spec") or {}).get("selector")
        if not selector_obj or labels.from_label_selector(selector_obj).empty:
            self.recorder.event(d, "Warning", "SelectingAll",
                                "This deployment is selecting all pods. A non-empty selector "
                                "is required.")
            if u.status_int(d, "observedGeneration") < int(meta_of(d).get("generation") or 0):
                status = dict(d.get("status") or {})
                status["observedGeneration"] = int(meta_of(d).get("generation") or 0)
                await self._write_status(d, status)
            return
        rss = await self._claim_replica_sets(d, labels.from_label_selector(selector_obj))
        if meta_of(d).get("deletionTimestamp"):
            await self._sync_status_only(d, rss)
            return
        d = await self._check_paused_conditions(d)
        spec = d.get("spec") or {}
        if spec.get("paused"):
            await self._sync_scale(d, rss)
            return
        if self._is_scaling_event(d, rss):
            await self._sync_scale(d, rss)
            return
        if u.is_rolling(d):
            await self._rollout_rolling(d, rss)
        else:
            await self._rollout_recreate(d, rss)

    async def _claim_replica_sets(self, d: Obj, selector: labels.Selector) -> list[Obj]:
        uid = meta_of(d).get("uid")
        out = []
        for rs in self.rss.list(str(meta_of(d).get("namespace"))):
            ref = controller_of(rs)
            matches = selector.matches(meta_of(rs).get("labels") or {})
            name = str(meta_of(rs)["name"])
            ns = str(meta_of(rs)["namespace"])
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(rs)
                elif not meta_of(d).get("deletionTimestamp"):
                    refs = [r for r in meta_of(rs).get("ownerReferences") or []
                            if r.get("uid") != uid]
                    try:
                        await self.client.patch(REPLICASETS, name, {"metadata": {
                            "ownerReferences": refs or None, "uid": meta_of(rs).get("uid")}},
                            namespace=ns)
                    except (NotFound, Conflict):
                        pass
            elif matches and not meta_of(d).get("deletionTimestamp") \
                    and not meta_of(rs).get("deletionTimestamp"):
                refs = [*(meta_of(rs).get("ownerReferences") or []), controller_ref(d)]
                try:
                    out.append(await self.client.patch(REPLICASETS, name, {"metadata": {
                        "ownerReferences": refs, "uid": meta_of(rs).get("uid")}},
                        namespace=ns))
                except (NotFound, Conflict):
                    pass
        return out

    # -- status writes --------------------------------------------------------------------

    async def _write_status(self, d: Obj, status: Obj) -> Obj:
        obj = copy.deepcopy(d)
        obj["status"] = status
        try:
            updated = await self.client.update_status(DEPLOYMENTS, obj)
        except NotFound:
            return d
        d.clear()
        d.update(updated)
        d.setdefault("apiVersion", "apps/v1")
        d.setdefault("kind", "Deployment")
        return d

    async def _update_deployment(self, d: Obj) -> Obj:
        updated = await self.client.update(DEPLOYMENTS, d)
        d.clear()
        d.update(updated)
        d.setdefault("apiVersion", "apps/v1")
        d.setdefault("kind", "Deployment")
        return d

    async def _check_paused_conditions(self, d: Obj) -> Obj:
        if u.progress_deadline(d) is None:
            return d
        status = copy.deepcopy(d.get("status") or {})
        cond = u.get_condition(status, u.PROGRESSING)
        if cond is not None and cond.get("reason") == u.TIMED_OUT:
            return d
        paused = bool((d.get("spec") or {}).get("paused"))
        paused_cond = cond is not None and cond.get("reason") == u.PAUSED
        now = self.now()
        if paused and not paused_cond:
            u.set_condition(status, u.new_condition(u.PROGRESSING, "Unknown", u.PAUSED,
                                                    "Deployment is paused", now))
        elif not paused and paused_cond:
            u.set_condition(status, u.new_condition(u.PROGRESSING, "Unknown", u.RESUMED,
                                                    "Deployment is resumed", now))
        else:
            return d
        return await self._write_status(d, status)

    # -- new / old replica sets -----------------------------------------------------------

    async def _all_rss(self, d: Obj, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        _, old = u.find_old(d, rss)
        new = await self._new_rs(d, rss, old, create)
        return new, old

    async def _new_rs(self, d: Obj, rss: list[Obj], old: list[Obj], create: bool) -> Obj | None:
        existing = u.find_new(d, rss)
        new_revision = u.max_revision(old) + 1
        now = self.now()
        spec = d.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = u.set_new_rs_annotations(d, rs, new_revision, True)
            if int((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                changed = True
            if changed:
                rs = await self.client.update(REPLICASETS, rs)
            status = copy.deepcopy(d.get("status") or {})
            needs = self._set_revision(d, u.annotations_of(rs).get(u.REVISION, ""))
            if needs:
                d = await self._update_deployment(d)
            if u.progress_deadline(d) is not None and u.get_condition(status, u.PROGRESSING) is None:
                u.set_condition(status, u.new_condition(
                    u.PROGRESSING, "True", u.FOUND_NEW_RS,
                    f'Found new replica set "{meta_of(rs)["name"]}"', now))
                await self._write_status(d, status)
            return rs
        if not create:
            return None
        template = copy.deepcopy(spec.get("template") or {})
        collision = (d.get("status") or {}).get("collisionCount")
        pod_hash = u.compute_hash(spec.get("template") or {}, collision)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), u.POD_TEMPLATE_HASH: pod_hash}
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}),
                                   u.POD_TEMPLATE_HASH: pod_hash}
        name = f"{meta_of(d)['name']}-{pod_hash}"
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta_of(d)["namespace"],
                         "ownerReferences": [controller_ref(d)],
                         "labels": dict(tmeta["labels"])},
            "spec": {"replicas": 0, "minReadySeconds": min_ready, "selector": selector,
                     "template": template},
        }
        replicas = u.new_rs_new_replicas(d, [*old, rs], rs)
        rs["spec"]["replicas"] = replicas
        u.set_new_rs_annotations(d, rs, new_revision, False)
        already = False
        try:
            created = await self.client.create(REPLICASETS, rs, namespace=str(meta_of(d)["namespace"]))
        except AlreadyExists:
            other = self.rss.get(name, str(meta_of(d)["namespace"]))
            if other is None:
                other = await self.client.get(REPLICASETS, name,
                                              namespace=str(meta_of(d)["namespace"]))
            ref = controller_of(other)
            if ref is not None and ref.get("uid") == meta_of(d).get("uid") and \
                    u.equal_ignore_hash((other.get("spec") or {}).get("template") or {},
                                        spec.get("template") or {}):
                created, already = other, True
            else:
                status = copy.deepcopy(d.get("status") or {})
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                await self._write_status(d, status)
                raise
        except Exception as exc:
            if u.progress_deadline(d) is not None:
                status = copy.deepcopy(d.get("status") or {})
                u.set_condition(status, u.new_condition(
                    u.PROGRESSING, "False", u.FAILED_RS_CREATE,
                    f'Failed to create new replica set "{name}": {exc}', now))
                await self._write_status(d, status)
            self.recorder.event(d, "Warning", "FailedCreate",
                                f'Failed to create new replica set "{name}": {exc}')
            raise
        if not already and replicas > 0:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled up replica set {name} from 0 to {replicas}")
        if self._set_revision(d, str(new_revision)):
            d = await self._update_deployment(d)
        if not already and u.progress_deadline(d) is not None:
            status = copy.deepcopy(d.get("status") or {})
            u.set_condition(status, u.new_condition(
                u.PROGRESSING, "True", u.NEW_RS_CREATED,
                f'Created new replica set "{name}"', now))
            await self._write_status(d, status)
        return created

    @staticmethod
    def _set_revision(d: Obj, rev: str) -> bool:
        ann = d.setdefault("metadata", {}).setdefault("annotations", {})
        if not rev or ann.get(u.REVISION) == rev:
            return False
        ann[u.REVISION] = rev
        return True

    # -- scaling --------------------------------------------------------------------------

    async def _scale_rs(self, rs: Obj, new_scale: int, d: Obj, op: str) -> tuple[bool, Obj]:
        size_changed = u.spec_replicas(rs) != new_scale
        desired = u.spec_replicas(d)
        max_r = desired + u.max_surge(d)
        if not size_changed and not u.replicas_annotations_need_update(rs, desired, max_r):
            return False, rs
        old_scale = u.spec_replicas(rs)
        obj = copy.deepcopy(rs)
        obj["spec"]["replicas"] = new_scale
        u.set_replicas_annotations(obj, desired, max_r)
        updated = await self.client.update(REPLICASETS, obj)
        if size_changed:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {op} replica set {meta_of(rs)['name']} from "
                                f"{old_scale} to {new_scale}")
        return size_changed, updated

    async def _scale_and_record(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        if u.spec_replicas(rs) == new_scale:
            return False, rs
        op = "up" if u.spec_replicas(rs) < new_scale else "down"
        return await self._scale_rs(rs, new_scale, d, op)

    def _is_scaling_event(self, d: Obj, rss: list[Obj]) -> bool:
        new = u.find_new(d, rss)
        _, old = u.find_old(d, rss)
        for rs in u.active([*old, new]):
            try:
                desired = int(u.annotations_of(rs)[u.DESIRED_REPLICAS])
            except (KeyError, ValueError):
                continue
            if desired != u.spec_replicas(d):
                return True
        return False

    async def _scale(self, d: Obj, new: Obj | None, old: list[Obj]) -> None:
        target = u.find_active_or_latest(new, old)
        if target is not None:
            if u.spec_replicas(target) != u.spec_replicas(d):
                await self._scale_and_record(target, u.spec_replicas(d), d)
            return
        if u.is_saturated(d, new):
            for rs in u.active(old):
                await self._scale_and_record(rs, 0, d)
            return
        if not u.is_rolling(d):
            return
        all_rss = u.active([*old, new])
        allowed = u.spec_replicas(d) + u.max_surge(d) if u.spec_replicas(d) > 0 else 0
        to_add = allowed - u.replica_count(all_rss)
        if to_add > 0:
            all_rss.sort(key=lambda rs: (-u.spec_replicas(rs),
                                         _neg(str(meta_of(rs).get("creationTimestamp") or ""))))
            op = "up"
        elif to_add < 0:
            all_rss.sort(key=lambda rs: (-u.spec_replicas(rs),
                                         str(meta_of(rs).get("creationTimestamp") or "")))
            op = "down"
        else:
            op = ""
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            n = str(meta_of(rs)["name"])
            if to_add != 0:
                p = u.proportion(rs, d, to_add, added)
                sizes[n] = u.spec_replicas(rs) + p
                added += p
            else:
                sizes[n] = u.spec_replicas(rs)
        if all_rss and added != to_add:
            first = str(meta_of(all_rss[0])["name"])
            sizes[first] = max(sizes[first] + to_add - added, 0)
        for rs in all_rss:
            await self._scale_rs(rs, sizes[str(meta_of(rs)["name"])], d, op)

    async def _sync_scale(self, d: Obj, rss: list[Obj]) -> None:
        new, old = await self._all_rss(d, rss, False)
        await self._scale(d, new, old)
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old)
        await self._sync_status_only(d, None, new=new, old=old, refetch=True)

    async def _sync_status_only(self, d: Obj, rss: list[Obj] | None, *, new: Obj | None = None,
                                old: list[Obj] | None = None, refetch: bool = False) -> None:
        if rss is not None:
            new, old = await self._all_rss(d, rss, False)
        if refetch:
            new, old = self._refresh(new), [r for r in map(self._refresh, old or []) if r]
        status = u.calculate_status([*(old or []), new], new, d, self.now())
        if not u.status_equal(d.get("status") or {}, status):
            await self._write_status(d, status)

    def _refresh(self, rs: Obj | None) -> Obj | None:
        """The cached version of ``rs`` if newer than ours (status written by the RS sync)."""
        if rs is None:
            return None
        cached = self.rss.get(str(meta_of(rs)["name"]), str(meta_of(rs)["namespace"]))
        return cached if cached is not None else rs

    # -- rollouts -------------------------------------------------------------------------

    async def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> None:
        new, old = await self._all_rss(d, rss, True)
        assert new is not None
        all_rss: list[Obj | None] = [*old, new]
        # reconcile the new replica set
        if u.spec_replicas(new) != u.spec_replicas(d):
            if u.spec_replicas(new) > u.spec_replicas(d):
                scaled, new = await self._scale_and_record(new, u.spec_replicas(d), d)
            else:
                target = u.new_rs_new_replicas(d, all_rss, new)
                scaled, new = await self._scale_and_record(new, target, d)
            if scaled:
                await self._sync_rollout_status([*old, new], new, d)
                return
        # reconcile the old replica sets
        if await self._reconcile_old(d, new, old):
            await self._sync_rollout_status([*old, new], new, d)
            return
        if u.deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status([*old, new], new, d)

    async def _reconcile_old(self, d: Obj, new: Obj, old: list[Obj]) -> bool:
        old_active = u.active(old)
        if u.replica_count(old_active) == 0:
            return False
        all_count = u.replica_count([*old_active, new])
        min_available = u.spec_replicas(d) - u.max_unavailable(d)
        new_unavailable = u.spec_replicas(new) - u.status_int(new, "availableReplicas")
        max_down = all_count - min_available - new_unavailable
        if max_down <= 0:
            return False
        # clean up unhealthy replicas first (oldest first)
        total = 0
        current = u.by_creation(old_active)
        for i, rs in enumerate(current):
            if total >= max_down:
                break
            reps, avail = u.spec_replicas(rs), u.status_int(rs, "availableReplicas")
            if reps == 0 or reps == avail:
                continue
            count = min(max_down - total, reps - avail)
            _, current[i] = await self._scale_and_record(rs, reps - count, d)
            total += count
        # then scale down healthy ones within maxUnavailable
        available = u.actual_count([*current, new], "availableReplicas")
        scaled = 0
        if available > min_available:
            budget = available - min_available
            for rs in u.by_creation(current):
                if scaled >= budget:
                    break
                reps = u.spec_replicas(rs)
                if reps == 0:
                    continue
                count = min(reps, budget - scaled)
                await self._scale_and_record(rs, reps - count, d)
                scaled += count
        return total + scaled > 0

    async def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> None:
        new, old = await self._all_rss(d, rss, False)
        scaled_down = False
        for rs in u.active(old):
            changed, _ = await self._scale_and_record(rs, 0, d)
            scaled_down = scaled_down or changed
        if scaled_down:
            await self._sync_rollout_status([*old, new], new, d)
            return
        if self._old_pods_running(new, old):
            await self._sync_rollout_status([*old, new], new, d)
            return
        if new is None:
            new, old = await self._all_rss(d, rss, True)
        assert new is not None
        _, new = await self._scale_and_record(new, u.spec_replicas(d), d)
        if u.deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status([*old, new], new, d)

    def _old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        if u.actual_count(old) > 0:
            return True
        old_uids = {meta_of(rs).get("uid") for rs in old}
        new_uid = meta_of(new).get("uid") if new else None
        for pod in self.pods.list(str(meta_of(old[0])["namespace"])) if old else []:
            ref = controller_of(pod)
            if ref is None or ref.get("uid") == new_uid or ref.get("uid") not in old_uids:
                continue
            if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                return True
        return False

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        limit = (d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = [rs for rs in old if not meta_of(rs).get("deletionTimestamp")]
        diff = len(cleanable) - int(limit)
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (u.revision(rs), str(meta_of(rs).get("creationTimestamp"))))
        for rs in cleanable[:diff]:
            if (u.status_int(rs, "replicas") != 0 or u.spec_replicas(rs) != 0
                    or int(meta_of(rs).get("generation") or 0)
                    > u.status_int(rs, "observedGeneration")):
                continue
            try:
                await self.client.delete(REPLICASETS, str(meta_of(rs)["name"]),
                                         namespace=str(meta_of(rs)["namespace"]))
            except NotFound:
                pass

    async def _sync_rollout_status(self, all_rss: list[Obj | None], new: Obj | None,
                                   d: Obj) -> None:
        now = self.now()
        status = u.calculate_status(all_rss, new, d, now)
        deadline = u.progress_deadline(d)
        if deadline is None:
            u.remove_condition(status, u.PROGRESSING)
        current = u.get_condition(d.get("status") or {}, u.PROGRESSING)
        complete = (status["replicas"] == status["updatedReplicas"] and current is not None
                    and current.get("reason") == u.NEW_RS_AVAILABLE)
        new_name = str(meta_of(new).get("name")) if new else ""
        if deadline is not None and not complete:
            if u.deployment_complete(d, status):
                msg = (f'ReplicaSet "{new_name}" has successfully progressed.' if new
                       else f'Deployment "{meta_of(d)["name"]}" has successfully progressed.')
                u.set_condition(status, u.new_condition(u.PROGRESSING, "True",
                                                        u.NEW_RS_AVAILABLE, msg, now))
            elif u.deployment_progressing(d, status):
                msg = (f'ReplicaSet "{new_name}" is progressing.' if new
                       else f'Deployment "{meta_of(d)["name"]}" is progressing.')
                cond = u.new_condition(u.PROGRESSING, "True", u.RS_UPDATED, msg, now)
                if current is not None and current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                u.remove_condition(status, u.PROGRESSING)
                u.set_condition(status, cond)
            elif u.deployment_timed_out(d, status, now):
                msg = (f'ReplicaSet "{new_name}" has timed out progressing.' if new
                       else f'Deployment "{meta_of(d)["name"]}" has timed out progressing.')
                u.set_condition(status, u.new_condition(u.PROGRESSING, "False", u.TIMED_OUT,
                                                        msg, now))
        failure = u.replica_failure_condition(new)
        if failure is not None:
            u.set_condition(status, failure)
        else:
            u.remove_condition(status, u.REPLICA_FAILURE)
        if u.status_equal(d.get("status") or {}, status):
            self._requeue_stuck(d, status)
            return
        await self._write_status(d, status)

    def _requeue_stuck(self, d: Obj, status: Obj) -> None:
        deadline = u.progress_deadline(d)
        current = u.get_condition(d.get("status") or {}, u.PROGRESSING)
        if deadline is None or current is None or current.get("reason") in (
                u.NEW_RS_AVAILABLE, u.TIMED_OUT):
            return
        if u.deployment_timed_out(d, status, self.now()):
            return
        try:
            since = parse_time(str(current.get("lastUpdateTime")))
        except ValueError:
            return
        after = (since.timestamp() + deadline) - self.now().timestamp()
        if after < 1:
            self.enqueue_rate_limited(d)
        else:
            self.enqueue_after(d, after + 1)


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)
