"""The shipped OpenAPI data: the upstream v2 document, per-group-version v3 documents, and the
patch metadata (merge keys, strategies, list types) of every built-in type.

The data files under ``k3trio/api/data/`` are written by ``build/gen-openapi-data.py`` from
the v1.36 swagger.json and loaded lazily on first use (about 280 KB gzipped on disk).

Invariants:
- Loaded documents are cached and shared: callers must treat them as read-only (the
  ``openapi_*_document`` functions return fresh top-level dicts but share deep structure).
- ``openapi_v2_document(served)`` keeps only the paths of served group-versions (plus the
  unversioned discovery paths); definitions are kept whole, as upstream keeps every
  registered type.
- ``openapi_v3_document(group, version)`` holds that group-version's paths and exactly the
  schemas they reach transitively, with ``#/definitions/`` references rewritten to
  ``#/components/schemas/`` and a ``$ref`` with sibling keys wrapped in ``allOf``, as
  kube-openapi's v3 builder emits them.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Collection
from importlib import resources
from typing import Any, NamedTuple

__all__ = [
    "FieldPatchMeta",
    "TypePatchMeta",
    "definition_for_kind",
    "openapi_v2_document",
    "openapi_v3_document",
    "openapi_v3_group_versions",
    "type_patch_meta",
]

_V2_REF = "#/definitions/"
_V3_REF = "#/components/schemas/"


def _load(name: str) -> Any:
    data = resources.files("k3trio.api").joinpath("data", name).read_bytes()
    return json.loads(gzip.decompress(data))


@functools.cache
def _swagger() -> dict[str, Any]:
    doc: dict[str, Any] = _load("swagger.json.gz")
    return doc


@functools.cache
def _patch_meta() -> dict[str, Any]:
    doc: dict[str, Any] = _load("patchmeta.json.gz")
    return doc


# -- paths and group-versions ----------------------------------------------------------------


def _path_group_version(path: str) -> tuple[str, str] | None:
    """``/api/v1/...`` -> ("", "v1"); ``/apis/apps/v1/...`` -> ("apps", "v1"); else None."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


def _v3_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v2_document(served: Collection[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The ``/openapi/v2`` document.

    Args:
        served: ``(group, version)`` pairs to keep paths for (e.g. from
            ``Registry.group_versions()``); ``None`` keeps every path of the swagger.
            Group discovery paths (``/apis/apps/``) are kept when the group is served.
    """
    doc = _swagger()
    if served is None:
        return dict(doc)
    keep_gv = {(g, v) for g, v in served}
    keep_groups = {g for g, _ in keep_gv}
    paths = {}
    for path, item in doc["paths"].items():
        gv = _path_group_version(path)
        if gv is None:
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "apis" and parts[1] not in keep_groups:
                continue
            paths[path] = item
        elif gv in keep_gv:
            paths[path] = item
    out = dict(doc)
    out["paths"] = paths
    return out


def openapi_v3_group_versions(served: Collection[tuple[str, str]] | None = None) -> list[str]:
    """The keys of the ``/openapi/v3`` index (``api/v1``, ``apis/apps/v1``, ...)."""
    seen: dict[str, None] = {}
    for path in _swagger()["paths"]:
        gv = _path_group_version(path)
        if gv is not None and (served is None or gv in served):
            seen[_v3_key(*gv)] = None
    return list(seen)


def _rewrite(node: Any, refs: set[str] | None = None) -> Any:
    """Deep-convert a v2 schema to v3: rewrite refs, wrap ``$ref`` with siblings in allOf."""
    if isinstance(node, list):
        return [_rewrite(x, refs) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    # A string "$ref" is a reference; a dict under "$ref" is a property of that name
    # (JSONSchemaProps has one).
    ref = node.get("$ref")
    if not isinstance(ref, str):
        ref = None
    for key, value in node.items():
        if key == "$ref" and ref is not None:
            continue
        out[key] = _rewrite(value, refs)
    if ref is not None:
        name = ref[len(_V2_REF) :] if ref.startswith(_V2_REF) else ref
        if refs is not None:
            refs.add(name)
        target = _V3_REF + name
        if out:
            out["allOf"] = [{"$ref": target}]
        else:
            out["$ref"] = target
    return out


def _convert_parameter(param: dict[str, Any], refs: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("description", "in", "name", "required"):
        if key in param:
            out[key] = param[key]
    schema: dict[str, Any] = {}
    for key in ("type", "format", "uniqueItems", "items", "default", "enum"):
        if key in param:
            schema[key] = param[key]
    out["schema"] = _rewrite(schema, refs)
    return out


def _convert_operation(op: dict[str, Any], refs: set[str], shared: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params = []
    body = None
    for param in op.get("parameters", []):
        if param.get("in") == "body":
            body = param
        else:
            params.append(_convert_parameter(param, refs))
    consumes = op.get("consumes", ["*/*"])
    produces = op.get("produces", ["application/json"])
    for key, value in op.items():
        if key in ("parameters", "consumes", "produces", "schemes"):
            continue
        if key == "responses":
            responses = {}
            for code, response in value.items():
                conv: dict[str, Any] = {}
                if "description" in response:
                    conv["description"] = response["description"]
                if "schema" in response:
                    schema = _rewrite(response["schema"], refs)
                    conv["content"] = {ct: {"schema": schema} for ct in produces}
                responses[code] = conv
            out["responses"] = responses
        else:
            out[key] = _rewrite(value, refs) if isinstance(value, (dict, list)) else value
    if params:
        out["parameters"] = params
    if body is not None:
        schema = _rewrite(body.get("schema", {}), refs)
        request: dict[str, Any] = {"content": {ct: {"schema": schema} for ct in consumes}}
        if body.get("required"):
            request["required"] = True
        out["requestBody"] = request
    return out


def _resolve_shared(param: dict[str, Any]) -> dict[str, Any]:
    ref = param.get("$ref", "")
    if ref.startswith("#/parameters/"):
        resolved: dict[str, Any] = _swagger()["parameters"][ref[len("#/parameters/") :]]
        return resolved
    return param


def openapi_v3_document(group: str, version: str) -> dict[str, Any] | None:
    """The ``/openapi/v3/apis/<group>/<version>`` document, or None for an unknown one."""
    return _v3_cached(group, version)


@functools.cache
def _v3_cached(group: str, version: str) -> dict[str, Any] | None:
    doc = _swagger()
    refs: set[str] = set()
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        if _path_group_version(path) != (group, version):
            continue
        shared = [_resolve_shared(p) for p in item.get("parameters", [])]
        conv: dict[str, Any] = {}
        for method, op in item.items():
            if method == "parameters":
                continue
            op = dict(op)
            op["parameters"] = [_resolve_shared(p) for p in op.get("parameters", [])]
            conv[method] = _convert_operation(op, refs, shared)
        if shared:
            conv["parameters"] = [
                _convert_parameter(p, refs) for p in shared if p.get("in") != "body"
            ]
        paths[path] = conv
    if not paths:
        return None
    schemas: dict[str, Any] = {}
    pending = sorted(refs)
    definitions = doc["definitions"]
    while pending:
        name = pending.pop()
        if name in schemas or name not in definitions:
            continue
        found: set[str] = set()
        schemas[name] = _rewrite(definitions[name], found)
        pending.extend(sorted(found - schemas.keys()))
    return {
        "openapi": "3.0.0",
        "info": dict(doc["info"]),
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer Token authentication",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey",
                }
            },
        },
    }


# -- patch metadata --------------------------------------------------------------------------


class FieldPatchMeta(NamedTuple):
    """How one field merges: strategies (``("merge", "retainKeys")``), merge key, the type of
    its value (a definition name, "" when unknown/scalar), its list type and map keys, and its
    container shape (``"o"`` object, ``"a"`` array, ``"m"`` map, ``""`` scalar)."""

    strategies: tuple[str, ...]
    merge_key: str
    ref: str
    list_type: str
    list_map_keys: tuple[str, ...]
    container: str


_NO_FIELD = FieldPatchMeta((), "", "", "", (), "")


class TypePatchMeta:
    """Patch metadata of one definition; ``field(name)`` never fails (unknown -> no meta)."""

    __slots__ = ("name", "_fields")

    def __init__(self, name: str, fields: dict[str, list[Any]]) -> None:
        self.name = name
        self._fields = fields

    def field(self, name: str) -> FieldPatchMeta:
        raw = self._fields.get(name)
        if raw is None:
            return _NO_FIELD
        strategy, merge_key, ref, list_type, keys, container = raw
        strategies = tuple(s for s in strategy.split(",") if s)
        return FieldPatchMeta(strategies, merge_key, ref, list_type, tuple(keys), container)

    def child(self, name: str) -> TypePatchMeta:
        """The metadata of the element type under ``name`` (object, list item or map value)."""
        return type_patch_meta(self.field(name).ref)

    def __repr__(self) -> str:
        return f"TypePatchMeta({self.name!r})"


@functools.cache
def type_patch_meta(definition: str) -> TypePatchMeta:
    """Patch metadata of a definition (``io.k8s.api.core.v1.PodSpec``); empty if unknown."""
    return TypePatchMeta(definition, _patch_meta()["types"].get(definition, {}))


def definition_for_kind(group: str, version: str, kind: str) -> str | None:
    """The definition name of a built-in kind (``("apps", "v1", "Deployment")``)."""
    found: str | None = _patch_meta()["kinds"].get(f"{group}/{version}/{kind}")
    return found
