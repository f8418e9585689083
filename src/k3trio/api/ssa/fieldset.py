"""Field sets in their ``FieldsV1`` form, and the set algebra server-side apply needs.

A set is a trie of path elements written exactly as ``fieldsV1`` stores it::

    {"f:spec": {"f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\\"name\\":\\"nginx\\"}": {".": {}, "f:image": {}}}}}}}

A child node is a *member* of the set when it is empty or holds the ``"."`` marker; other
children only lead to members further down. Path elements are ``f:<field>``,
``k:<json object of the key fields>`` (associative lists), ``v:<json value>`` (sets) and
``i:<index>``.

Invariants:
- Operations never modify their arguments; ``difference`` returns its first argument
  itself (the same object) when nothing is taken away, so callers can tell untouched sets
  apart cheaply and pass them through without re-encoding.
- Nodes that are neither members nor lead to members are never produced.
- ``to_json`` orders keys as structured-merge-diff serialises them: ``"."`` first, then
  field names, keys, values and indexes, each in their natural order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = [
    "FieldSet",
    "canonical",
    "difference",
    "intersection",
    "is_member",
    "iterate_paths",
    "key_element",
    "path_string",
    "recursive_difference",
    "to_json",
    "union",
    "value_element",
]

#: A set (or a node of one): path element -> child node.
FieldSet = dict[str, Any]

_MEMBER = "."


def is_member(node: FieldSet) -> bool:
    return not node or _MEMBER in node


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def key_element(fields: dict[str, Any]) -> str:
    """``k:{...}`` for an associative-list element with these key values."""
    return "k:" + _compact({name: fields[name] for name in sorted(fields)})


def value_element(value: Any) -> str:
    """``v:<json>`` for an element of a set-type list."""
    return "v:" + _compact(value)


def _node(member: bool, children: FieldSet) -> FieldSet | None:
    if children:
        if member:
            children[_MEMBER] = {}
        return children
    return {} if member else None


# -- algebra -----------------------------------------------------------------------------------


def union(a: FieldSet, b: FieldSet) -> FieldSet:
    """Every path in ``a`` or ``b`` (at the root: a set, not a node)."""
    if not b:
        return a
    if not a:
        return b
    out = dict(a)
    for pe, bn in b.items():
        an = out.get(pe)
        if an is None:
            out[pe] = bn
        elif pe != _MEMBER and an is not bn:
            out[pe] = _union_node(an, bn)
    return out


def _union_node(a: FieldSet, b: FieldSet) -> FieldSet:
    if not a:
        if not b:
            return a
        return b if _MEMBER in b else {**b, _MEMBER: {}}
    if not b:
        return a if _MEMBER in a else {**a, _MEMBER: {}}
    return union(a, b)


def difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """Paths of ``a`` not in ``b``; returns ``a`` itself when nothing is removed."""
    if not a or not b:
        return a
    out: FieldSet | None = None
    for pe, bn in b.items():
        if pe == _MEMBER:
            continue
        an = a.get(pe)
        if an is None:
            continue
        rest = _difference_node(an, bn)
        if rest is an:
            continue
        if out is None:
            out = dict(a)
        if rest is None:
            del out[pe]
        else:
            out[pe] = rest
    return a if out is None else out


def _difference_node(a: FieldSet, b: FieldSet) -> FieldSet | None:
    a_member = is_member(a)
    b_member = is_member(b)
    if not a:  # a leaf member
        return None if b_member else a
    children = difference(a, b) if b else a
    member = a_member and not b_member
    if children is a and member == a_member:
        return a
    rest = {pe: n for pe, n in children.items() if pe != _MEMBER}
    return _node(member, rest)


def intersection(a: FieldSet, b: FieldSet) -> FieldSet:
    """Paths in both ``a`` and ``b``."""
    out: FieldSet = {}
    if not a or not b:
        return out
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    for pe, sn in small.items():
        if pe == _MEMBER:
            continue
        ln = large.get(pe)
        if ln is None:
            continue
        children = intersection(sn, ln)
        node = _node(is_member(sn) and is_member(ln), children)
        if node is not None:
            out[pe] = node
    return out


def recursive_difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """Paths of ``a`` that are neither in ``b`` nor below a member of ``b``."""
    if not a or not b:
        return a
    out: FieldSet | None = None
    for pe, bn in b.items():
        if pe == _MEMBER:
            continue
        an = a.get(pe)
        if an is None:
            continue
        if is_member(bn):
            rest = None
        else:
            children = recursive_difference(an, bn)
            if children is an:
                continue
            rest = _node(is_member(an), {k: v for k, v in children.items() if k != _MEMBER})
        if out is None:
            out = dict(a)
        if rest is None:
            del out[pe]
        else:
            out[pe] = rest
    return a if out is None else out


def is_empty(s: FieldSet) -> bool:
    return not s


# -- ordering and serialisation ----------------------------------------------------------------


def _value_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, _compact(value))
    if isinstance(value, dict):
        return (4, _compact(value))
    return (5, "")


_SORT_CACHE: dict[str, tuple[Any, ...]] = {}


def _sort_key(pe: str) -> tuple[Any, ...]:
    found = _SORT_CACHE.get(pe)
    if found is not None:
        return found
    tag = pe[:2]
    key: tuple[Any, ...]
    try:
        if tag == "f:":
            key = (1, pe[2:])
        elif tag == "k:":
            fields = json.loads(pe[2:])
            key = (2, tuple((name, _value_key(fields[name])) for name in sorted(fields)))
        elif tag == "v:":
            key = (3, _value_key(json.loads(pe[2:])))
        elif tag == "i:":
            key = (4, int(pe[2:]))
        elif pe == _MEMBER:
            key = (0,)
        else:
            key = (5, pe)
    except (ValueError, TypeError):
        key = (5, pe)
    if len(_SORT_CACHE) < 100_000:
        _SORT_CACHE[pe] = key
    return key


def to_json(s: FieldSet) -> FieldSet:
    """A copy of ``s`` with keys in the order upstream serialises them."""
    if not s:
        return {}
    if len(s) == 1:
        ((pe, node),) = s.items()
        return {pe: to_json(node)}
    return {pe: to_json(s[pe]) for pe in sorted(s, key=_sort_key)}


def canonical(raw: Any) -> FieldSet:
    """A client-supplied ``fieldsV1`` value as a set with canonical path elements.

    Raises:
        ValueError: when it is not a JSON object of path elements.
    """
    if not isinstance(raw, dict):
        raise ValueError("fieldsV1 must be a JSON object")
    out: FieldSet = {}
    member = False
    for pe, node in raw.items():
        if pe == _MEMBER:
            member = True
            continue
        if not isinstance(pe, str) or len(pe) < 2 or pe[1] != ":":
            raise ValueError(f"unknown path element {pe!r}")
        tag = pe[0]
        if tag == "k":
            fields = json.loads(pe[2:])
            if not isinstance(fields, dict):
                raise ValueError(f"invalid key element {pe!r}")
            pe = key_element(fields)
        elif tag == "v":
            pe = value_element(json.loads(pe[2:]))
        elif tag == "i":
            pe = f"i:{int(pe[2:])}"
        elif tag != "f":
            continue  # unknown element types are dropped, as upstream does
        child = canonical(node)
        out[pe] = _union_node(out[pe], child) if pe in out else child
    if member and out:
        out[_MEMBER] = {}
    return out


# -- paths -------------------------------------------------------------------------------------


def iterate_paths(s: FieldSet, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Member paths in upstream's iteration order (members of a level, then children)."""
    ordered = sorted((pe for pe in s if pe != _MEMBER), key=_sort_key)
    for pe in ordered:
        if is_member(s[pe]):
            yield (*prefix, pe)
    for pe in ordered:
        node = s[pe]
        if node:
            yield from iterate_paths(node, (*prefix, pe))


def _go_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return _compact(value)


def element_string(pe: str) -> str:
    """A path element as ``fieldpath.PathElement.String()`` prints it."""
    tag, body = pe[:2], pe[2:]
    if tag == "f:":
        return "." + body
    if tag == "k:":
        fields = json.loads(body)
        return "[" + ",".join(f"{name}={_go_value(fields[name])}" for name in sorted(fields)) + "]"
    if tag == "v:":
        return f"[={_go_value(json.loads(body))}]"
    if tag == "i:":
        return f"[{body}]"
    return "{{invalid path element}}"


def path_string(path: tuple[str, ...]) -> str:
    """``.spec.template.spec.containers[name="nginx"].image``."""
    return "".join(element_string(pe) for pe in path)
