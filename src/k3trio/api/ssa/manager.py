"""Server-side apply and ``metadata.managedFields`` upkeep, as kube-apiserver v1.36 does it.

:class:`FieldManager` implements ``k3trio.apiserver.interfaces.FieldManager``:

``update(live, new, manager=..., subresource=..., now=...)``
    Every create/update/patch (and status write). The fields that changed between ``live``
    and ``new`` go to ``manager``'s ``Update`` entry and are taken from every other entry;
    the entry's time moves only when it gained something. Managed fields come from ``new``
    when the client sent a valid list (``[]`` or ``[{}]`` resets them), else from ``live``;
    subresource writes always start from ``live``.

``apply(live, applied, manager=..., force=..., subresource=..., now=...)``
    ``application/apply-patch+yaml``. The configuration is merged into the live object,
    fields the applier set before and dropped now are pruned unless another manager owns
    them, and a change to a field another manager owns is a 409 conflict unless ``force``.

The layering mirrors upstream's manager chain: version check, last-applied upkeep and
client-side-apply upgrade for the ``kubectl`` manager, ``before-first-apply`` ownership of
objects without managed fields, the cap of ten updaters, metadata stripping, and the
reset fields of the status subresource (``status`` is ignored on the main resource of
kinds that have one, everything but ``status`` on ``/status``).

Invariants:
- Pure: no I/O, no clock (``now`` is passed in), inputs never mutated. ``update`` results
  share unchanged sub-objects with ``new``; ``apply`` results share nothing with inputs.
- Stored entries that did not change are passed through as the same dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from k3trio.api.errors import APIError, BadRequest, Details
from k3trio.api.registry import BUILTIN
from k3trio.api.ssa import managed as mf
from k3trio.api.ssa.fieldset import (
    FieldSet,
    difference,
    intersection,
    iterate_paths,
    path_string,
    recursive_difference,
    union,
)
from k3trio.api.ssa.managed import APPLY, UPDATE, Entry, Managed
from k3trio.api.ssa.schema import TypeNode, builtin_root, crd_root
from k3trio.api.ssa.walk import ShapeError, compare, ensure_named_fields, merge, remove_items, to_field_set

__all__ = ["FieldManager", "LAST_APPLIED", "SchemaProvider", "ResetFields", "keep_timestamps_if_noop"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"
KUBECTL = "kubectl"
MAX_UPDATE_MANAGERS = 10
_LAST_APPLIED_LIMIT = 256 * 1024

#: ``(group, version, kind) -> openAPIV3Schema`` of a custom resource, or None.
SchemaProvider = Callable[[str, str, str], Mapping[str, Any] | None]
#: ``(apiVersion, kind, subresource) -> paths`` (tuples of field names) nobody may own.
ResetFields = Callable[[str, str, str], Iterable[Sequence[str]]]

# Paths never recorded: identity and bookkeeping metadata (upstream's stripMeta).
_STRIP: FieldSet = {
    "f:apiVersion": {},
    "f:kind": {},
    "f:metadata": {
        ".": {},
        "f:name": {},
        "f:namespace": {},
        "f:creationTimestamp": {},
        "f:selfLink": {},
        "f:uid": {},
        "f:clusterName": {},
        "f:generation": {},
        "f:managedFields": {},
        "f:resourceVersion": {},
    },
}


class _Conflicts(Exception):
    def __init__(self, conflicts: list[tuple[str, FieldSet]]) -> None:
        super().__init__("conflicts")
        self.conflicts = conflicts


def _split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


def _gvk_string(api_version: str, kind: str) -> str:
    group, version = _split_api_version(api_version)
    return f"{group}/{version}, Kind={kind}"


def _paths_to_set(paths: Iterable[Sequence[str]]) -> FieldSet:
    out: FieldSet = {}
    for path in paths:
        node = out
        for i, name in enumerate(path):
            pe = name if name[:2] in ("f:", "k:", "v:", "i:") else "f:" + name
            if i == len(path) - 1:
                child = node.get(pe)
                if child:
                    child["."] = {}
                else:
                    node[pe] = {}
            else:
                child = node.get(pe)
                if child is None or child == {}:
                    child = {".": {}} if child == {} else {}
                    node[pe] = child
                node = child
    return out


def _body(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """The object without ``metadata.managedFields`` (a shallow copy when needed)."""
    if obj is None:
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out = dict(obj)
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
        return out
    return dict(obj)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _with_managed(obj: dict[str, Any], managed: Managed, max_updaters: int) -> dict[str, Any]:
    entries = mf.encode(mf.cap_updaters(managed, max_updaters))
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    out["metadata"] = meta
    return out


def _is_reset(entries: Any) -> bool:
    if not isinstance(entries, list):
        return False
    return len(entries) == 0 or (len(entries) == 1 and entries[0] == {})


def _entries_equal_ignoring_time(a: Sequence[Any], b: Sequence[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if not isinstance(x, dict) or not isinstance(y, dict):
            return False
        if {k: v for k, v in x.items() if k != "time"} != {k: v for k, v in y.items() if k != "time"}:
            return False
    return True


def keep_timestamps_if_noop(new: dict[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
    """Restore ``old``'s managedFields times when nothing but those times changed.

    Upstream runs this on every write so a no-op apply does not bump resourceVersion.
    Returns ``new`` itself or a shallow copy with the old entries' times.
    """
    if old is None:
        return new
    old_entries = (old.get("metadata") or {}).get("managedFields") or []
    new_entries = (new.get("metadata") or {}).get("managedFields") or []
    if not _entries_equal_ignoring_time(old_entries, new_entries):
        return new
    if [e.get("time") for e in old_entries] == [e.get("time") for e in new_entries]:
        return new
    if _body(new) != _body(old):
        return new
    restored = []
    for o, n in zip(old_entries, new_entries):
        entry = dict(n)
        if "time" in o:
            entry["time"] = o["time"]
        else:
            entry.pop("time", None)
        restored.append(entry if entry != o else o)
    out = dict(new)
    out["metadata"] = {**new["metadata"], "managedFields": restored}
    return out


def _conflict_error(conflicts: list[tuple[str, FieldSet]]) -> APIError:
    flat: list[tuple[str, str]] = []
    for key, fields in sorted(conflicts, key=lambda c: c[0]):
        for elements in iterate_paths(fields):
            flat.append((key, path_string(elements)))
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {mf.print_manager(key)}", "field": path}
        for key, path in flat
    ]
    if len(flat) == 1:
        key, where = flat[0]
        message = f"Apply failed with 1 conflict: conflict with {mf.print_manager(key)}: {where}"
    else:
        lines: list[str] = []
        by_manager: dict[str, list[str]] = {}
        for key, where in flat:
            by_manager.setdefault(key, []).append(where)
        for key in sorted(by_manager):
            lines.append(f"conflicts with {mf.print_manager(key)}:")
            lines.extend(f"- {where}" for where in by_manager[key])
        message = f"Apply failed with {len(flat)} conflicts: " + "\n".join(lines)
    return APIError(message, code=409, reason="Conflict", details=Details(causes=causes))


def _go_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class FieldManager:
    """Server-side apply and managed-fields tracking (see the module docstring).

    Args:
        schema_for: schema of custom resources, ``(group, version, kind) ->
            openAPIV3Schema`` or None (then maps are granular and lists atomic). Built-in
            kinds always use the shipped OpenAPI definitions.
        reset_fields: paths nobody owns for ``(apiVersion, kind, subresource)``; the
            default ignores ``status`` on the main resource of built-in kinds with a status
            subresource and ``spec`` on ``/status``. Custom resources with a status
            subresource need a provider that says so.
        max_update_managers: ``Update`` entries kept before folding into ancient-changes.
    """

    def __init__(
        self,
        *,
        schema_for: SchemaProvider | None = None,
        reset_fields: ResetFields | None = None,
        max_update_managers: int = MAX_UPDATE_MANAGERS,
    ) -> None:
        self._schema_for = schema_for
        self._reset_fields = reset_fields
        self._max_updaters = max_update_managers
        self._crd_cache: dict[tuple[str, str, str], tuple[Any, TypeNode]] = {}
        self._ignored_cache: dict[tuple[str, str, str], FieldSet] = {}

    # -- types -------------------------------------------------------------------------------

    def _root(self, api_version: str, kind: str) -> TypeNode:
        group, version = _split_api_version(api_version)
        node = builtin_root(group, version, kind)
        if node is not None:
            return node
        schema = self._schema_for(group, version, kind) if self._schema_for else None
        key = (group, version, kind)
        cached = self._crd_cache.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        node = crd_root(schema)
        self._crd_cache[key] = (schema, node)
        return node

    def _ignored(self, api_version: str, kind: str, subresource: str) -> FieldSet:
        key = (api_version, kind, subresource)
        found = self._ignored_cache.get(key)
        if found is None:
            paths: list[Sequence[str]]
            if self._reset_fields is not None:
                paths = list(self._reset_fields(api_version, kind, subresource))
            else:
                paths = list(_default_reset_paths(api_version, kind, subresource))
            found = self._ignored_cache[key] = _paths_to_set(paths)
        return found

    def _changes(self, live: Any, new: Any, t: TypeNode, ignored: FieldSet) -> tuple[FieldSet, FieldSet]:
        changed, removed = compare(live, new, t)
        if ignored:
            changed = recursive_difference(changed, ignored)
            removed = recursive_difference(removed, ignored)
        return difference(changed, _STRIP), difference(removed, _STRIP)

    # -- update ------------------------------------------------------------------------------

    def update(
        self,
        live: dict[str, Any] | None,
        new: dict[str, Any],
        *,
        manager: str,
        subresource: str = "",
        now: str,
    ) -> dict[str, Any]:
        """Record an ``Update`` by ``manager``: ``new`` with its managedFields updated."""
        api_version = str(new.get("apiVersion") or (live or {}).get("apiVersion") or "")
        kind = str(new.get("kind") or (live or {}).get("kind") or "")
        t = self._root(api_version, kind)
        managed = self._managed_for_update(live, new, subresource)
        changed, removed = self._changes(_body(live), _body(new), t, self._ignored(api_version, kind, subresource))
        managed = _record_update(managed, changed, removed, manager, api_version, subresource, now)
        return _with_managed(new, managed, self._max_updaters)

    @staticmethod
    def _managed_for_update(live: Mapping[str, Any] | None, new: Mapping[str, Any], subresource: str) -> Managed:
        live_entries = ((live or {}).get("metadata") or {}).get("managedFields")
        if not subresource:
            sent = (new.get("metadata") or {}).get("managedFields")
            if _is_reset(sent):
                return {}
            if sent and not (sent is live_entries or sent == live_entries):
                try:
                    decoded = mf.decode(sent, client=True)
                except (ValueError, TypeError):
                    decoded = {}
                if decoded:
                    return {k: e.with_fields(difference(e.fields, _STRIP)) for k, e in decoded.items()}
        try:
            return mf.decode(live_entries)
        except (ValueError, TypeError):
            return {}

    # -- apply -------------------------------------------------------------------------------

    def apply(
        self,
        live: dict[str, Any] | None,
        applied: dict[str, Any],
        *,
        manager: str,
        force: bool,
        subresource: str = "",
        now: str,
        api_version: str = "",
        kind: str = "",
    ) -> dict[str, Any]:
        """Server-side apply ``applied`` onto ``live`` (None: create).

        ``api_version``/``kind`` are the endpoint's (default: the live object's); the
        configuration must match them.

        Raises:
            APIError: 400 for a configuration of another kind or carrying managedFields,
                409 (reason Conflict, one cause per field) on conflicts without ``force``,
                500 for a configuration that does not fit the schema.
        """
        if not isinstance(applied, dict):
            raise BadRequest("apply patch must be a JSON object")
        expected_version = api_version or str((live or {}).get("apiVersion") or "")
        expected_kind = kind or str((live or {}).get("kind") or "")
        applied_version = str(applied.get("apiVersion") or "")
        applied_kind = str(applied.get("kind") or "")
        if expected_version or expected_kind:
            if (applied_version, applied_kind) != (expected_version, expected_kind):
                raise BadRequest(f"invalid object type: {_gvk_string(applied_version, applied_kind)}")
        meta = applied.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise BadRequest("metadata.managedFields must be nil")
        t = self._root(applied_version, applied_kind)
        try:
            config_set = to_field_set(applied, t, strict=True)
        except ShapeError as exc:
            name = (meta or {}).get("name", "")
            namespace = (meta or {}).get("namespace", "")
            raise APIError(
                f"failed to create typed patch object ({namespace}/{name}; "
                f"{_gvk_string(applied_version, applied_kind)}): {exc}",
                code=500,
                reason="",
            ) from exc
        try:
            managed = mf.decode(((live or {}).get("metadata") or {}).get("managedFields"))
        except ValueError as exc:
            raise APIError(f"failed to decode managed fields: {exc}", code=500, reason="") from exc
        ignored = self._ignored(applied_version, applied_kind, subresource)
        live_body = _body(live)
        if live is not None and not managed:
            changed, removed = self._changes({}, live_body, t, ignored)
            managed = _record_update({}, changed, removed, BEFORE_FIRST_APPLY, applied_version, subresource, now)

        config_set = difference(recursive_difference(config_set, ignored) if ignored else config_set, _STRIP)
        key = mf.identity(manager, APPLY, applied_version, subresource)
        args = (live_body, applied, config_set, t, managed, key, manager, applied_version, subresource, ignored, now)
        try:
            merged, result_managed = self._apply(*args, force=force)
        except _Conflicts as exc:
            if manager != KUBECTL:
                raise _conflict_error(exc.conflicts) from None
            allowed = self._allowed_from_last_applied(live_body, t, applied_version)
            if allowed is None:
                raise _conflict_error(exc.conflicts) from None
            remaining = [(k, difference(c, allowed)) for k, c in exc.conflicts]
            remaining = [(k, c) for k, c in remaining if c]
            if remaining:
                raise _conflict_error(remaining) from None
            merged, result_managed = self._apply(*args, force=True)

        merged = _deep_copy(_drop_nulls(merged))
        if manager == KUBECTL and live is not None:
            _update_last_applied(merged, live, applied)
        result = _with_managed(merged, result_managed, self._max_updaters)
        return keep_timestamps_if_noop(result, live)

    def _apply(
        self,
        live_body: dict[str, Any],
        applied: dict[str, Any],
        config_set: FieldSet,
        t: TypeNode,
        managed: Managed,
        key: str,
        manager: str,
        api_version: str,
        subresource: str,
        ignored: FieldSet,
        now: str,
        *,
        force: bool,
    ) -> tuple[dict[str, Any], Managed]:
        managed = dict(managed)
        last = managed.get(key)
        merged = merge(live_body, applied, t) if live_body else applied
        managed[key] = Entry(manager, APPLY, api_version, now, subresource, config_set)
        if last is not None and last.fields:
            merged = _prune(merged, managed, last.fields, t)
        changed, removed = self._changes(live_body, merged, t, ignored)
        conflicts: list[tuple[str, FieldSet]] = []
        for other_key, entry in managed.items():
            if other_key == key:
                continue
            clash = intersection(entry.fields, changed)
            if clash:
                conflicts.append((other_key, clash))
        if conflicts and not force:
            raise _Conflicts(conflicts)
        taken = union(changed, removed)
        out: Managed = {}
        for other_key, entry in managed.items():
            fields = entry.fields if other_key == key else difference(entry.fields, taken)
            if fields:
                out[other_key] = entry if fields is entry.fields else entry.with_fields(fields)
        return merged, out

    def _allowed_from_last_applied(self, live_body: dict[str, Any], t: TypeNode, api_version: str) -> FieldSet | None:
        """Fields the client-side-apply annotation set to their live values, or None."""
        annotations = (live_body.get("metadata") or {}).get("annotations") or {}
        text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
        if not text or not isinstance(text, str):
            return None
        try:
            last = json.loads(text)
        except ValueError:
            return None
        if not isinstance(last, dict) or last.get("apiVersion") != api_version:
            return None
        try:
            fields = to_field_set(last, t, strict=True)
        except ShapeError:
            return None
        changed, removed = compare(last, live_body, t)
        return difference(fields, union(changed, removed))


def _record_update(
    managed: Managed,
    changed: FieldSet,
    removed: FieldSet,
    manager: str,
    api_version: str,
    subresource: str,
    now: str,
) -> Managed:
    """Give ``changed`` to ``manager``'s Update entry; take changed/removed from the rest."""
    taken = union(changed, removed) if removed else changed
    out: Managed = {}
    for key, entry in managed.items():
        fields = difference(entry.fields, taken)
        if fields:
            out[key] = entry if fields is entry.fields else entry.with_fields(fields)
    mine = difference(changed, removed) if removed else changed
    if mine:
        key = mf.identity(manager, UPDATE, api_version, subresource)
        previous = out.get(key)
        fields = union(previous.fields, mine) if previous is not None else mine
        out[key] = Entry(manager, UPDATE, api_version, now, subresource, fields)
    return out


def _prune(merged: Any, managed: Managed, last: FieldSet, t: TypeNode) -> Any:
    """Drop what the applier owned before, dropped now, and nobody else owns."""
    last_named = ensure_named_fields(last, t)
    pruned = remove_items(merged, last_named, t) or {}
    owned: FieldSet = {}
    for entry in managed.values():
        owned = union(owned, entry.fields)
    merged_set = ensure_named_fields(to_field_set(merged, t), t)
    pruned_set = ensure_named_fields(to_field_set(pruned, t), t)
    keep = union(pruned_set, ensure_named_fields(owned, t))
    pruned = remove_items(merged, difference(merged_set, keep), t) or {}
    pruned_set = ensure_named_fields(to_field_set(pruned, t), t)
    return remove_items(merged, intersection(difference(merged_set, pruned_set), last_named), t) or {}


def _update_last_applied(merged: dict[str, Any], live: Mapping[str, Any], applied: Mapping[str, Any]) -> None:
    """Keep kubectl's client-side-apply annotation in step with server-side applies."""
    live_annotations = (live.get("metadata") or {}).get("annotations") or {}
    if not isinstance(live_annotations, dict) or not live_annotations.get(LAST_APPLIED):
        return
    config = _deep_copy(applied)
    cmeta = config.get("metadata")
    if isinstance(cmeta, dict) and isinstance(cmeta.get("annotations"), dict):
        cmeta["annotations"].pop(LAST_APPLIED, None)
    value = _go_json(config) + "\n"
    meta = merged.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    if len(value) + sum(len(k) + len(str(v)) for k, v in annotations.items() if k != LAST_APPLIED) > _LAST_APPLIED_LIMIT:
        annotations.pop(LAST_APPLIED, None)
    else:
        annotations[LAST_APPLIED] = value
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)


def _default_reset_paths(api_version: str, kind: str, subresource: str) -> list[tuple[str, ...]]:
    info = BUILTIN.for_api_version_kind(api_version, kind)
    if subresource == "status":
        return [("spec",)]
    if subresource:
        return []
    if info is not None and info.subresource("status") is not None:
        return [("status",)]
    return []
