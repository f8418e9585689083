"""The DaemonSet controller (upstream ``pkg/controller/daemon``): I/O around ``daemonset_util``.

One sync of ``namespace/name``:

    history: claim ControllerRevisions; the one whose data equals the template is current
             (duplicates merged, renumbered to 1 + the highest old revision), else a new one
             ``<ds>-<hash>`` is created (a clash bumps status.collisionCount and retries)
    expectations not satisfied -> status only (observedGeneration untouched)
    manage: per node, create a pod (one per eligible node), delete excess/misplaced/succeeded
            pods, delete failed pods with a per-node backoff (1 s doubling to 15 min), delete
            unscheduled pods aimed at nodes that are gone
    RollingUpdate (once expectations are met): delete old pods within maxUnavailable, or with
            maxSurge create new pods next to old ones and delete each old pod when its
            replacement is available; OnDelete: nothing
    history cleanup: beyond revisionHistoryLimit, old revisions no pod uses are deleted
    status: desired/current/misscheduled/ready/updated/available/unavailable, observedGeneration

New pods carry the template, the daemon tolerations, ``controller-revision-hash`` and a
required node affinity ``metadata.name In [node]``; the scheduler binds them (as upstream
since 1.12). Creates run in slow-start batches of at most ``BURST_REPLICAS`` per sync under
expectations, as the ReplicaSet controller's do; events come from ``PodControl``
(``SuccessfulCreate`` "Created pod: x", ``SuccessfulDelete``) plus ``FailedDaemonPod`` and
``SelectingAll``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

import trio

from ..api import labels
from ..client import NODES, DeletedFinalStateUnknown, object_key
from ..client.errors import AlreadyExists, ApiError, Conflict, NotFound
from ..client.resource import PODS, Resource
from . import daemonset_util as du
from .base import Controller, ControllerContext, Obj, meta_of
from .deployment.util import compute_hash
from .expectations import UIDTrackingExpectations
from .history import CONTROLLERREVISIONS, History, revision_data, revision_data_bytes, \
    revision_number, sort_revisions
from .podcontrol import PodControl, controller_of, controller_ref, is_pod_ready, \
    pod_from_template
from .replicaset import slow_start_batch

__all__ = ["BURST_REPLICAS", "DAEMONSETS", "DaemonSetController"]

log = logging.getLogger("k3trio.controllers.daemonset")

DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet", True, subresources=("status",))
BURST_REPLICAS = 250
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 15 * 60.0


class _Backoff:
    """Per-key exponential backoff measured from the last ``next`` (``flowcontrol.Backoff``)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (delay, last update)

    def in_backoff(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        return entry is not None and now - entry[1] < entry[0]

    def delay(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry[0] if entry else 0.0

    def next(self, key: str, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or now - entry[1] > 2 * BACKOFF_MAX:
            self._entries[key] = (BACKOFF_INITIAL, now)
        else:
            self._entries[key] = (min(entry[0] * 2, BACKOFF_MAX), now)


class DaemonSetController(Controller):
    name = "daemonset"
    workers = 2

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.expectations = UIDTrackingExpectations()
        self.pod_control = PodControl(self.client, self.recorder)
        self.burst_replicas = BURST_REPLICAS
        self.backoff = _Backoff()
        self.dss = self.informer(DAEMONSETS, on_add=self.enqueue,
                                 on_update=lambda o, n: self.enqueue(n),
                                 on_delete=self._ds_deleted).lister
        self.pods = self.informer(PODS, on_add=self._pod_added, on_update=self._pod_updated,
                                  on_delete=self._pod_deleted).lister
        self.nodes = self.informer(NODES, on_add=lambda n: self._enqueue_all(),
                                   on_update=self._node_updated,
                                   on_delete=lambda n: self._enqueue_all()).lister
        self.history = History(self.client, self.informer(
            CONTROLLERREVISIONS, on_add=self._revision_changed,
            on_delete=self._revision_changed).lister)

    # -- handlers -------------------------------------------------------------------------

    def _ds_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)
        self.expectations.delete(key)
        self.queue.add(key)

    def _enqueue_all(self) -> None:
        for ds in self.dss.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        def shape(n: Obj) -> Any:
            conds = sorted((c.get("type"), c.get("status"))
                           for c in (n.get("status") or {}).get("conditions") or [])
            return (meta_of(n).get("labels"), n.get("spec"), conds)
        if shape(old) != shape(new):
            self._enqueue_all()

    def _owner(self, obj: Mapping[str, Any]) -> Obj | None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        ds = self.dss.get(str(ref.get("name")), str(meta_of(obj).get("namespace") or ""))
        if ds is None or meta_of(ds).get("uid") != ref.get("uid"):
            return None
        return ds

    def _matching(self, pod: Mapping[str, Any]) -> list[Obj]:
        out = []
        for ds in self.dss.list(str(meta_of(pod).get("namespace") or "")):
            try:
                sel = labels.from_label_selector((ds.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if not sel.empty and sel.matches(meta_of(pod).get("labels") or {}):
                out.append(ds)
        return out

    def _revision_changed(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        rev = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        ds = self._owner(rev)
        if ds is not None:
            self.enqueue(ds)

    def _pod_added(self, pod: Obj) -> None:
        if meta_of(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ds = self._owner(pod)
        if ds is not None:
            self.expectations.creation_observed(object_key(ds))
            self.enqueue(ds)
        elif controller_of(pod) is None:
            for ds in self._matching(pod):
                self.enqueue(ds)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta_of(old).get("resourceVersion") == meta_of(new).get("resourceVersion"):
            return
        if meta_of(new).get("deletionTimestamp"):
            self._pod_deleted(new)
            return
        if controller_of(old) != controller_of(new):
            prev = self._owner(old)
            if prev is not None:
                self.enqueue(prev)
        ds = self._owner(new)
        if ds is not None:
            self.enqueue(ds)
            mrs = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
            if mrs > 0 and not is_pod_ready(old) and is_pod_ready(new):
                self.enqueue_after(ds, mrs)
        elif controller_of(new) is None and (
                meta_of(old).get("labels") != meta_of(new).get("labels")
                or controller_of(old) is not None):
            for ds in self._matching(new):
                self.enqueue(ds)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        ds = self._owner(pod)
        if ds is None:
            return
        key = object_key(ds)
        self.expectations.deletion_observed_of(key, object_key(pod))
        self.queue.add(key)

    # -- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, _, name = key.rpartition("/")
        cached = self.dss.get(name, namespace)
        if cached is None:
            self.expectations.delete(key)
            return
        ds = copy.deepcopy(cached)
        ds.setdefault("apiVersion", "apps/v1")
        ds.setdefault("kind", "DaemonSet")
        try:
            selector = labels.from_label_selector((ds.get("spec") or {}).get("selector"))
        except labels.SelectorError as exc:
            self.recorder.event(ds, "Warning", "InvalidSelector", f"Error parsing selector: {exc}")
            return
        if selector.empty:
            self.recorder.event(ds, "Warning", "SelectingAll",
                                "This daemon set is selecting all pods. A non-empty selector "
                                "is required.")
            return
        if meta_of(ds).get("deletionTimestamp"):
            return
        nodes = self.nodes.list()
        cur, old = await self._construct_history(ds, selector)
        hash_ = str((meta_of(cur).get("labels") or {}).get(du.HASH_LABEL) or "")
        if not self.expectations.satisfied(key):
            await self._update_status(ds, nodes, hash_, selector, False)
            return
        error: ApiError | None = None
        try:
            await self._manage(key, ds, nodes, hash_, selector)
            if self.expectations.satisfied(key) and du.is_rolling(ds):
                await self._rolling_update(key, ds, nodes, hash_, selector)
            await self._cleanup_history(ds, old, selector)
        except ApiError as exc:
            error = exc
        await self._update_status(ds, nodes, hash_, selector, True)
        if error is not None:
            raise error

    # -- pods -----------------------------------------------------------------------------

    async def _claim_pods(self, ds: Obj, selector: labels.Selector) -> list[Obj]:
        uid = meta_of(ds).get("uid")
        out: list[Obj] = []
        for pod in self.pods.list(str(meta_of(ds).get("namespace") or "")):
            ref = controller_of(pod)
            pmeta = meta_of(pod)
            matches = selector.matches(pmeta.get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(pod)
                    continue
                refs = [r for r in pmeta.get("ownerReferences") or [] if r.get("uid") != uid]
                await self._patch_refs(pod, refs or None)
            elif matches and not pmeta.get("deletionTimestamp"):
                adopted = await self._patch_refs(
                    pod, [*(pmeta.get("ownerReferences") or []), controller_ref(ds)])
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _patch_refs(self, pod: Obj, refs: list[Any] | None) -> Obj | None:
        pmeta = meta_of(pod)
        try:
            return await self.client.patch(
                PODS, str(pmeta["name"]),
                {"metadata": {"ownerReferences": refs, "uid": pmeta.get("uid")}},
                namespace=str(pmeta.get("namespace")))
        except (NotFound, Conflict):
            return None

    async def _node_pods(self, ds: Obj, selector: labels.Selector,
                         include_deleted_terminal: bool = False) -> dict[str, list[Obj]]:
        out: dict[str, list[Obj]] = {}
        for pod in await self._claim_pods(ds, selector):
            phase = (pod.get("status") or {}).get("phase")
            if (not include_deleted_terminal and phase in ("Failed", "Succeeded")
                    and meta_of(pod).get("deletionTimestamp")):
                continue
            out.setdefault(du.target_node(pod), []).append(pod)
        return out

    async def _manage(self, key: str, ds: Obj, nodes: list[Obj], hash_: str,
                      selector: labels.Selector) -> None:
        node_pods = await self._node_pods(ds, selector)
        now, clock = self.now(), trio.current_time()
        create: list[str] = []
        delete: list[Obj] = []
        for node in nodes:
            node_name = str(meta_of(node)["name"])
            want, dels, failed = du.node_actions(node, ds, node_pods.get(node_name), hash_, now)
            if want:
                create.append(node_name)
            delete.extend(dels)
            bkey = f"{meta_of(ds).get('uid')}/{node_name}"
            for pod in failed:
                if self.backoff.in_backoff(bkey, clock):
                    self.enqueue_after(ds, self.backoff.delay(bkey))
                    continue
                self.backoff.next(bkey, clock)
                self.recorder.event(
                    ds, "Warning", "FailedDaemonPod",
                    f"Found failed daemon pod {meta_of(pod).get('namespace')}/"
                    f"{meta_of(pod).get('name')} on node {node_name}, will try to kill it")
                delete.append(pod)
        known = {str(meta_of(n)["name"]) for n in nodes}
        for node_name, pods in node_pods.items():
            if node_name in known:
                continue
            delete.extend(p for p in pods if not (p.get("spec") or {}).get("nodeName")
                          and not meta_of(p).get("deletionTimestamp"))
        await self._sync_nodes(key, ds, delete, create, hash_)

    async def _sync_nodes(self, key: str, ds: Obj, delete: list[Obj], create: list[str],
                          hash_: str) -> None:
        create = create[:self.burst_replicas]
        delete = delete[:self.burst_replicas]
        if not create and not delete:
            return
        self.expectations.expect_deletions_of(key, [object_key(p) for p in delete])
        self.expectations.raise_(key, adds=len(create))
        template = du.pod_template(ds, hash_)
        errors: list[ApiError] = []
        pending = list(create)
        failed = 0

        async def create_one() -> None:
            node_name = pending.pop(0)
            pod = pod_from_template(template, ds)
            pod["spec"]["affinity"] = du.replace_node_affinity(pod["spec"].get("affinity"),
                                                               node_name)
            try:
                await self.pod_control.create(pod, ds)
            except ApiError as exc:
                nonlocal failed
                failed += 1
                self.expectations.creation_observed(key)
                if not isinstance(exc, AlreadyExists):
                    errors.append(exc)
                raise

        made = await slow_start_batch(len(create), 1, create_one)
        skipped = len(create) - made - failed
        if skipped > 0:
            self.expectations.lower(key, adds=skipped)

        async def delete_one(pod: Obj) -> None:
            pmeta = meta_of(pod)
            try:
                await self.pod_control.delete(str(pmeta["namespace"]), str(pmeta["name"]), ds)
            except NotFound:
                self.expectations.deletion_observed_of(key, object_key(pod))
            except ApiError as exc:
                self.expectations.deletion_observed_of(key, object_key(pod))
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for pod in delete:
                nursery.start_soon(delete_one, pod)
        if errors:
            raise errors[0]

    async def _rolling_update(self, key: str, ds: Obj, nodes: list[Obj], hash_: str,
                              selector: labels.Selector) -> None:
        node_pods = await self._node_pods(ds, selector)
        by_name = {str(meta_of(n)["name"]): n for n in nodes}
        delete, create = du.rolling_update(ds, node_pods, by_name, hash_, self.now())
        await self._sync_nodes(key, ds, delete, create, hash_)

    # -- history --------------------------------------------------------------------------

    async def _construct_history(self, ds: Obj, selector: labels.Selector
                                 ) -> tuple[Obj, list[Obj]]:
        data = revision_data(ds)
        want = revision_data_bytes({"data": data})
        current: list[Obj] = []
        old: list[Obj] = []
        for rev in await self.history.claim(ds, selector):
            if du.HASH_LABEL not in (meta_of(rev).get("labels") or {}):
                obj = copy.deepcopy(rev)
                obj["metadata"].setdefault("labels", {})[du.HASH_LABEL] = obj["metadata"]["name"]
                rev = await self.history.update(obj)
            if revision_data_bytes(rev) == want:
                current.append(rev)
            else:
                old.append(rev)
        number = max((revision_number(r) for r in old), default=0) + 1
        if not current:
            return await self._snapshot(ds, data, number), old
        cur = await self._dedup(ds, current)
        if revision_number(cur) < number:
            cur = await self.history.update_number(cur, number)
        return cur, old

    async def _snapshot(self, ds: Obj, data: Obj, number: int) -> Obj:
        spec = ds.get("spec") or {}
        collision = (ds.get("status") or {}).get("collisionCount")
        hash_ = compute_hash(spec.get("template") or {}, collision)
        ns = str(meta_of(ds)["namespace"])
        tlabels = dict(meta_of(spec.get("template") or {}).get("labels") or {})
        rev: Obj = {
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{meta_of(ds)['name']}-{hash_}", "namespace": ns,
                         "labels": {**tlabels, du.HASH_LABEL: hash_},
                         "ownerReferences": [controller_ref(ds)]},
            "data": data, "revision": number,
        }
        if meta_of(ds).get("annotations"):
            rev["metadata"]["annotations"] = dict(meta_of(ds)["annotations"])
        try:
            return await self.client.create(CONTROLLERREVISIONS, rev, namespace=ns)
        except AlreadyExists:
            existing = await self.client.get(CONTROLLERREVISIONS, rev["metadata"]["name"],
                                             namespace=ns)
            if revision_data_bytes(existing) == revision_data_bytes(rev):
                return existing
            fresh = await self.client.get(DAEMONSETS, str(meta_of(ds)["name"]), namespace=ns)
            if (fresh.get("status") or {}).get("collisionCount") != collision:
                raise
            status = dict(fresh.get("status") or {})
            status["collisionCount"] = int(collision or 0) + 1
            fresh["status"] = status
            await self.client.update_status(DAEMONSETS, fresh)
            raise

    async def _dedup(self, ds: Obj, current: list[Obj]) -> Obj:
        if len(current) == 1:
            return current[0]
        ordered = sort_revisions(current)
        keep = ordered[-1]
        keep_hash = (meta_of(keep).get("labels") or {}).get(du.HASH_LABEL)
        for dup in ordered[:-1]:
            dup_hash = (meta_of(dup).get("labels") or {}).get(du.HASH_LABEL)
            for pod in self.pods.list(str(meta_of(ds)["namespace"])):
                ref = controller_of(pod)
                if ref is None or ref.get("uid") != meta_of(ds).get("uid"):
                    continue
                if (meta_of(pod).get("labels") or {}).get(du.HASH_LABEL) == dup_hash:
                    try:
                        await self.client.patch(PODS, str(meta_of(pod)["name"]), {
                            "metadata": {"labels": {du.HASH_LABEL: keep_hash}}},
                            namespace=str(meta_of(pod)["namespace"]))
                    except NotFound:
                        pass
            await self.history.delete(dup)
        return keep

    async def _cleanup_history(self, ds: Obj, old: list[Obj], selector: labels.Selector) -> None:
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10) or 0)
        to_kill = len(old) - limit
        if to_kill <= 0:
            return
        live = set()
        for pods in (await self._node_pods(ds, selector, True)).values():
            for pod in pods:
                h = (meta_of(pod).get("labels") or {}).get(du.HASH_LABEL)
                if h:
                    live.add(h)
        for rev in sort_revisions(old):
            if to_kill <= 0:
                break
            if (meta_of(rev).get("labels") or {}).get(du.HASH_LABEL) in live:
                continue
            await self.history.delete(rev)
            to_kill -= 1

    # -- status ---------------------------------------------------------------------------

    async def _update_status(self, ds: Obj, nodes: list[Obj], hash_: str,
                             selector: labels.Selector, observed: bool) -> None:
        node_pods = await self._node_pods(ds, selector)
        counts = du.daemon_status(ds, nodes, node_pods, hash_, self.now())
        mrs = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if mrs > 0 and counts["numberReady"] != counts["numberAvailable"]:
            self.enqueue_after(ds, mrs)
        generation = int(meta_of(ds).get("generation") or 0)
        old = ds.get("status") or {}
        same = all(int(old.get(k) or 0) == v for k, v in counts.items())
        if same and (not observed or int(old.get("observedGeneration") or 0) == generation):
            return
        obj = ds
        for attempt in range(2):
            status = dict(obj.get("status") or {})
            status.update(counts)
            if observed:
                status["observedGeneration"] = generation
            if not status.get("numberUnavailable"):
                status.pop("numberUnavailable", None)
            obj = {**obj, "status": status}
            try:
                await self.client.update_status(DAEMONSETS, obj)
                return
            except NotFound:
                return
            except Conflict:
                if attempt:
                    raise
                obj = await self.client.get(DAEMONSETS, str(meta_of(ds)["name"]),
                                            namespace=str(meta_of(ds)["namespace"]))
