"""Structural type information for server-side apply, compiled from OpenAPI schemas.

structured-merge-diff needs, at every position of an object, one of four shapes:

- **scalar**: a leaf;
- **map**: a struct (declared fields) and/or a map (``additionalProperties``), granular
  unless ``x-kubernetes-map-type: atomic``;
- **list**: ``atomic`` (a leaf), ``set`` (scalars, path elements ``v:<json>``) or ``map``
  (associative, keyed by ``x-kubernetes-list-map-keys``, path elements ``k:{...}``);
- **untyped**: deduced from the value (objects are granular maps, lists atomic), or atomic
  whatever the value (definitions without a type, such as ``apiextensions.v1.JSON``).

Built-in kinds are compiled lazily from the v1.36 swagger definitions; a list without
``x-kubernetes-list-type`` follows its patch strategy as kube-openapi's converter does
(``merge`` with a merge key: associative; ``merge`` without: set; otherwise atomic).
Custom resources are compiled from their CRD ``openAPIV3Schema`` with ``metadata`` taken
from the built-in ``ObjectMeta``; lists without a list type are atomic there.

Invariants:
- Nodes are immutable once built and shared between calls (the built-in cache is global).
- ``value_fields`` of a built-in struct names the fields Go always serialises (non-pointer
  structs and fields without ``omitempty``): a missing one is compared as an empty value,
  so the managed-fields sets match those kube-apiserver computes on typed objects.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from k3trio.api.openapi_data import definition_for_kind, openapi_v2_document

__all__ = ["ATOMIC", "DEDUCED", "LIST", "MAP", "SCALAR", "UNTYPED", "TypeNode", "builtin_root", "crd_root"]

SCALAR, MAP, LIST, UNTYPED = 0, 1, 2, 3

_REF = "#/definitions/"
_REF_V3 = "#/components/schemas/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# Struct-typed fields that built-in Go types hold by value (not through a pointer), so a
# typed object always carries them, at least as ``{}``. Required fields are added per type.
_VALUE_STRUCT_NAMES = frozenset(
    {
        "metadata",
        "spec",
        "status",
        "template",
        "jobTemplate",
        "strategy",
        "updateStrategy",
        "resources",
        "roleRef",
        "involvedObject",
        "source",
        "loadBalancer",
        "daemonEndpoints",
        "kubeletEndpoint",
        "nodeInfo",
    }
)

# Key fields that upstream defaults when an associative-list element omits them.
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


class TypeNode:
    """One position of the type tree. ``fields`` is resolved lazily (schemas are recursive)."""

    __slots__ = ("kind", "atomic", "keys", "elem", "value_fields", "_fields", "_build")

    def __init__(
        self,
        kind: int,
        *,
        atomic: bool = False,
        keys: tuple[str, ...] = (),
        elem: TypeNode | None = None,
        build: Any = None,
        value_fields: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self.atomic = atomic
        self.keys = keys
        self.elem = elem
        self.value_fields = value_fields
        self._fields: dict[str, TypeNode] | None = None if build is not None else {}
        self._build = build

    @property
    def fields(self) -> dict[str, TypeNode]:
        """Declared fields of a struct (empty for plain maps, lists and scalars)."""
        fields = self._fields
        if fields is None:
            fields = self._fields = self._build()
            self._build = None
        return fields

    def child(self, name: str) -> TypeNode:
        """The type of map entry / struct field ``name`` (undeclared: the element type)."""
        found = self.fields.get(name)
        if found is not None:
            return found
        return self.elem if self.elem is not None else DEDUCED

    def __repr__(self) -> str:
        names = {SCALAR: "scalar", MAP: "map", LIST: "list", UNTYPED: "untyped"}
        return f"TypeNode({names[self.kind]}, atomic={self.atomic}, keys={self.keys})"


SCALAR_NODE = TypeNode(SCALAR)
#: Untyped, deduced from the value: objects are granular maps, lists atomic.
DEDUCED = TypeNode(UNTYPED)
#: Untyped and atomic whatever the value.
ATOMIC = TypeNode(UNTYPED, atomic=True)
DEDUCED_MAP = TypeNode(MAP, elem=DEDUCED)
ATOMIC_LIST = TypeNode(LIST, atomic=True, elem=DEDUCED)


def _list_node(schema: Mapping[str, Any], elem: TypeNode, *, builtin: bool) -> TypeNode:
    list_type = schema.get("x-kubernetes-list-type")
    keys: tuple[str, ...] = tuple(schema.get("x-kubernetes-list-map-keys") or ())
    if list_type is None and builtin:
        strategy = schema.get("x-kubernetes-patch-strategy", "")
        if "merge" in strategy.split(","):
            merge_key = schema.get("x-kubernetes-patch-merge-key")
            if merge_key:
                return TypeNode(LIST, keys=keys or (merge_key,), elem=elem)
            return TypeNode(LIST, elem=elem)
        return TypeNode(LIST, atomic=True, elem=elem)
    if list_type == "map" and keys:
        return TypeNode(LIST, keys=keys, elem=elem)
    if list_type == "set":
        return TypeNode(LIST, elem=elem)
    return TypeNode(LIST, atomic=True, elem=elem)


# -- built-in definitions ----------------------------------------------------------------------


def _definitions() -> dict[str, Any]:
    defs: dict[str, Any] = openapi_v2_document()["definitions"]
    return defs


@functools.cache
def _builtin_definition(name: str) -> TypeNode:
    schema = _definitions().get(name)
    if schema is None:
        return DEDUCED
    return _builtin_schema(schema, name)


def _builtin_schema(schema: Mapping[str, Any], name: str = "") -> TypeNode:
    ref = schema.get("$ref")
    if ref is None and "allOf" in schema and len(schema["allOf"]) == 1:
        ref = schema["allOf"][0].get("$ref")
    if ref is not None:
        return _builtin_definition(ref[len(_REF) :] if ref.startswith(_REF) else ref)
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or {}
        return _list_node(schema, _builtin_schema(items), builtin=True)
    if kind == "object" or "properties" in schema:
        atomic = schema.get("x-kubernetes-map-type") == "atomic"
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        elem: TypeNode | None = None
        if isinstance(extra, Mapping):
            elem = _builtin_schema(extra)
        elif not props:
            elem = DEDUCED
        if not props:
            return TypeNode(MAP, atomic=atomic, elem=elem)
        required = frozenset(schema.get("required") or ())
        value_fields = required | frozenset(
            f for f in props if f in _VALUE_STRUCT_NAMES
        )

        def build(props: Mapping[str, Any] = props) -> dict[str, TypeNode]:
            return {field: _builtin_schema(sub) for field, sub in props.items()}

        return TypeNode(MAP, atomic=atomic, elem=elem, build=build, value_fields=value_fields)
    if kind is None:
        return ATOMIC
    return SCALAR_NODE


def builtin_root(group: str, version: str, kind: str) -> TypeNode | None:
    """The type of a built-in kind, or None when the kind has no OpenAPI definition."""
    definition = definition_for_kind(group, version, kind)
    if definition is None:
        return None
    return _builtin_definition(definition)


# -- custom resources --------------------------------------------------------------------------


def _crd_schema(schema: Mapping[str, Any], *, embedded: bool = False) -> TypeNode:
    if schema.get("x-kubernetes-int-or-string"):
        return SCALAR_NODE
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return _builtin_definition(name)
    kind = schema.get("type")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    if kind == "array":
        items = schema.get("items") or {}
        item_type = _crd_schema(items) if isinstance(items, Mapping) else DEDUCED
        return _list_node(schema, item_type, builtin=False)
    if kind == "object" or "properties" in schema or schema.get("x-kubernetes-embedded-resource"):
        atomic = schema.get("x-kubernetes-map-type") == "atomic"
        props = dict(schema.get("properties") or {})
        extra = schema.get("additionalProperties")
        elem: TypeNode | None = None
        if isinstance(extra, Mapping):
            elem = _crd_schema(extra)
        elif preserve or extra is True or not props:
            elem = DEDUCED
        is_embedded = embedded or bool(schema.get("x-kubernetes-embedded-resource"))
        if not props and not is_embedded:
            return TypeNode(MAP, atomic=atomic, elem=elem)

        def build(props: Mapping[str, Any] = props, is_embedded: bool = is_embedded) -> dict[str, TypeNode]:
            fields = {field: _crd_schema(sub) for field, sub in props.items() if isinstance(sub, Mapping)}
            if is_embedded:
                fields["apiVersion"] = SCALAR_NODE
                fields["kind"] = SCALAR_NODE
                fields["metadata"] = _builtin_definition(_OBJECT_META)
            return fields

        return TypeNode(MAP, atomic=atomic, elem=elem, build=build)
    if kind is None:
        if preserve:
            return DEDUCED
        return ATOMIC if not schema else DEDUCED
    return SCALAR_NODE


def crd_root(schema: Mapping[str, Any] | None) -> TypeNode:
    """The type of a custom resource from its ``openAPIV3Schema`` (None: fully deduced)."""
    if schema is None:
        return DEDUCED_MAP
    return _crd_schema(schema, embedded=True)


def key_default(field: str) -> Any:
    """The value upstream assumes for an omitted associative-list key, or None."""
    return _KEY_DEFAULTS.get(field)
