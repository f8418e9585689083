"""ControllerRevisions: the template history of StatefulSets and DaemonSets.

A ``ControllerRevision`` (apps/v1) is an immutable snapshot of an owner's pod template:

- ``data`` is the patch ``{"spec": {"template": {..., "$patch": "replace"}}}`` that, applied to
  the owner, brings its template back (``kubectl rollout undo`` sends exactly this as a
  strategic merge patch); it is serialised canonically (sorted keys, no spaces) so equal
  templates give byte-equal data;
- ``revision`` is a number, 1 + the highest existing revision when a template is first seen;
  re-applying an old template (undo) renumbers its existing revision instead of creating one;
- the name is ``<owner>-<hash>`` where the hash is FNV-1 (32 bit) over the data, followed by
  the decimal collision count when there is one, spelled with the safe alphabet; the label
  ``controller.kubernetes.io/hash`` carries the hash; on a name clash with different data the
  caller's collision count is bumped and the create retried (upstream ``controller_history.go``);
- labels are the template's labels, so ``kubectl rollout history`` finds the revisions with the
  owner's selector; the owner is the controller reference.

Pure helpers (``revision_data``, ``hash_revision``, ``new_revision``, ``sort_revisions``,
``find_equal_revisions``, ``next_revision``, ``apply_revision``) are separate from ``History``,
which does the writes.

Invariants: a revision's ``data`` is never changed after creation, only its ``revision``
number; ``History.create`` never returns a revision with different data than asked for.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..api import labels as labelsel
from ..client import Client
from ..client.errors import AlreadyExists, Conflict, NotFound
from ..client.resource import Resource
from .base import Obj, meta_of
from .podcontrol import controller_of, controller_ref

__all__ = [
    "CONTROLLERREVISIONS",
    "HASH_LABEL",
    "History",
    "apply_revision",
    "find_equal_revisions",
    "hash_revision",
    "new_revision",
    "next_revision",
    "revision_data",
    "revision_data_bytes",
    "revision_name",
    "revision_number",
    "sort_revisions",
]

CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions", "ControllerRevision", True)
#: the label holding the data hash of a revision
HASH_LABEL = "controller.kubernetes.io/hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_PREFIX = 223


def _fnv1_32(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def _safe(text: str) -> str:
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


def canonical(value: Any) -> bytes:
    """JSON with sorted keys and no spaces (as Go marshals maps)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def revision_data(owner: Mapping[str, Any]) -> Obj:
    """The ``data`` of a revision snapshotting ``owner``'s pod template (upstream ``getPatch``)."""
    template = copy.deepcopy(dict((owner.get("spec") or {}).get("template") or {}))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_data_bytes(revision: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a revision's ``data`` (b"" when missing)."""
    data = revision.get("data")
    return b"" if data is None else canonical(data)


def hash_revision(data: Mapping[str, Any] | None, collision_count: int | None = None) -> str:
    """The hash of revision ``data``, salted with ``collision_count`` (decimal) when given."""
    h = _fnv1_32(canonical(data)) if data else 0x811C9DC5
    if collision_count is not None:
        h = _fnv1_32(str(int(collision_count)).encode(), h)
    return _safe(str(h))


def revision_name(prefix: str, hash_: str) -> str:
    """``<prefix>-<hash>``, the prefix cut to 223 characters so the name fits 253."""
    return f"{prefix[:MAX_PREFIX]}-{hash_}"


def revision_number(revision: Mapping[str, Any]) -> int:
    try:
        return int(revision.get("revision") or 0)
    except (TypeError, ValueError):
        return 0


def new_revision(
    owner: Mapping[str, Any],
    data: Mapping[str, Any],
    number: int,
    collision_count: int | None,
    *,
    template_labels: Mapping[str, str] | None = None,
) -> Obj:
    """A new (unwritten) revision of ``owner`` holding ``data`` as revision ``number``."""
    lab = dict(template_labels if template_labels is not None else
               meta_of((owner.get("spec") or {}).get("template") or {}).get("labels") or {})
    hash_ = hash_revision(data, collision_count)
    lab[HASH_LABEL] = hash_
    omet = meta_of(owner)
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(str(omet.get("name", "")), hash_),
            "namespace": str(omet.get("namespace") or ""),
            "labels": lab,
            "ownerReferences": [controller_ref(owner)],
        },
        "data": copy.deepcopy(dict(data)),
        "revision": int(number),
    }


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Ascending by revision number, then creation time, then name (upstream ``byRevision``)."""
    return sorted(revisions, key=lambda r: (revision_number(r),
                                           str(meta_of(r).get("creationTimestamp") or ""),
                                           str(meta_of(r).get("name") or "")))


def equal_revision(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Byte-equal canonical data (hash labels may differ: they are salted with collision
    counts)."""
    if a is None or b is None:
        return a is b
    return revision_data_bytes(a) == revision_data_bytes(b)


def find_equal_revisions(revisions: Iterable[Obj], needle: Mapping[str, Any]) -> list[Obj]:
    """The revisions whose data equals ``needle``'s, in the given order."""
    return [r for r in revisions if equal_revision(r, needle)]


def next_revision(revisions: Iterable[Mapping[str, Any]]) -> int:
    """1 + the highest revision number (1 when there is none)."""
    return max((revision_number(r) for r in revisions), default=0) + 1


def apply_revision(owner: Mapping[str, Any], revision: Mapping[str, Any]) -> Obj:
    """A copy of ``owner`` with the pod template of ``revision`` (upstream ``ApplyRevision``)."""
    out = copy.deepcopy(dict(owner))
    template = ((revision.get("data") or {}).get("spec") or {}).get("template")
    if isinstance(template, Mapping):
        t = copy.deepcopy(dict(template))
        t.pop("$patch", None)
        out.setdefault("spec", {})["template"] = t
    return out


class History:
    """Reads and writes the ControllerRevisions of one owner kind.

    Args:
        client: the controller's API client.
        lister: the ControllerRevision lister (shared informer).
    """

    def __init__(self, client: Client, lister: Any) -> None:
        self.client = client
        self.lister = lister

    def list_owned(self, owner: Mapping[str, Any]) -> list[Obj]:
        """The revisions in the owner's namespace controlled by it (from the cache)."""
        uid = meta_of(owner).get("uid")
        ns = str(meta_of(owner).get("namespace") or "")
        out = []
        for rev in self.lister.list(ns):
            ref = controller_of(rev)
            if ref is not None and ref.get("uid") == uid:
                out.append(rev)
        return out

    async def claim(self, owner: Mapping[str, Any], selector: labelsel.Selector) -> list[Obj]:
        """Owned revisions, adopting orphans that match ``selector`` and releasing owned ones
        that no longer match (as upstream ``ClaimControllerRevisions``)."""
        uid = meta_of(owner).get("uid")
        ns = str(meta_of(owner).get("namespace") or "")
        deleting = bool(meta_of(owner).get("deletionTimestamp"))
        out: list[Obj] = []
        for rev in self.lister.list(ns):
            ref = controller_of(rev)
            rmeta = meta_of(rev)
            matches = not selector.empty and selector.matches(rmeta.get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches or deleting:
                    out.append(rev)
                    continue
                refs = [r for r in rmeta.get("ownerReferences") or [] if r.get("uid") != uid]
                await self._patch_refs(rev, refs or None)
                continue
            if matches and not deleting and not rmeta.get("deletionTimestamp"):
                refs = [*(rmeta.get("ownerReferences") or []), controller_ref(owner)]
                adopted = await self._patch_refs(rev, refs)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _patch_refs(self, rev: Mapping[str, Any], refs: list[Any] | None) -> Obj | None:
        rmeta = meta_of(rev)
        try:
            return await self.client.patch(
                CONTROLLERREVISIONS, str(rmeta["name"]),
                {"metadata": {"ownerReferences": refs, "uid": rmeta.get("uid")}},
                namespace=str(rmeta.get("namespace")))
        except (NotFound, Conflict):
            return None

    async def create(self, revision: Obj, collision_count: list[int]) -> Obj:
        """Create ``revision``; on a clash with different data bump ``collision_count[0]``,
        rename and retry. An existing revision with equal data is returned as is.

        ``collision_count`` is a one-element list so the caller sees the new value (and
        writes it into the owner's ``status.collisionCount``).
        """
        ns = str(meta_of(revision).get("namespace") or "")
        owner_name = str(meta_of(revision)["name"]).rsplit("-", 1)[0]
        while True:
            clone = copy.deepcopy(revision)
            hash_ = hash_revision(clone.get("data"), collision_count[0])
            clone["metadata"]["name"] = revision_name(owner_name, hash_)
            clone["metadata"].setdefault("labels", {})[HASH_LABEL] = hash_
            try:
                return await self.client.create(CONTROLLERREVISIONS, clone, namespace=ns)
            except AlreadyExists:
                existing = await self.client.get(CONTROLLERREVISIONS,
                                                 str(clone["metadata"]["name"]), namespace=ns)
                if revision_data_bytes(existing) == revision_data_bytes(clone):
                    return existing
                collision_count[0] += 1

    async def update_number(self, revision: Obj, number: int) -> Obj:
        """Give ``revision`` the revision number ``number`` (retrying on conflicts)."""
        current = copy.deepcopy(revision)
        for _ in range(5):
            if revision_number(current) == number:
                return current
            current["revision"] = int(number)
            try:
                return await self.client.update(CONTROLLERREVISIONS, current)
            except Conflict:
                rmeta = meta_of(current)
                current = await self.client.get(CONTROLLERREVISIONS, str(rmeta["name"]),
                                                namespace=str(rmeta.get("namespace")))
        raise Conflict(409, "Conflict", f"cannot renumber {meta_of(revision).get('name')}")

    async def update(self, revision: Obj) -> Obj:
        return await self.client.update(CONTROLLERREVISIONS, revision)

    async def delete(self, revision: Mapping[str, Any]) -> None:
        rmeta = meta_of(revision)
        try:
            await self.client.delete(CONTROLLERREVISIONS, str(rmeta["name"]),
                                     namespace=str(rmeta.get("namespace")))
        except NotFound:
            pass
