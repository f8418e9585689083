"""The namespace controller: empties a terminating namespace, then finalizes it.

For a namespace with ``deletionTimestamp`` whose ``spec.finalizers`` still holds
``kubernetes``, ``sync``:

1. discovers every namespaced resource that can be listed and deleted (the preferred version
   of each group/resource; a discovery failure is reported and retried);
2. deletes the namespace's objects of each resource (``deletecollection`` where served, else
   one by one) with background propagation;
3. lists what is left: objects still present, and those with finalizers;
4. writes the five deletion conditions into ``status.conditions`` as upstream does
   (``NamespaceDeletionDiscoveryFailure``, ``NamespaceDeletionGroupVersionParsingFailure``,
   ``NamespaceDeletionContentFailure``, ``NamespaceContentRemaining``,
   ``NamespaceFinalizersRemaining``), each ``False`` with its "all good" reason or ``True``
   with what went wrong;
5. when nothing is left, removes ``kubernetes`` from ``spec.finalizers`` through
   ``namespaces/<name>/finalize`` (the API server then deletes the namespace once no other
   finalizer remains); otherwise requeues, after the longest pending grace period.

Pure parts: ``deletion_conditions`` (status from what happened) and ``remaining_message``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from ..client import ApiError, ClientError, Conflict, NotFound
from ..client.resource import Resource
from .base import Controller, ControllerContext, Obj, meta_of
from .handles import NAMESPACES
from .timeutil import format_time

__all__ = ["FINALIZER", "NamespaceController", "Outcome", "deletion_conditions"]

log = logging.getLogger("k3trio.controllers.namespace")

FINALIZER = "kubernetes"
CONDITION_ORDER = (
    "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure", "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
OK_REASONS = {
    "NamespaceDeletionDiscoveryFailure": "ResourcesDiscovered",
    "NamespaceDeletionGroupVersionParsingFailure": "ParsedGroupVersions",
    "NamespaceDeletionContentFailure": "ContentDeleted",
    "NamespaceContentRemaining": "ContentRemoved",
    "NamespaceFinalizersRemaining": "ContentHasNoFinalizers",
}
BAD_REASONS = {
    "NamespaceDeletionDiscoveryFailure": "DiscoveryFailed",
    "NamespaceDeletionGroupVersionParsingFailure": "GroupVersionParsingFailed",
    "NamespaceDeletionContentFailure": "ContentDeletionFailed",
    "NamespaceContentRemaining": "SomeResourcesRemain",
    "NamespaceFinalizersRemaining": "SomeFinalizersRemain",
}
OK_MESSAGES = {
    "NamespaceDeletionDiscoveryFailure": "All resources successfully discovered",
    "NamespaceDeletionGroupVersionParsingFailure": "All legacy kube types successfully parsed",
    "NamespaceDeletionContentFailure": "All content successfully deleted, may be waiting on finalization",
    "NamespaceContentRemaining": "All content successfully removed",
    "NamespaceFinalizersRemaining": "All content-preserving finalizers finished",
}


@attrs.define
class Outcome:
    """What one deletion pass saw."""

    discovery_error: str = ""
    delete_errors: list[str] = attrs.Factory(list)
    remaining: dict[str, int] = attrs.Factory(dict)  # group resource -> objects left
    finalizers: dict[str, int] = attrs.Factory(dict)  # finalizer -> objects holding it
    grace: float = 0.0

    @property
    def done(self) -> bool:
        return not (self.discovery_error or self.delete_errors or self.remaining)


def remaining_message(remaining: Mapping[str, int]) -> str:
    parts = [f"{gr} has {n} resource instances" for gr, n in sorted(remaining.items())]
    return "Some resources are remaining: " + ", ".join(parts)


def finalizers_message(finalizers: Mapping[str, int]) -> str:
    parts = [f"{f} in {n} resource instances" for f, n in sorted(finalizers.items())]
    return "Some content in the namespace has finalizers remaining: " + ", ".join(parts)


def deletion_conditions(outcome: Outcome, existing: list[Obj], now: str) -> list[Obj]:
    """The namespace's ``status.conditions`` after a pass (transition times kept when the
    status of a condition did not change)."""
    bad: dict[str, str] = {}
    if outcome.discovery_error:
        bad["NamespaceDeletionDiscoveryFailure"] = "Discovery failed for some groups, " \
            f"{outcome.discovery_error}"
    if outcome.delete_errors:
        bad["NamespaceDeletionContentFailure"] = "Failed to delete all resource types, " \
            f"{len(outcome.delete_errors)} remaining: " + ", ".join(outcome.delete_errors)
    if outcome.remaining:
        bad["NamespaceContentRemaining"] = remaining_message(outcome.remaining)
    if outcome.finalizers:
        bad["NamespaceFinalizersRemaining"] = finalizers_message(outcome.finalizers)
    old = {c.get("type"): c for c in existing}
    out: list[Obj] = []
    for ctype in CONDITION_ORDER:
        status = "True" if ctype in bad else "False"
        reason = BAD_REASONS[ctype] if ctype in bad else OK_REASONS[ctype]
        message = bad.get(ctype) or OK_MESSAGES[ctype]
        prev = old.get(ctype)
        stamp = prev.get("lastTransitionTime", now) if prev and prev.get("status") == status \
            else now
        out.append({"type": ctype, "status": status, "lastTransitionTime": stamp,
                    "reason": reason, "message": message})
    out.extend(c for t, c in old.items() if t not in CONDITION_ORDER)
    return out


def deletable(resources: list[Resource]) -> list[Resource]:
    """Namespaced resources that can be listed and deleted, one version per resource."""
    seen: set[tuple[str, str]] = set()
    out: list[Resource] = []
    for r in resources:
        if not r.namespaced or "list" not in r.verbs:
            continue
        if "delete" not in r.verbs and "deletecollection" not in r.verbs:
            continue
        key = (r.group, r.resource)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


class NamespaceController(Controller):
    name = "namespace"
    workers = 10

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.namespaces = self.informer(NAMESPACES, on_add=self._changed,
                                        on_update=lambda o, n: self._changed(n))

    def _changed(self, ns: Obj) -> None:
        if meta_of(ns).get("deletionTimestamp"):
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get(key)
        if ns is None or not meta_of(ns).get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        outcome = await self.delete_content(key)
        ns = await self._write_conditions(ns, outcome)
        if ns is None:
            return
        if outcome.done:
            await self._finalize(ns)
            return
        delay = max(outcome.grace, 1.0)
        self.enqueue_after(key, delay)

    async def delete_content(self, namespace: str) -> Outcome:
        """Delete everything in ``namespace`` once and report what remains."""
        outcome = Outcome()
        try:
            resources = deletable(await self.client.discovery.resources(refresh=True))
        except ClientError as exc:
            outcome.discovery_error = str(exc)
            return outcome
        for res in resources:
            try:
                await self._delete_all(res, namespace)
                items, _ = await self.client.list_all(res, namespace=namespace)
            except NotFound:
                continue
            except ApiError as exc:
                if exc.status_code in (405,):
                    continue
                outcome.delete_errors.append(f"{res.group_resource}: {exc}")
                continue
            if not items:
                continue
            outcome.remaining[res.group_resource] = len(items)
            for item in items:
                meta = meta_of(item)
                for fin in meta.get("finalizers") or []:
                    outcome.finalizers[f"{res.group_resource}: {fin}"] = \
                        outcome.finalizers.get(f"{res.group_resource}: {fin}", 0) + 1
                grace = meta.get("deletionGracePeriodSeconds")
                if grace:
                    outcome.grace = max(outcome.grace, float(grace))
        return outcome

    async def _delete_all(self, res: Resource, namespace: str) -> None:
        if "deletecollection" in res.verbs:
            await self.client.delete_collection(res, namespace=namespace,
                                                propagation_policy="Background")
            return
        items, _ = await self.client.list_all(res, namespace=namespace)
        for item in items:
            if meta_of(item).get("deletionTimestamp"):
                continue
            try:
                await self.client.delete(res, str(meta_of(item).get("name")),
                                         namespace=namespace, propagation_policy="Background")
            except NotFound:
                pass

    async def _write_conditions(self, ns: Obj, outcome: Outcome) -> Obj | None:
        status = ns.get("status") or {}
        conditions = deletion_conditions(outcome, list(status.get("conditions") or []),
                                         format_time(self.now()))
        if conditions == status.get("conditions"):
            return ns
        obj = copy.deepcopy(ns)
        obj.setdefault("status", {})["conditions"] = conditions
        try:
            return await self.client.update_status(NAMESPACES, obj)
        except NotFound:
            return None
        except Conflict:
            self.enqueue_rate_limited(str(meta_of(ns).get("name")))
            return None

    async def _finalize(self, ns: Obj) -> None:
        obj = copy.deepcopy(ns)
        spec = obj.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        try:
            await self.client.update(NAMESPACES, obj, subresource="finalize")
        except NotFound:
            pass
