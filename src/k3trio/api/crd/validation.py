"""Validation of ``CustomResourceDefinition`` objects (apiextensions.k8s.io/v1).

The main rules of the apiextensions server: the name is ``<plural>.<group>``; the group is a
domain with a dot; names are DNS-1035 labels (kinds may be mixed case); versions are unique
DNS-1035 labels, exactly one is the storage version and at least one is served; the scope is
``Cluster`` or ``Namespaced``; every version has a structural ``openAPIV3Schema`` (an
``object`` at the root, a type on every specified field, root ``metadata`` restricted to
``name``/``generateName``); printer columns have a name, a known type and a JSONPath. On
update, the group, plural and scope are immutable.

Field paths and messages follow upstream (``spec.versions[0].schema.openAPIV3Schema.type``,
``properties[spec]`` for nested schema properties).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k3trio.api.errors import FieldError
from k3trio.api.jsonpath import JSONPath, JSONPathError
from k3trio.api.names import is_dns1035_label, is_dns1123_subdomain

__all__ = ["validate_crd"]

_SCOPES = ("Cluster", "Namespaced")
_COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
_COLUMN_FORMATS = ("int32", "int64", "float", "double", "byte", "date", "date-time", "password", "name")
_SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")


def validate_crd(crd: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Validate a CRD object (and its update from ``old``).

    Returns:
        Field errors in upstream order; empty when valid.
    """
    errs: list[FieldError] = []
    meta = crd.get("metadata") or {}
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    plural = names.get("plural") or ""
    name = meta.get("name") or ""
    if name != f"{plural}.{group}":
        errs.append(FieldError.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    errs.extend(_validate_spec(spec))
    if old is not None:
        errs.extend(_validate_update(spec, old.get("spec") or {}))
    return errs


def _validate_spec(spec: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    group = spec.get("group") or ""
    if not group:
        errs.append(FieldError.required("spec.group", ""))
    else:
        for msg in is_dns1123_subdomain(group):
            errs.append(FieldError.invalid("spec.group", group, msg))
        if "." not in group:
            errs.append(FieldError.invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(FieldError.required("spec.scope", ""))
    elif scope not in _SCOPES:
        errs.append(FieldError.not_supported("spec.scope", scope, _SCOPES))
    errs.extend(_validate_names(spec.get("names") or {}, "spec.names"))
    versions = spec.get("versions") or []
    if not versions:
        errs.append(FieldError.invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
        return errs
    seen: set[str] = set()
    unique = True
    storage = served = 0
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        vname = v.get("name") or ""
        if vname in seen:
            unique = False
        seen.add(vname)
        if not vname:
            errs.append(FieldError.required(f"{path}.name", ""))
        else:
            msgs = is_dns1035_label(vname)
            if msgs:
                errs.append(FieldError.invalid(f"{path}.name", vname, ",".join(msgs)))
        storage += bool(v.get("storage"))
        served += bool(v.get("served"))
        errs.extend(_validate_version_schema(v, f"{path}.schema"))
        errs.extend(_validate_columns(v.get("additionalPrinterColumns") or [], f"{path}.additionalPrinterColumns"))
        subresources = v.get("subresources") or {}
        scale = subresources.get("scale")
        if isinstance(scale, Mapping):
            for key in ("specReplicasPath", "statusReplicasPath"):
                if not scale.get(key):
                    errs.append(FieldError.required(f"{path}.subresources.scale.{key}", ""))
    if not unique:
        errs.append(FieldError.invalid("spec.versions", versions, "must contain unique version names"))
    if storage != 1:
        errs.append(FieldError.invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    if served == 0:
        errs.append(FieldError.invalid("spec.versions", versions, "must have at least one version marked as served"))
    conversion = spec.get("conversion") or {}
    strategy = conversion.get("strategy")
    if strategy is not None and strategy not in ("None", "Webhook"):
        errs.append(FieldError.not_supported("spec.conversion.strategy", strategy, ("None", "Webhook")))
    if strategy == "Webhook" and not conversion.get("webhook"):
        errs.append(FieldError.required("spec.conversion.webhook", "required when strategy is set to Webhook"))
    return errs


def _validate_names(names: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if key == "plural" and not value:
            errs.append(FieldError.required(f"{path}.plural", ""))
        if value:
            msgs = is_dns1035_label(value)
            if msgs:
                errs.append(FieldError.invalid(f"{path}.{key}", value, ",".join(msgs)))
    kind = names.get("kind") or ""
    list_kind = names.get("listKind") or ""
    for key, value in (("kind", kind), ("listKind", list_kind)):
        if key == "kind" and not value:
            errs.append(FieldError.required(f"{path}.kind", ""))
        if value:
            msgs = is_dns1035_label(value.lower())
            if msgs:
                errs.append(FieldError.invalid(f"{path}.{key}", value,
                                               "may have mixed case, but should otherwise match: " + ",".join(msgs)))
    if kind and kind == list_kind:
        errs.append(FieldError.invalid(f"{path}.listKind", list_kind, "kind and listKind may not be the same"))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or []):
            msgs = is_dns1035_label(value)
            if msgs:
                errs.append(FieldError.invalid(f"{path}.{key}[{i}]", value, ",".join(msgs)))
    return errs


def _validate_version_schema(version: Mapping[str, Any], path: str) -> list[FieldError]:
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    spath = f"{path}.openAPIV3Schema"
    if not schema:
        return [FieldError.required(spath, "schemas are required")]
    errs: list[FieldError] = []
    if not schema.get("type"):
        errs.append(FieldError.required(f"{spath}.type", "must not be empty at the root"))
    elif schema.get("type") != "object":
        errs.append(FieldError.invalid(f"{spath}.type", schema["type"], "must be object at the root"))
    meta = (schema.get("properties") or {}).get("metadata")
    if isinstance(meta, Mapping):
        allowed = {"type", "properties", "description"}
        extra = (set(meta) - allowed) | (set(meta.get("properties") or {}) - {"name", "generateName"})
        if extra:
            errs.append(FieldError.forbidden(
                f"{spath}.properties[metadata]",
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ))
    _structural(schema, spath, errs, root=True)
    return errs


def _structural(s: Mapping[str, Any], path: str, errs: list[FieldError], *, root: bool = False) -> None:
    typ = s.get("type")
    if typ and typ not in _SCHEMA_TYPES:
        errs.append(FieldError.not_supported(f"{path}.type", typ, _SCHEMA_TYPES))
    props = s.get("properties") or {}
    if props and s.get("additionalProperties") not in (None, False):
        errs.append(FieldError.forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"))
    for name, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        spath = f"{path}.properties[{name}]"
        if root and name == "metadata":
            continue
        _check_typed(sub, spath, errs)
        _structural(sub, spath, errs)
    items = s.get("items")
    if isinstance(items, Mapping):
        _check_typed(items, f"{path}.items", errs)
        _structural(items, f"{path}.items", errs)
    elif typ == "array":
        errs.append(FieldError.required(f"{path}.items", "must be specified"))
    additional = s.get("additionalProperties")
    if isinstance(additional, Mapping):
        _check_typed(additional, f"{path}.additionalProperties", errs)
        _structural(additional, f"{path}.additionalProperties", errs)
    if s.get("uniqueItems"):
        errs.append(FieldError.forbidden(
            f"{path}.uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        ))
    list_type = s.get("x-kubernetes-list-type")
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errs.append(FieldError.not_supported(f"{path}.x-kubernetes-list-type", list_type, ("atomic", "set", "map")))
    if list_type == "map" and not s.get("x-kubernetes-list-map-keys"):
        errs.append(FieldError.required(
            f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"
        ))


def _check_typed(s: Mapping[str, Any], path: str, errs: list[FieldError]) -> None:
    if s.get("type") or s.get("x-kubernetes-int-or-string") or s.get("x-kubernetes-preserve-unknown-fields"):
        return
    errs.append(FieldError.required(f"{path}.type", "must not be empty for specified object fields"))


def _validate_columns(columns: list[Mapping[str, Any]], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, col in enumerate(columns):
        cpath = f"{path}[{i}]"
        if not col.get("name"):
            errs.append(FieldError.required(f"{cpath}.name", ""))
        typ = col.get("type") or ""
        if not typ:
            errs.append(FieldError.required(f"{cpath}.type", ""))
        elif typ not in _COLUMN_TYPES:
            errs.append(FieldError.not_supported(f"{cpath}.type", typ, _COLUMN_TYPES))
        fmt = col.get("format") or ""
        if fmt and fmt not in _COLUMN_FORMATS:
            errs.append(FieldError.not_supported(f"{cpath}.format", fmt, _COLUMN_FORMATS))
        priority = col.get("priority", 0)
        if isinstance(priority, int) and priority < 0:
            errs.append(FieldError.invalid(f"{cpath}.priority", priority, "must be greater than or equal to 0"))
        json_path = col.get("jsonPath") or ""
        if not json_path:
            errs.append(FieldError.required(f"{cpath}.jsonPath", ""))
        else:
            try:
                JSONPath("{" + json_path + "}")
            except JSONPathError as exc:
                errs.append(FieldError.invalid(f"{cpath}.jsonPath", json_path, f"must be a simple json path: {exc}"))
    return errs


def _validate_update(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    immutable = "field is immutable"
    if spec.get("group") != old.get("group"):
        errs.append(FieldError.invalid("spec.group", spec.get("group"), immutable))
    if spec.get("scope") != old.get("scope"):
        errs.append(FieldError.invalid("spec.scope", spec.get("scope"), immutable))
    plural = (spec.get("names") or {}).get("plural")
    if plural != (old.get("names") or {}).get("plural"):
        errs.append(FieldError.invalid("spec.names.plural", plural, immutable))
    return errs
