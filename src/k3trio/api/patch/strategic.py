"""Strategic merge patch, applied server-side as apimachinery's ``strategicpatch`` does for
``application/strategic-merge-patch+json`` on built-in kinds.

How a field merges comes from the OpenAPI patch metadata (:mod:`k3trio.api.openapi_data`):

- objects merge key by key; ``null`` deletes a key;
- lists with strategy ``merge`` and a merge key (containers by ``name``, ports by
  ``containerPort``, ...) merge element-wise by that key; ``merge`` lists of scalars
  (finalizers) are a union; every other list is replaced by the patch's list;
- directives: ``$patch: replace`` / ``$patch: delete`` in an object, ``{"$patch":
  "replace"}`` and ``{"$patch": "delete", <key>: ...}`` elements in a merge list,
  ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and ``$retainKeys``.

Invariants:
- Inputs are never modified; the result shares nothing with them.
- Order of a merged list: items named by the patch (or by ``$setElementOrder``) keep the
  patch's relative order; items only on the server keep theirs and are interleaved by
  their position in the live list (upstream's ``normalizeElementOrder``).
- Errors carry upstream's messages; ``code`` on the exception gives the HTTP status the
  API server answers with (400 malformed, 422 or 500 as upstream reports them).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from k3trio.api.openapi_data import FieldPatchMeta, TypePatchMeta, definition_for_kind, type_patch_meta
from k3trio.api.patch._json import deep_copy, go_format, json_equal, json_kind
from k3trio.api.patch.errors import BadPatch, PatchError, PatchInternal

__all__ = ["Schema", "apply_strategic_merge_patch", "schema_for_kind"]

DIRECTIVE = "$patch"
REPLACE = "replace"
DELETE = "delete"
MERGE = "merge"
RETAIN_KEYS = "retainKeys"
RETAIN_KEYS_DIRECTIVE = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"

_NO_META = FieldPatchMeta((), "", "", "", (), "")


class Schema(NamedTuple):
    """A position in the type tree: a struct definition, or a map whose values are ``ref``."""

    type_meta: TypePatchMeta
    is_map: bool = False

    def lookup(self, key: str) -> tuple[FieldPatchMeta, Schema]:
        """Metadata of field ``key`` and the schema of its value (or list element)."""
        if self.is_map:
            return _NO_META, Schema(self.type_meta)
        meta = self.type_meta.field(key)
        child = type_patch_meta(meta.ref)
        return meta, Schema(child, is_map=meta.container == "m")

    @property
    def name(self) -> str:
        return self.type_meta.name


EMPTY_SCHEMA = Schema(type_patch_meta(""))


def schema_for_kind(group: str, version: str, kind: str) -> Schema | None:
    """The schema of a built-in kind, or None when the kind has no OpenAPI definition."""
    definition = definition_for_kind(group, version, kind)
    return None if definition is None else Schema(type_patch_meta(definition))


def _split_strategy(strategies: tuple[str, ...]) -> str:
    """``extractRetainKeysPatchStrategy``: the strategy other than ``retainKeys``."""
    if len(strategies) > 2 or (len(strategies) == 2 and RETAIN_KEYS not in strategies):
        raise PatchInternal(f"unexpected patch strategy: [{' '.join(strategies)}]")
    rest = [s for s in strategies if s != RETAIN_KEYS]
    return rest[0] if rest else ""


def _no_merge_key(item: Any, key: str) -> PatchInternal:
    return PatchInternal(f"map: {go_format(item)} does not contain declared merge key: {key}")


def _bad_patch_type(kind: Any, where: Any) -> BadPatch:
    return BadPatch(f"unknown patch type: {go_format(kind)} in map: {go_format(where)}")


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


# -- maps --------------------------------------------------------------------------------------


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == REPLACE:
            replaced: dict[str, Any] = _discard_nulls({k: v for k, v in patch.items() if k != DIRECTIVE})
            return replaced
        if directive == DELETE:
            return {}
        raise _bad_patch_type(directive, patch)
    original = {} if original is None else original
    patch = dict(patch)
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in patch.items():
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not is_delete_list:
                original[key] = _fresh(value, schema, key)
            continue
        current = original[key]
        if json_kind(current) != json_kind(value):
            if not is_delete_list:
                original[key] = _fresh(value, schema, key)
            continue
        if isinstance(current, dict):
            meta, sub = schema.lookup(key)
            if _split_strategy(meta.strategies) == REPLACE:
                original[key] = _discard_nulls(value)
            else:
                original[key] = _merge_map(current, value, sub)
        elif isinstance(current, list):
            meta, sub = schema.lookup(key)
            original[key] = _merge_list_field(current, value, sub, meta, is_delete_list)
        else:
            original[key] = value
    return original


def _fresh(value: Any, schema: Schema, key: str) -> Any:
    """A patch value for a field the original lacks: nulls dropped, directives applied."""
    if isinstance(value, dict):
        meta, sub = schema.lookup(key)
        if _split_strategy(meta.strategies) == REPLACE:
            return _discard_nulls(value)
        return _merge_map({}, value, sub)
    if isinstance(value, list):
        meta, sub = schema.lookup(key)
        if _split_strategy(meta.strategies) == MERGE:
            return _merge_list([], value, sub, meta.merge_key, False)
        return _discard_nulls(value)
    return value


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS_DIRECTIVE not in patch:
        return
    retain = patch.pop(RETAIN_KEYS_DIRECTIVE)
    if not isinstance(retain, list):
        raise BadPatch("invalid patch format of retainKeys")
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in keep:
            raise BadPatch("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


# -- lists -------------------------------------------------------------------------------------


def _merge_list_field(
    original: list[Any], patch: list[Any], schema: Schema, meta: FieldPatchMeta, is_delete_list: bool
) -> list[Any]:
    strategy = _split_strategy(meta.strategies)
    if strategy == MERGE or is_delete_list:
        return _merge_list(original, patch, schema, meta.merge_key, is_delete_list)
    replaced: list[Any] = _discard_nulls(patch)
    return replaced


def _element_kind(*lists: list[Any]) -> str:
    """``sliceElementType``: every element of every list must share one JSON kind."""
    kind = None
    for items in lists:
        for item in items:
            current = json_kind(item)
            if kind is None:
                if current == "array":
                    raise PatchError("lists of lists are not supported")
                kind = current
            elif kind != current:
                raise PatchInternal(
                    "list element types are not identical: " + go_format(list(lists))
                )
    if kind is None:
        raise PatchInternal("no elements in any of the given slices")
    return kind


def _merge_list(
    original: list[Any], patch: list[Any], schema: Schema, merge_key: str, is_delete_list: bool
) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "object":
        if is_delete_list:
            return [item for item in original if not any(json_equal(item, p) for p in patch)]
        merged = _dedupe(original + patch)
    else:
        if not merge_key:
            raise PatchInternal(f"cannot merge lists without merge key for {schema.name}")
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, schema)
    return _order(merged, patch, original, merge_key if kind == "object" else "")


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(json_equal(item, seen) for seen in out):
            out.append(item)
    return out


def _special_elements(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    """``mergeSliceWithSpecialElements``: apply ``$patch`` elements, return what remains."""
    plain = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [o for o in original if not json_equal(o.get(merge_key), item[merge_key])]
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise PatchInternal("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, item)
    if replace:
        return [_discard_nulls(p) for p in plain], []
    return original, plain


def _merge_by_key(original: list[Any], patch: list[Any], merge_key: str, schema: Schema) -> list[Any]:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        for i, existing in enumerate(merged):
            if isinstance(existing, dict) and json_equal(existing.get(merge_key), item[merge_key]):
                merged[i] = _merge_map(existing, item, schema)
                break
        else:
            merged.append(_merge_map({}, item, schema) if DIRECTIVE not in item else item)
    return merged


def _index_in(order: list[Any], item: Any, merge_key: str) -> int:
    for i, candidate in enumerate(order):
        if merge_key:
            if isinstance(candidate, dict) and isinstance(item, dict) and merge_key in candidate:
                if json_equal(candidate[merge_key], item.get(merge_key)):
                    return i
        elif json_equal(candidate, item):
            return i
    return -1


def _order(merged: list[Any], patch_order: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    """``normalizeElementOrder``: patch items in patch order, server-only items in server
    order, interleaved by their positions in the live list."""
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for item in merged:
        (in_patch if _index_in(patch_order, item, merge_key) >= 0 else server_only).append(item)
    in_patch.sort(key=lambda item: _index_in(patch_order, item, merge_key))
    server_only.sort(key=lambda item: _index_in(server_order, item, merge_key))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(in_patch):
        if i >= len(server_only):
            out.append(in_patch[j])
            j += 1
        elif j >= len(in_patch):
            out.append(server_only[i])
            i += 1
        else:
            li = _index_in(server_order, server_only[i], merge_key)
            ri = _index_in(server_order, in_patch[j], merge_key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(in_patch[j])
                j += 1
    return out


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> None:
    """``mergePatchIntoOriginal``: merge each list that has a ``$setElementOrder`` directive
    and order it by that directive; both are removed from ``patch``."""
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise PatchInternal(f"expected a []interface {{}}, but received a {_go_type(order)}")
        key = directive_key[len(SET_ELEMENT_ORDER) :]
        has_original, has_patch = key in original, key in patch
        current: list[Any] = original[key] if has_original else []
        patch_list: list[Any] = patch[key] if has_patch else []
        for value in (current, patch_list):
            if not isinstance(value, list):
                raise PatchInternal(f"expected a []interface {{}}, but received a {_go_type(value)}")
        meta, sub = schema.lookup(key)
        merge_key = meta.merge_key
        _check_order(patch_list, order, merge_key)
        merged: list[Any]
        if has_original and not has_patch:
            merged = current
        elif has_patch:
            merged = _merge_list_field(current, patch_list, sub, meta, False)
        else:
            continue
        kind = _element_kind(current, patch_list)
        original[key] = _order(merged, order, current, merge_key if kind == "object" else "")
        patch.pop(key, None)


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """``validatePatchWithSetOrderList``: the patch's items appear in the order list, in order."""
    if not patch_list or not order:
        return
    items = [p for p in patch_list if not (isinstance(p, dict) and p.get(DIRECTIVE) == DELETE)]
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if merge_key:
            a = items[pi].get(merge_key) if isinstance(items[pi], dict) else None
            b = order[oi].get(merge_key) if isinstance(order[oi], dict) else None
            same = json_equal(a, b)
        else:
            same = json_equal(items[pi], order[oi])
        if same:
            pi += 1
        oi += 1
    if pi < len(items):
        raise BadPatch(
            f"The order in patch list:\n{go_format(patch_list)}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{go_format(order)}\n"
        )


def _go_type(value: Any) -> str:
    return {
        "object": "map[string]interface {}",
        "array": "[]interface {}",
        "string": "string",
        "number": "float64",
        "bool": "bool",
        "null": "<nil>",
    }[json_kind(value)]


def apply_strategic_merge_patch(original: Any, patch: Any, schema: Schema | None) -> dict[str, Any]:
    """Apply a decoded strategic merge patch to a decoded object.

    Args:
        original: the live object (a JSON object).
        patch: the decoded patch; must be a JSON object.
        schema: from :func:`schema_for_kind`; ``None`` merges with no metadata (every list
            replaced), which is what a type without patch tags gets.

    Returns:
        The patched object (new; the inputs are untouched).

    Raises:
        BadPatch: the patch is not an object or has malformed directives.
        PatchError: the patch cannot apply (``code`` is 422 or 500 as upstream answers).
    """
    if not isinstance(patch, dict):
        raise BadPatch(
            f"json: cannot unmarshal {_go_json_name(patch)} into Go value of type map[string]interface {{}}"
        )
    if not isinstance(original, dict):
        raise BadPatch("invalid JSON document")
    return _merge_map(deep_copy(original), deep_copy(patch), schema or EMPTY_SCHEMA)


def _go_json_name(value: Any) -> str:
    kind = json_kind(value)
    return {"object": "object", "array": "array", "null": "null"}.get(kind, kind)
