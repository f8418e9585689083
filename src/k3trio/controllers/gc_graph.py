"""The garbage collector's ownership graph. Pure.

Nodes are objects by UID: their identity (apiVersion, kind, namespace, name), their owner
references, whether they are being deleted and with which finalizers, and the UIDs of their
dependents. A node that is only known as somebody's owner is *virtual* (not observed yet, it
may not exist).

``observe`` (an add or update) and ``forget`` (a delete) keep the graph consistent and return
the follow-up work as ``Work`` items, exactly what the collector must look at:

- ``delete`` a UID: check a dependent whose owners may be gone (its owner was deleted, is
  virtual, or is deleting in the foreground), or an owner in foreground deletion whose
  blocking dependents may be gone;
- ``orphan`` a UID: an owner being deleted with the ``orphan`` finalizer.

Invariants: ``dependents`` of a node are exactly the nodes listing it among their owners;
virtual nodes without dependents are dropped; a node's ``owners`` are its current refs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["FOREGROUND", "ORPHAN", "Graph", "Identity", "Node", "Work"]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


@attrs.frozen
class Identity:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    def ref(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
                "uid": self.uid}


@attrs.define
class Node:
    identity: Identity
    owners: list[dict[str, Any]] = attrs.Factory(list)
    dependents: set[str] = attrs.Factory(set)
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    virtual: bool = False

    @property
    def deleting_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers


@attrs.frozen
class Work:
    action: str  # "delete" or "orphan"
    uid: str


def identity_of(obj: Mapping[str, Any]) -> Identity:
    meta = obj.get("metadata") or {}
    return Identity(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""),
                    str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                    str(meta.get("uid") or ""))


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, uid: str) -> Node | None:
        return self.nodes.get(uid)

    def _link(self, uid: str, owners: Iterable[Mapping[str, Any]], namespace: str) -> list[Work]:
        work: list[Work] = []
        for ref in owners:
            ouid = str(ref.get("uid") or "")
            if not ouid:
                continue
            owner = self.nodes.get(ouid)
            if owner is None:
                owner = Node(Identity(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""),
                                      namespace, str(ref.get("name") or ""), ouid), virtual=True)
                self.nodes[ouid] = owner
                work.append(Work("delete", uid))
            owner.dependents.add(uid)
            if owner.deleting_dependents:
                work.append(Work("delete", uid))
        return work

    def _unlink(self, uid: str, owners: Iterable[Mapping[str, Any]]) -> list[Work]:
        work: list[Work] = []
        for ref in owners:
            owner = self.nodes.get(str(ref.get("uid") or ""))
            if owner is None:
                continue
            owner.dependents.discard(uid)
            if owner.deleting_dependents:
                work.append(Work("delete", owner.identity.uid))
            if owner.virtual and not owner.dependents:
                del self.nodes[owner.identity.uid]
        return work

    def observe(self, obj: Mapping[str, Any]) -> list[Work]:
        """An object was added or updated; return the work it causes."""
        ident = identity_of(obj)
        if not ident.uid:
            return []
        meta = obj.get("metadata") or {}
        owners = [dict(r) for r in meta.get("ownerReferences") or [] if r.get("uid")]
        finalizers = tuple(meta.get("finalizers") or ())
        deleting = bool(meta.get("deletionTimestamp"))
        node = self.nodes.get(ident.uid)
        work: list[Work] = []
        if node is None:
            node = Node(ident, owners=owners, deleting=deleting, finalizers=finalizers)
            self.nodes[ident.uid] = node
            work += self._link(ident.uid, owners, ident.namespace)
        else:
            node.identity, node.virtual = ident, False
            old_uids = {r["uid"] for r in node.owners}
            new_uids = {r["uid"] for r in owners}
            removed = [r for r in node.owners if r["uid"] not in new_uids]
            added = [r for r in owners if r["uid"] not in old_uids]
            changed_block = [r for r in owners if r["uid"] in old_uids and
                             r.get("blockOwnerDeletion") != next(
                                 (o.get("blockOwnerDeletion") for o in node.owners
                                  if o["uid"] == r["uid"]), None)]
            node.owners = owners
            work += self._unlink(ident.uid, removed)
            work += self._link(ident.uid, added, ident.namespace)
            for r in changed_block:
                owner = self.nodes.get(r["uid"])
                if owner is not None and owner.deleting_dependents:
                    work.append(Work("delete", owner.identity.uid))
            node.deleting, node.finalizers = deleting, finalizers
        if node.deleting_dependents:
            work.append(Work("delete", ident.uid))
            work += [Work("delete", d) for d in node.dependents]
        if node.orphaning:
            work.append(Work("orphan", ident.uid))
        return work

    def forget(self, obj: Mapping[str, Any]) -> list[Work]:
        """An object was deleted; return the work it causes."""
        ident = identity_of(obj)
        node = self.nodes.get(ident.uid)
        if node is None:
            return []
        work = self._unlink(ident.uid, node.owners)
        node.owners = []
        if node.dependents:
            node.virtual = True
            node.deleting = False
            node.finalizers = ()
            work += [Work("delete", d) for d in node.dependents]
        else:
            del self.nodes[ident.uid]
        return work

    def remove_virtual(self, uid: str) -> list[Work]:
        """A virtual node was confirmed absent: its dependents must be checked."""
        node = self.nodes.get(uid)
        if node is None or not node.virtual:
            return []
        return [Work("delete", d) for d in node.dependents]

    def dependents_of(self, uid: str) -> list[Node]:
        node = self.nodes.get(uid)
        if node is None:
            return []
        return [self.nodes[d] for d in sorted(node.dependents) if d in self.nodes]

    def blocking_dependents(self, uid: str) -> list[Node]:
        """Dependents whose reference to ``uid`` has ``blockOwnerDeletion``."""
        out = []
        for dep in self.dependents_of(uid):
            if dep.virtual:
                continue
            for ref in dep.owners:
                if ref.get("uid") == uid and ref.get("blockOwnerDeletion"):
                    out.append(dep)
                    break
        return out
