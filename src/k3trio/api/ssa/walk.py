"""Schema-driven walks over JSON objects: compare, field sets, merge, removal.

These are the typed-value operations of structured-merge-diff, written over plain dicts:

- :func:`compare` gives the paths changed (added or modified) and removed between two
  objects; a node that appears or disappears is itself a member, as are all its
  descendants; equal-but-empty containers on both sides compare as equal leaves;
- :func:`to_field_set` is the set an applier owns for its configuration: every leaf, list
  element and map entry (declared struct fields only lead to members);
- :func:`merge` lays an apply configuration over the live object (leaves from the
  configuration, maps merged, associative lists merged by key, atomic values replaced);
- :func:`remove_items` drops the member paths of a set from an object;
- :func:`ensure_named_fields` makes declared struct fields members, as pruning requires.

Invariants:
- Inputs are never modified. Results may share unchanged sub-values with the inputs.
- ``null`` values compare as absent (typed objects cannot hold them) and removed or
  emptied containers disappear from results.
- Walks raise :class:`ShapeError` (with the path) only for an apply configuration that does
  not fit its schema; live objects are walked leniently.
"""

from __future__ import annotations

from typing import Any

from k3trio.api.ssa.fieldset import FieldSet, is_member, key_element, value_element
from k3trio.api.ssa.fieldset import element_string
from k3trio.api.ssa.schema import (
    ATOMIC_LIST,
    DEDUCED,
    DEDUCED_MAP,
    LIST,
    MAP,
    SCALAR,
    SCALAR_NODE,
    UNTYPED,
    TypeNode,
    key_default,
)

__all__ = ["ShapeError", "compare", "ensure_named_fields", "merge", "remove_items", "to_field_set"]

_MISSING: Any = object()


class ShapeError(ValueError):
    """An apply configuration does not match its schema."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def _resolve(t: TypeNode, value: Any) -> TypeNode:
    if t.kind != UNTYPED:
        return t
    if t.atomic:
        return SCALAR_NODE
    if isinstance(value, dict):
        return DEDUCED_MAP
    if isinstance(value, list):
        return ATOMIC_LIST
    return SCALAR_NODE


def _go_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def item_element(t: TypeNode, item: Any, index: int, *, strict: bool = False, where: str = "") -> str | None:
    """The path element of a list item (None when it cannot be named)."""
    if t.keys:
        if not isinstance(item, dict):
            if strict:
                raise ShapeError(where, f"element {index}: associative list with keys may not have non-map elements")
            return None
        fields = {}
        for key in t.keys:
            value = item.get(key)
            if value is None:
                value = key_default(key)
                if value is None:
                    if strict:
                        raise ShapeError(
                            where,
                            f"element {index}: associative list with keys has an element that omits "
                            f"key field {key!r} (and doesn't have default value)".replace("'", '"'),
                        )
                    continue
            fields[key] = value
        if not fields:
            return None
        return key_element(fields)
    if isinstance(item, (dict, list)):
        if strict:
            raise ShapeError(where, f"element {index}: associative list without keys has an element that's a map type")
        return f"i:{index}"
    return value_element(item)


def _index(t: TypeNode, items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        pe = item_element(t, item, i)
        if pe is not None and pe not in out:
            out[pe] = item
    return out


# -- compare -----------------------------------------------------------------------------------


def compare(lhs: Any, rhs: Any, t: TypeNode) -> tuple[FieldSet, FieldSet]:
    """(changed, removed): paths added or modified by ``rhs``, and paths it removed."""
    changed: FieldSet = {}
    removed: FieldSet = {}
    _compare_children(lhs, rhs, t, changed, removed)
    return changed, removed


def _compare_children(l: Any, r: Any, t: TypeNode, changed: FieldSet, removed: FieldSet) -> None:
    """Compare two present non-leaf values of type ``t``, filling the child sets."""
    if t.kind == MAP:
        fields = t.fields
        elem = t.elem
        value_fields = t.value_fields
        for key, lv in l.items():
            if lv is None:
                continue
            ct = fields.get(key) or elem or DEDUCED
            rv = r.get(key)
            if rv is None:
                if key in value_fields and ct.kind in (MAP, LIST):
                    rv = [] if ct.kind == LIST else {}
                else:
                    node = _everything(lv, ct)
                    removed["f:" + key] = node
                    continue
            _compare_value(lv, rv, ct, "f:" + key, changed, removed)
        for key, rv in r.items():
            if rv is None or l.get(key) is not None:
                continue
            ct = fields.get(key) or elem or DEDUCED
            if key in value_fields and ct.kind in (MAP, LIST):
                _compare_value([] if ct.kind == LIST else {}, rv, ct, "f:" + key, changed, removed)
            else:
                changed["f:" + key] = _everything(rv, ct)
        return
    # associative list
    elem = t.elem or DEDUCED
    lidx = _index(t, l)
    ridx = _index(t, r)
    for pe, lv in lidx.items():
        rv = ridx.get(pe, _MISSING)
        if rv is _MISSING:
            removed[pe] = _everything(lv, elem)
        else:
            _compare_value(lv, rv, elem, pe, changed, removed)
    for pe, rv in ridx.items():
        if pe not in lidx:
            changed[pe] = _everything(rv, elem)


def _compare_value(lv: Any, rv: Any, t: TypeNode, pe: str, changed: FieldSet, removed: FieldSet) -> None:
    rt = _resolve(t, rv)
    kind = rt.kind
    if not rt.atomic and kind != SCALAR and _resolve(t, lv) is rt:
        if kind == MAP and isinstance(lv, dict) and isinstance(rv, dict):
            if not lv and not rv:
                return
            sub_changed: FieldSet = {}
            sub_removed: FieldSet = {}
            _compare_children(lv, rv, rt, sub_changed, sub_removed)
            if sub_changed:
                changed[pe] = sub_changed
            if sub_removed:
                removed[pe] = sub_removed
            return
        if kind == LIST and isinstance(lv, list) and isinstance(rv, list):
            if not lv and not rv:
                return
            sub_changed = {}
            sub_removed = {}
            _compare_children(lv, rv, rt, sub_changed, sub_removed)
            if sub_changed:
                changed[pe] = sub_changed
            if sub_removed:
                removed[pe] = sub_removed
            return
    if lv != rv or type(lv) is bool and type(rv) is not bool or type(rv) is bool and type(lv) is not bool:
        changed[pe] = {}


def _everything(value: Any, t: TypeNode) -> FieldSet:
    """The node of a value that appeared or disappeared whole: it and all it holds."""
    t = _resolve(t, value)
    if t.atomic or t.kind == SCALAR:
        return {}
    if t.kind == MAP and isinstance(value, dict) and value:
        out: FieldSet = {}
        for key, cv in value.items():
            if cv is not None:
                out["f:" + key] = _everything(cv, t.child(key))
        if out:
            out["."] = {}
        return out
    if t.kind == LIST and isinstance(value, list) and value:
        elem = t.elem or DEDUCED
        out = {}
        for i, item in enumerate(value):
            pe = item_element(t, item, i)
            if pe is not None and pe not in out:
                out[pe] = _everything(item, elem)
        if out:
            out["."] = {}
        return out
    return {}


# -- field sets --------------------------------------------------------------------------------


def to_field_set(value: Any, t: TypeNode, *, strict: bool = False) -> FieldSet:
    """The set of leaves, list elements and map entries of ``value`` (its root excluded)."""
    children, _ = _field_set(value, t, strict, "")
    return children


def _field_set(value: Any, t: TypeNode, strict: bool, where: str) -> tuple[FieldSet, bool]:
    t = _resolve(t, value)
    if t.atomic or t.kind == SCALAR:
        return {}, True
    if value is None:
        return {}, False
    if t.kind == MAP:
        if not isinstance(value, dict):
            if strict:
                raise ShapeError(where, f"expected map, got {_go_kind(value)}")
            return {}, True
        fields = t.fields
        out: FieldSet = {}
        for key, cv in value.items():
            ct = fields.get(key)
            declared = ct is not None
            if ct is None:
                ct = t.elem or DEDUCED
            children, member = _field_set(cv, ct, strict, f"{where}.{key}" if strict else "")
            member = member or not declared
            if children:
                if member:
                    children["."] = {}
                out["f:" + key] = children
            elif member:
                out["f:" + key] = {}
        return out, False
    if not isinstance(value, list):
        if strict:
            raise ShapeError(where, f"expected list, got {_go_kind(value)}")
        return {}, True
    elem = t.elem or DEDUCED
    out = {}
    for i, item in enumerate(value):
        pe = item_element(t, item, i, strict=strict, where=where)
        if pe is None:
            continue
        if pe in out:
            if strict:
                raise ShapeError(where, f"duplicate entries for key {element_string(pe)}")
            continue
        children, _ = _field_set(item, elem, strict, f"{where}{_elem_where(pe)}" if strict else "")
        if children:
            children["."] = {}
            out[pe] = children
        else:
            out[pe] = {}
    return out, False


def _elem_where(pe: str) -> str:
    return element_string(pe)


def ensure_named_fields(s: FieldSet, t: TypeNode) -> FieldSet:
    """``s`` with every declared struct field on its paths made a member."""
    out: FieldSet = {}
    fields = t.fields if t.kind == MAP else {}
    for pe, node in s.items():
        if pe == ".":
            out[pe] = node
            continue
        if pe.startswith("f:"):
            name = pe[2:]
            ct = fields.get(name)
            named = ct is not None
            if ct is None:
                ct = (t.elem if t.kind == MAP else None) or DEDUCED
        else:
            named = False
            ct = (t.elem if t.kind == LIST else None) or DEDUCED
        if node:
            children = ensure_named_fields(node, ct)
            if named and "." not in children:
                children["."] = {}
            out[pe] = children
        else:
            out[pe] = node
    return out


# -- merge -------------------------------------------------------------------------------------


def merge(live: Any, config: Any, t: TypeNode) -> Any:
    """``config`` laid over ``live`` (both present values of type ``t``)."""
    if config is None:
        if isinstance(live, (dict, list)) and live and not _resolve(t, live).atomic:
            return live
        return None
    if live is None:
        return config
    rt = _resolve(t, config)
    if rt.atomic or rt.kind == SCALAR or _resolve(t, live) is not rt:
        return config
    if rt.kind == MAP and isinstance(live, dict) and isinstance(config, dict):
        if not live:
            return config
        if not config:
            return live
        out = {}
        for key, lv in live.items():
            if key in config:
                out[key] = merge(lv, config[key], rt.child(key))
            else:
                out[key] = lv
        for key, cv in config.items():
            if key not in live:
                out[key] = cv
        return out
    if rt.kind == LIST and isinstance(live, list) and isinstance(config, list):
        if not live:
            return config
        if not config:
            return live
        return _merge_list(live, config, rt)
    return config


def _merge_list(live: list[Any], config: list[Any], t: TypeNode) -> list[Any]:
    elem = t.elem or DEDUCED
    lidx = _index(t, live)
    ridx = _index(t, config)
    lorder = list(lidx)
    rorder = list(ridx)
    shared = [pe for pe in rorder if pe in lidx]
    shared_at = 0
    next_shared = shared[0] if shared else None
    out: list[Any] = []
    li = ri = 0
    ln, rn = len(lorder), len(rorder)

    def advance() -> str | None:
        nonlocal shared_at
        shared_at += 1
        return shared[shared_at] if shared_at < len(shared) else None

    while li < ln or ri < rn:
        progressed = False
        if li < ln and ri < rn:
            pe = lorder[li]
            if pe == rorder[ri]:
                out.append(merge(lidx[pe], ridx[pe], elem))
                li += 1
                ri += 1
                next_shared = advance()
                continue
            if pe in ridx and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < ln:
            pe = lorder[li]
            if pe not in ridx:
                out.append(lidx[pe])
                li += 1
                continue
        if ri < rn:
            pe = rorder[ri]
            lv = lidx.get(pe)
            out.append(merge(lv, ridx[pe], elem) if lv is not None else ridx[pe])
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = advance()
            progressed = True
        if not progressed:
            li += 1  # a shared item already taken from the configuration
    return out


# -- removal -----------------------------------------------------------------------------------


def remove_items(value: Any, s: FieldSet, t: TypeNode) -> Any:
    """``value`` without the member paths of ``s`` (emptied containers become None)."""
    if not s:
        return value
    t = _resolve(t, value)
    if t.kind == MAP and isinstance(value, dict) and not t.atomic:
        if not value:
            return None
        out = {}
        for key, cv in value.items():
            node = s.get("f:" + key)
            if node is None:
                out[key] = cv
                continue
            if is_member(node):
                continue
            rest = remove_items(cv, node, t.child(key))
            if rest is not None:
                out[key] = rest
        return out or None
    if t.kind == LIST and isinstance(value, list) and not t.atomic:
        if not value:
            return None
        elem = t.elem or DEDUCED
        items = []
        for i, item in enumerate(value):
            pe = item_element(t, item, i)
            node = s.get(pe) if pe is not None else None
            if node is None:
                items.append(item)
                continue
            if is_member(node):
                continue
            rest = remove_items(item, node, elem)
            if rest is not None:
                items.append(rest)
        return items or None
    if t.atomic or t.kind != SCALAR:
        return None
    return value
