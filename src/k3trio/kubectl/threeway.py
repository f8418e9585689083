"""Client-side apply's three-way merge: the patch that takes the live object to the new
manifest while deleting only what the previous apply set (kubectl's
``CreateThreeWayMergePatch``), as a strategic merge patch for built-in kinds and a JSON merge
patch for the others.

Inputs: ``original`` (the last-applied configuration, or None), ``modified`` (the new
manifest with its new last-applied annotation) and ``current`` (the live object).

Rules:
- additions and changes: every field of ``modified`` that differs from ``current``;
- deletions: every field of ``original`` that ``modified`` no longer has, as ``null`` (map
  keys), ``{"$patch": "delete", <key>: ...}`` (merge-keyed list items) or
  ``$deleteFromPrimitiveList/<field>`` (merge lists of scalars);
- merge-keyed lists carry ``$setElementOrder/<field>`` so the server keeps the manifest's
  order; lists without a merge strategy are replaced whole when they differ;
- fields only the server set (not in ``original`` or ``modified``) are left alone.

Pure: inputs are not modified.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["three_way_json_merge", "three_way_strategic"]


def _schema_for(obj: dict[str, Any]) -> Any:
    from ..api.patch.strategic import schema_for_kind

    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    return schema_for_kind(group, version, str(obj.get("kind") or ""))


def three_way_strategic(original: dict[str, Any] | None, modified: dict[str, Any],
                        current: dict[str, Any]) -> dict[str, Any] | None:
    """The strategic merge patch, or None when the kind has no schema (use JSON merge)."""
    schema = _schema_for(modified)
    if schema is None:
        return None
    return _diff_map(original, modified, current, schema)


def _diff_map(original: dict[str, Any] | None, modified: dict[str, Any],
              current: dict[str, Any] | None, schema: Any) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    current = current if isinstance(current, dict) else {}
    original = original if isinstance(original, dict) else {}
    for key, mval in modified.items():
        meta, child = _lookup(schema, key)
        oval = original.get(key)
        if key not in current:
            patch[key] = copy.deepcopy(mval)
            if isinstance(mval, list) and meta is not None and meta[1]:
                _add_order(patch, key, mval, meta[1])
            continue
        cval = current[key]
        if isinstance(mval, dict) and isinstance(cval, dict):
            sub = _diff_map(oval if isinstance(oval, dict) else None, mval, cval, child)
            if sub:
                patch[key] = sub
        elif isinstance(mval, list) and isinstance(cval, list) and meta is not None \
                and meta[0] == "merge":
            _diff_merge_list(patch, key, oval if isinstance(oval, list) else [], mval, cval,
                             meta[1], child)
        elif mval != cval:
            patch[key] = copy.deepcopy(mval)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def _lookup(schema: Any, key: str) -> tuple[tuple[str, str] | None, Any]:
    if schema is None:
        return None, None
    try:
        meta, child = schema.lookup(key)
    except Exception:
        return None, None
    strategy = ",".join(getattr(meta, "strategies", ()) or ())
    merge_key = getattr(meta, "merge_key", "") or ""
    return ("merge" if "merge" in strategy else "", merge_key), child


def _add_order(patch: dict[str, Any], key: str, items: list[Any], merge_key: str) -> None:
    if merge_key and all(isinstance(i, dict) and merge_key in i for i in items):
        patch[f"$setElementOrder/{key}"] = [{merge_key: i[merge_key]} for i in items]


def _diff_merge_list(patch: dict[str, Any], key: str, original: list[Any], modified: list[Any],
                     current: list[Any], merge_key: str, child: Any) -> None:
    if not merge_key:  # a merge list of scalars (finalizers): a set
        added = [v for v in modified if v not in current]
        removed = [v for v in original if v not in modified]
        if added:
            patch[key] = added
        if removed:
            patch[f"$deleteFromPrimitiveList/{key}"] = removed
        if added or removed:
            patch[f"$setElementOrder/{key}"] = list(modified)
        return

    def by_key(items: list[Any]) -> dict[Any, Any]:
        return {i[merge_key]: i for i in items if isinstance(i, dict) and merge_key in i}

    cur, orig = by_key(current), by_key(original)
    mod_keys = {i.get(merge_key) for i in modified if isinstance(i, dict)}
    out: list[Any] = []
    for item in modified:
        if not isinstance(item, dict) or merge_key not in item:
            out.append(copy.deepcopy(item))
            continue
        k = item[merge_key]
        if k not in cur:
            out.append(copy.deepcopy(item))
            continue
        sub = _diff_map(orig.get(k), item, cur[k], child)
        if sub:
            sub[merge_key] = k
            out.append(sub)
    for k in orig:
        if k not in mod_keys:
            out.append({"$patch": "delete", merge_key: k})
    cur_order = [i.get(merge_key) for i in current if isinstance(i, dict)]
    mod_order = [i.get(merge_key) for i in modified if isinstance(i, dict)]
    if out:
        patch[key] = out
    if out or [k for k in cur_order if k in mod_keys] != mod_order:
        _add_order(patch, key, modified, merge_key)


def three_way_json_merge(original: dict[str, Any] | None, modified: dict[str, Any],
                         current: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (lists replaced whole) for kinds without a schema."""
    patch: dict[str, Any] = {}
    original = original if isinstance(original, dict) else {}
    current = current if isinstance(current, dict) else {}
    for key, mval in modified.items():
        cval = current.get(key, _MISSING)
        if isinstance(mval, dict) and isinstance(cval, dict):
            oval = original.get(key)
            sub = three_way_json_merge(oval if isinstance(oval, dict) else None, mval, cval)
            if sub:
                patch[key] = sub
        elif mval != cval:
            patch[key] = copy.deepcopy(mval)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


_MISSING = object()
