"""The scheduler's cache: nodes and the pods on them, kept current from informer events.

Pure and synchronous: the informer handlers call :meth:`SchedulerCache.add_node` and friends,
the scheduling loop calls :meth:`assume` right after choosing a node (so the next pod sees the
room taken before the binding is written), then :meth:`forget` if binding fails. When the pod
informer reports the pod bound, the assumed copy is replaced by the real one.

Invariants:
- a pod key is on at most one node (``_pod_node``); re-adding moves it;
- a pod bound to a node the cache has not seen yet waits in ``_orphans`` and is added when the
  node arrives (informers are not ordered with respect to each other);
- finished pods (``Succeeded``/``Failed``) and pods being deleted past their grace are removed:
  they no longer hold resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from k3trio.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot, pod_key

__all__ = ["SchedulerCache"]

Obj = Mapping[str, Any]


def _node_name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class SchedulerCache:
    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}
        self._orphans: dict[str, dict[str, PodInfo]] = {}
        self._assumed: set[str] = set()
        self._order: list[NodeInfo] | None = None
        self._image_counts: dict[str, int] | None = None

    # -- nodes --------------------------------------------------------------------------------
    def add_node(self, node: Obj) -> None:
        name = _node_name(node)
        old = self._nodes.get(name)
        pods: Iterable[PodInfo] = old.pods.values() if old is not None else ()
        info = NodeInfo(node, pods)
        for pi in self._orphans.pop(name, {}).values():
            info.add_pod(pi)
        if old is None or old.images != info.images:
            self._image_counts = None
        self._nodes[name] = info
        self._order = None

    update_node = add_node

    def remove_node(self, node: Obj | str) -> None:
        name = node if isinstance(node, str) else _node_name(node)
        info = self._nodes.pop(name, None)
        self._order = None
        self._image_counts = None
        if info is not None and info.pods:
            self._orphans[name] = dict(info.pods)

    # -- pods ---------------------------------------------------------------------------------
    def add_pod(self, pod: Obj) -> None:
        """An assigned pod appeared or changed (also confirms an assumed pod)."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        key = pod_key(pod)
        if not node_name or _finished(pod):
            self.remove_pod(key)
            return
        self._detach(key)
        self._assumed.discard(key)
        self._attach(PodInfo.of(pod), node_name)

    update_pod = add_pod

    def remove_pod(self, pod: Obj | str) -> None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        self._detach(key)
        self._assumed.discard(key)

    def assume(self, pod: Obj, node_name: str) -> dict[str, Any]:
        """Account for ``pod`` on ``node_name`` before the binding is written.

        Returns:
            the assumed copy (``spec.nodeName`` set).
        """
        assumed = dict(pod)
        assumed["spec"] = {**(pod.get("spec") or {}), "nodeName": node_name}
        key = pod_key(pod)
        self._detach(key)
        self._attach(PodInfo.of(assumed), node_name)
        self._assumed.add(key)
        return assumed

    def forget(self, pod: Obj | str) -> None:
        """Undo :meth:`assume` (binding failed)."""
        key = pod if isinstance(pod, str) else pod_key(pod)
        if key in self._assumed:
            self.remove_pod(key)

    def is_assumed(self, pod: Obj | str) -> bool:
        return (pod if isinstance(pod, str) else pod_key(pod)) in self._assumed

    def _attach(self, pi: PodInfo, node_name: str) -> None:
        self._pod_node[pi.key] = node_name
        info = self._nodes.get(node_name)
        if info is None:
            self._orphans.setdefault(node_name, {})[pi.key] = pi
        else:
            info.add_pod(pi)

    def _detach(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return
        info = self._nodes.get(node_name)
        if info is not None:
            info.remove_pod(key)
        orphans = self._orphans.get(node_name)
        if orphans is not None:
            orphans.pop(key, None)
            if not orphans:
                del self._orphans[node_name]

    # -- reading ------------------------------------------------------------------------------
    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    def snapshot(self, **extras: Any) -> Snapshot:
        """A :class:`Snapshot` over the live node infos (nodes in name order); ``extras`` are
        :meth:`Snapshot.from_infos` keywords (namespaces, pvcs, services, nominated, ...)."""
        if self._order is None:
            self._order = [self._nodes[name] for name in sorted(self._nodes)]
        snap = Snapshot.from_infos(self._order, **extras)
        if self._image_counts is None:
            self._image_counts = snap.image_node_counts()
        snap.image_counts = self._image_counts
        return snap
