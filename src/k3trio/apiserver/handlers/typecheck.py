"""JSON types of built-in objects, as decoding into kube-apiserver's Go structs checks them.

kube-apiserver decodes every create/update body, and the result of every patch, into the
typed Go object, so a value of the wrong JSON type (``spec.replicas: "x"``) never reaches
storage. This module gives the same verdict, with the same error text, from the shipped
OpenAPI definitions (:mod:`k3trio.api.openapi_data`):

- :func:`json_decode_error` - the ``encoding/json`` (``sigs.k8s.io/json``) decoder used for
  create/update bodies and JSON/merge patch results:
  ``json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32``
  (``Struct`` is the innermost Go struct holding the field; the field path is the JSON field
  path without list indices or map keys, as upstream's error context keeps it). The first
  such error is reported, unless a custom unmarshaller (Quantity, IntOrString, Time) fails
  later: that error ends decoding and wins, as upstream.
- :func:`unstructured_error` - the unstructured converter that turns a strategic-merge-patch
  result into the typed object (``unrecognized type: int32``, ``cannot convert float64 to
  int32``, ``cannot restore struct from: string``). It also normalises what that conversion
  changes: whole floats become integers and int32 values wrap, as the Go conversion stores them.

``null`` is accepted everywhere (Go leaves the zero value). Unknown fields are ignored here
(``fieldValidation`` reports them). Go type names come from the definition names
(``io.k8s.api.apps.v1.DeploymentSpec`` -> ``v1.DeploymentSpec``); named scalar types
(``v1.Protocol``) are reported by their underlying type.

Pure and fast: one compiled checker per definition, built on first use and cached.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ...api.quantity import QuantityError, quantity_from_json

__all__ = [
    "json_decode_error",
    "unstructured_error",
    "go_json",
    "go_sprint",
    "patched_json_text",
]

# Node tags.
_ANY, _STRUCT, _MAP, _SLICE, _INT, _FLOAT, _BOOL, _STRING, _BYTES, _QUANTITY, _INTSTR, _TIME = range(12)

_INT_LIMITS = {32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}

_SPECIAL = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": (_QUANTITY, "resource.Quantity"),
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": (_INTSTR, "intstr.IntOrString"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": (_TIME, "v1.Time"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": (_TIME, "v1.MicroTime"),
    "io.k8s.apimachinery.pkg.runtime.RawExtension": (_ANY, "runtime.RawExtension"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": (_ANY, "v1.FieldsV1"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": (_ANY, "v1.Patch"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": (_ANY, "v1.JSON"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": (_ANY, "v1.JSONSchemaPropsOrArray"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": (_ANY, "v1.JSONSchemaPropsOrBool"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray": (_ANY, "v1.JSONSchemaPropsOrStringArray"),
}


class _Node:
    """A compiled Go type: ``tag``; ``go_type`` is reflect's ``Type.String()``; ``name`` the
    struct's ``Type.Name()``; ``fields`` (struct) or ``elem`` (map/slice); ``bits`` (ints)."""

    __slots__ = ("tag", "go_type", "name", "fields", "elem", "bits")

    def __init__(self, tag: int, go_type: str, *, name: str = "", elem: _Node | None = None, bits: int = 0) -> None:
        self.tag = tag
        self.go_type = go_type
        self.name = name
        self.fields: dict[str, _Node] = {}
        self.elem = elem
        self.bits = bits


_ANY_NODE = _Node(_ANY, "interface {}")
_NODES: dict[str, _Node] = {}


@functools.cache
def _definitions() -> Mapping[str, Any]:
    from ...api import openapi_data

    defs: Mapping[str, Any] = openapi_data._swagger()["definitions"]
    return defs


def _definition(name: str) -> _Node:
    node = _NODES.get(name)
    if node is not None:
        return node
    special = _SPECIAL.get(name)
    if special is not None:
        node = _Node(special[0], special[1])
        _NODES[name] = node
        return node
    schema = _definitions().get(name)
    if schema is None:
        _NODES[name] = _ANY_NODE
        return _ANY_NODE
    if "properties" in schema or schema.get("type") == "object" and "additionalProperties" not in schema:
        parts = name.rsplit(".", 2)
        short = parts[-1]
        node = _Node(_STRUCT, f"{parts[-2]}.{short}" if len(parts) == 3 else short, name=short)
        _NODES[name] = node  # registered before its fields: definitions may refer to themselves
        node.fields = {key: _compile(prop) for key, prop in (schema.get("properties") or {}).items()}
        return node
    node = _compile(schema)
    _NODES[name] = node
    return node


def _compile(schema: Mapping[str, Any]) -> _Node:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _definition(ref.rsplit("/", 1)[-1])
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "byte":
            return _Node(_BYTES, "[]uint8")
        if fmt == "int-or-string" or schema.get("x-kubernetes-int-or-string"):
            return _Node(_INTSTR, "intstr.IntOrString")
        return _Node(_STRING, "string")
    if kind == "integer":
        bits = 32 if fmt == "int32" else 64
        return _Node(_INT, f"int{bits}", bits=bits)
    if kind == "number":
        return _Node(_FLOAT, "float64")
    if kind == "boolean":
        return _Node(_BOOL, "bool")
    if kind == "array":
        items = schema.get("items")
        elem = _compile(items) if isinstance(items, Mapping) else _ANY_NODE
        return _Node(_SLICE, "[]" + elem.go_type, elem=elem)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            elem = _compile(extra)
            return _Node(_MAP, "map[string]" + elem.go_type, elem=elem)
    return _ANY_NODE


@functools.lru_cache(maxsize=1024)
def _root(group: str, version: str, kind: str) -> _Node | None:
    from ...api import openapi_data

    name = openapi_data.definition_for_kind(group, version, kind)
    if name is None:
        return None
    node = _definition(name)
    return node if node.tag == _STRUCT else None


# -- encoding/json decoding -------------------------------------------------------------------


class _Fatal(Exception):
    """A custom unmarshaller failed: decoding stops with this message."""


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "number"


def _number_text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class _Decoder:
    """One decode: the first type error (``saved``) and the field context."""

    __slots__ = ("saved", "stack")

    def __init__(self) -> None:
        self.saved: str | None = None
        self.stack: list[str] = []

    def save(self, value: str, go_type: str, struct: str) -> None:
        if self.saved is None:
            self.saved = (
                f"json: cannot unmarshal {value} into Go struct field {struct}.{'.'.join(self.stack)} of type {go_type}"
            )

    def walk(self, node: _Node, value: Any, struct: str) -> None:
        if value is None:
            return
        tag = node.tag
        if tag == _STRUCT:
            if type(value) is not dict:
                self.save(_json_kind(value), node.go_type, struct)
                return
            fields = node.fields
            stack = self.stack
            name = node.name
            for key, child in value.items():
                sub = fields.get(key)
                if sub is None or child is None or sub.tag == _ANY:
                    continue
                stack.append(key)
                self.walk(sub, child, name)
                stack.pop()
        elif tag == _STRING:
            if type(value) is not str:
                self.save(_json_kind(value), "string", struct)
        elif tag == _INT:
            if type(value) is int:
                low, high = _INT_LIMITS[node.bits]
                if not low <= value <= high:
                    self.save(f"number {value}", node.go_type, struct)
            elif type(value) is float:
                self.save(f"number {_number_text(value)}", node.go_type, struct)
            else:
                self.save(_json_kind(value), node.go_type, struct)
        elif tag == _BOOL:
            if type(value) is not bool:
                self.save(_json_kind(value), "bool", struct)
        elif tag == _SLICE:
            if type(value) is not list:
                self.save(_json_kind(value), node.go_type, struct)
                return
            elem = node.elem
            assert elem is not None
            if elem.tag != _ANY:
                for item in value:
                    self.walk(elem, item, struct)
        elif tag == _MAP:
            if type(value) is not dict:
                self.save(_json_kind(value), node.go_type, struct)
                return
            elem = node.elem
            assert elem is not None
            if elem.tag != _ANY:
                for item in value.values():
                    self.walk(elem, item, struct)
        elif tag == _FLOAT:
            if type(value) not in (int, float):
                self.save(_json_kind(value), "float64", struct)
        elif tag == _QUANTITY:
            try:
                quantity_from_json(value)
            except QuantityError as exc:
                raise _Fatal(str(exc)) from None
        elif tag == _INTSTR:
            _int_or_string(value)
        elif tag == _TIME:
            if type(value) is not str:
                raise _Fatal(f"json: cannot unmarshal {_json_kind(value)} into Go value of type string")
        elif tag == _BYTES:
            if type(value) is not str:
                self.save(_json_kind(value), "[]uint8", struct)


def _int_or_string(value: Any) -> None:
    """``IntOrString.UnmarshalJSON``: a string, or a JSON number that fits an int32."""
    if type(value) is str:
        return
    if type(value) is int:
        if -(2**31) <= value < 2**31:
            return
        raise _Fatal(f"json: cannot unmarshal number {value} into Go value of type int32")
    if type(value) is float:
        raise _Fatal(f"json: cannot unmarshal number {_number_text(value)} into Go value of type int32")
    raise _Fatal(f"json: cannot unmarshal {_json_kind(value)} into Go value of type int32")


def json_decode_error(group: str, version: str, kind: str, obj: Any) -> str | None:
    """The error decoding ``obj`` (a JSON object) into the built-in kind's Go struct, or None.

    Unknown kinds (custom resources, kinds without a definition) are not checked.
    """
    root = _root(group, version, kind)
    if root is None or not isinstance(obj, dict):
        return None
    decoder = _Decoder()
    try:
        decoder.walk(root, obj, root.name)
    except _Fatal as exc:
        return str(exc)
    return decoder.saved


# -- unstructured conversion (strategic merge patch) ------------------------------------------


def _go_kind(value: Any) -> str:
    """reflect's ``Kind`` of an unstructured value."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, list):
        return "slice"
    return "map"


class _Converted(Exception):
    """The unstructured conversion failed with this message."""


def _convert(node: _Node, holder: Any, key: Any, value: Any) -> None:
    """Convert ``value`` (``holder[key]``) as ``fromUnstructured`` does; fix values in place."""
    if value is None:
        return
    tag = node.tag
    if tag == _STRUCT:
        if type(value) is not dict:
            raise _Converted(f"cannot restore struct from: {_go_kind(value)}")
        fields = node.fields
        for name, child in value.items():
            sub = fields.get(name)
            if sub is not None and child is not None and sub.tag != _ANY:
                _convert(sub, value, name, child)
    elif tag == _SLICE:
        if type(value) is not list:
            raise _Converted(f"cannot restore slice from {_go_kind(value)}")
        elem = node.elem
        assert elem is not None
        if elem.tag != _ANY:
            for i, item in enumerate(value):
                _convert(elem, value, i, item)
    elif tag == _MAP:
        if type(value) is not dict:
            raise _Converted(f"cannot restore map from {_go_kind(value)}")
        elem = node.elem
        assert elem is not None
        if elem.tag != _ANY:
            for name, item in list(value.items()):
                _convert(elem, value, name, item)
    elif tag == _BYTES:
        if type(value) is list:
            return
        if type(value) is not str:
            raise _Converted(f"cannot restore slice from {_go_kind(value)}")
    elif tag in (_QUANTITY, _INTSTR, _TIME):
        # Marshalled to JSON, then unmarshalled by the type itself.
        if type(value) is float and value.is_integer() and abs(value) < 1e21:
            value = int(value)
            holder[key] = value
        try:
            if tag == _QUANTITY:
                quantity_from_json(value)
            elif tag == _INTSTR:
                _int_or_string(value)
            elif type(value) is not str:
                raise _Fatal(f"json: cannot unmarshal {_json_kind(value)} into Go value of type string")
        except QuantityError as exc:
            raise _Converted(str(exc)) from None
        except _Fatal as exc:
            raise _Converted(str(exc)) from None
    else:
        _convert_scalar(node, holder, key, value)


def _convert_scalar(node: _Node, holder: Any, key: Any, value: Any) -> None:
    tag = node.tag
    kind = type(value)
    if tag == _STRING:
        if kind is str:
            return
        if kind is int:
            raise _Converted(f"cannot convert int64 to {node.go_type}")
        raise _Converted("unrecognized type: string")
    if tag == _BOOL:
        if kind is not bool:
            raise _Converted("unrecognized type: bool")
        return
    if tag == _INT:
        if kind is int:
            if node.bits == 32 and not -(2**31) <= value < 2**31:
                holder[key] = (value + 2**31) % 2**32 - 2**31  # Go's conversion wraps
            return
        if kind is float:
            if value.is_integer():
                holder[key] = int(value)
                return
            raise _Converted(f"cannot convert float64 to {node.go_type}")
        raise _Converted(f"unrecognized type: {node.go_type}")
    if tag == _FLOAT:
        if kind not in (int, float):
            raise _Converted("unrecognized type: float64")


def unstructured_error(group: str, version: str, kind: str, obj: Any) -> str | None:
    """The error converting ``obj`` into the kind's Go struct by the unstructured converter.

    Values the conversion changes (whole floats into integer fields, int32 overflow) are fixed
    in ``obj`` as the typed object would hold them.
    """
    root = _root(group, version, kind)
    if root is None or not isinstance(obj, dict):
        return None
    try:
        _convert(root, None, None, obj)
    except _Converted as exc:
        return str(exc)
    return None


# -- rendering the patched object as upstream's messages echo it -----------------------------


def go_json(value: Any) -> str:
    """Compact JSON escaped as Go's encoder does (``<``, ``>``, ``&``, U+2028/9)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = (
            text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        )
    return text


def _sorted_merge(value: Any, patch: Any) -> Any:
    """``value`` with keys sorted where a merge patch rebuilt the object (the patched
    levels, and every value taken from the patch), as json-patch's MergePatch encodes it."""
    if isinstance(value, dict) and isinstance(patch, dict):
        return {k: (_sorted_merge(value[k], patch[k]) if k in patch else value[k]) for k in sorted(value)}
    if isinstance(value, list) and isinstance(patch, list) and value == patch:
        return [_sorted_merge(v, v) for v in value]
    return value


def _sorted_along(value: Any, paths: list[list[str]]) -> Any:
    """``value`` with keys sorted at the root and along each JSON patch operation's path."""
    tree: dict[str, Any] = {}
    for tokens in paths:
        level = tree
        for token in tokens[:-1]:
            level = level.setdefault(token, {})

    def render(node: Any, level: dict[str, Any] | None) -> Any:
        if level is None:
            return node
        if isinstance(node, dict):
            return {k: render(node[k], level.get(k)) for k in sorted(node)}
        if isinstance(node, list):
            return [render(v, level.get(str(i))) for i, v in enumerate(node)]
        return node

    return render(value, tree)


def _pointer_tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def patched_json_text(result: Any, patch_doc: Any, patch_type: str) -> str:
    """The patched object as upstream's JSON/merge patch error echoes it (best effort: keys
    the patch did not touch keep the stored order rather than Go's struct order)."""
    if patch_type == "application/json-patch+json" and isinstance(patch_doc, list):
        paths = []
        for op in patch_doc:
            if isinstance(op, dict):
                paths.append(_pointer_tokens(op.get("path")))
                if "from" in op:
                    paths.append(_pointer_tokens(op.get("from")))
        return go_json(_sorted_along(result, paths))
    return go_json(_sorted_merge(result, patch_doc))


def _go_float(value: float) -> str:
    """``fmt``'s ``%v`` of a float64 (shortest digits, exponent form outside [1e-4, 1e6))."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + int(exponent)  # decimal point position within the digits
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_sprint(value: Any) -> str:
    """``fmt.Sprintf("%+v", v)`` of a decoded JSON value (``map[a:1 b:[x y]]``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_sprint(value[k])}" for k in sorted(value)) + "]"
    return str(value)
