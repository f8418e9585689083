"""``fieldValidation``: unknown and duplicate fields in request bodies, as kube-apiserver reports them.

Modes (query parameter ``fieldValidation``; kubectl sends ``Strict`` on create/apply):

- ``Strict``: 400 BadRequest ``strict decoding error: <problem>, <problem>, ...``;
- ``Warn``: one ``Warning: 299`` header per problem, the request proceeds;
- ``Ignore``: nothing is checked (unknown fields are dropped as before).

Problems are ``unknown field "spec.foo"`` and ``duplicate field "spec.replicas"`` (full
paths; list items as ``[i]``), in document order as upstream's strict decoder reports them.
Built-in kinds are checked against the shipped OpenAPI definitions; custom resources against
their CRD's structural schema (``x-kubernetes-preserve-unknown-fields`` keeps anything,
``metadata`` is checked as ObjectMeta, embedded resources may carry apiVersion/kind/metadata).

Pure: no I/O. :func:`decode_json` parses a body once, remembering duplicate keys per object.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from ...api.errors import BadRequest

__all__ = ["decode_json", "unknown_fields", "find_problems", "Duplicates"]

#: id(dict) -> that JSON object's keys in document order, repeats flagged True (only for
#: objects with a repeated key; valid while the decoded value lives).
Duplicates = dict[int, list[tuple[str, bool]]]

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_ANY: dict[str, Any] = {}


def decode_json(body: bytes) -> tuple[Any, Duplicates]:
    """Parse JSON keeping the last value of a repeated key and recording the repeats.

    For an object with repeated keys, ``dups[id(obj)]`` is its key sequence in document
    order, a repeat marked ``(key, True)``, so problems come out in the order upstream's
    decoder meets them.

    Raises:
        BadRequest: the body is not JSON (upstream's message).
    """
    dups: Duplicates = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        repeated = False
        for key, value in pairs:
            if key in out:
                repeated = True
            out[key] = value
        if repeated:
            seen: set[str] = set()
            order: list[tuple[str, bool]] = []
            for key, _ in pairs:
                order.append((key, key in seen))
                seen.add(key)
            dups[id(out)] = order
        return out

    try:
        return json.loads(body, object_pairs_hook=hook), dups
    except json.JSONDecodeError as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from None


@functools.cache
def _definitions() -> Mapping[str, Any]:
    from ...api import openapi_data

    defs: Mapping[str, Any] = openapi_data._swagger()["definitions"]
    return defs


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        found: Mapping[str, Any] = _definitions().get(ref.rsplit("/", 1)[-1], _ANY)
        return found
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        return _resolve(all_of[0])
    return node


def _walk(node: Mapping[str, Any], value: Any, path: str, out: list[str], dups: Duplicates, embedded: bool = False) -> None:
    node = _resolve(node)
    if isinstance(value, dict):
        order = dups.get(id(value))
        keys: list[tuple[str, bool]] = order if order is not None else [(k, False) for k in value]
        props = node.get("properties")
        preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
        if isinstance(props, Mapping):
            extra = node.get("additionalProperties")
            unknown: list[str] = []
            for key, repeat in keys:
                child_path = f"{path}.{key}" if path else key
                if repeat:
                    out.append(f'duplicate field "{child_path}"')
                    continue
                child_value = value[key]
                child = props.get(key)
                if child is None and (embedded or node.get("x-kubernetes-embedded-resource")):
                    child = _EMBEDDED.get(key)
                if child is None:
                    if isinstance(extra, Mapping):
                        _walk(extra, child_value, child_path, out, dups)
                    elif not preserve:
                        out.append(f'unknown field "{child_path}"')
                        unknown.append(key)
                    continue
                _walk(child, child_value, child_path, out, dups)
            for key in unknown:  # dropped, as decoding into the typed object does upstream
                del value[key]
            return
        extra = node.get("additionalProperties")
        for key, repeat in keys:
            child_path = f"{path}.{key}" if path else key
            if repeat:
                out.append(f'duplicate field "{child_path}"')
            elif isinstance(extra, Mapping):
                _walk(extra, value[key], child_path, out, dups)
            elif dups and isinstance(value[key], (dict, list)):  # repeats hide anywhere
                _walk(_PRESERVE, value[key], child_path, out, dups)
        if isinstance(extra, Mapping):
            return
        if node.get("x-kubernetes-embedded-resource"):
            for key in ("metadata",):
                if key in value:
                    _walk(_EMBEDDED[key], value[key], f"{path}.{key}", out, dups)
        return
    if isinstance(value, list):
        items = node.get("items")
        if not isinstance(items, Mapping) and dups:
            items = _PRESERVE
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                _walk(items, item, f"{path}[{i}]", out, dups)


_PRESERVE: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}


_EMBEDDED: dict[str, Any] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"$ref": f"#/definitions/{_OBJECT_META}"},
}


def _crd_root(schema: Mapping[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties") or {})
    props.update(_EMBEDDED)
    root = dict(schema)
    root["properties"] = props
    return root


def find_problems(schema: Mapping[str, Any] | None, obj: Any, dups: Duplicates | None = None) -> list[str]:
    """Unknown/duplicate field messages of ``obj`` against ``schema`` (None: duplicates only);
    unknown fields are removed from ``obj``."""
    out: list[str] = []
    _walk(schema if schema is not None else {"x-kubernetes-preserve-unknown-fields": True, "properties": {}}, obj, "", out, dups or {})
    return out


@functools.lru_cache(maxsize=512)
def _builtin_schema(group: str, version: str, kind: str) -> Mapping[str, Any] | None:
    from ...api import openapi_data

    name = openapi_data.definition_for_kind(group, version, kind)
    if name is None:
        return None
    found: Mapping[str, Any] | None = _definitions().get(name)
    return found


def unknown_fields(info: Any, obj: Any, dups: Duplicates | None = None) -> list[str]:
    """The problems of a request body for resource ``info`` (a ``ResourceInfo``).

    Unknown fields are removed from ``obj`` as they are found.
    """
    schema: Mapping[str, Any] | None
    if getattr(info, "custom", False):
        from ..factory import _crd_schema

        crd_schema = _crd_schema(info)
        schema = _crd_root(crd_schema) if crd_schema else None
    else:
        schema = _builtin_schema(info.group, info.version, info.kind)
    return find_problems(schema, obj, dups)
