"""Structural schemas of custom resources: validation, pruning and defaulting.

The schema is a CRD version's ``openAPIV3Schema`` (a dict); objects are decoded JSON.
The three passes run in upstream's order on a write: :func:`prune` (drop unknown fields,
reporting them for ``fieldValidation``), :func:`apply_defaults`, then :func:`validate`.

Messages and field paths follow the apiextensions server (kube-openapi's validator with its
errors converted to field errors), e.g.::

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
    spec.size: Unsupported value: "XL": supported values: "S", "M"
    spec.name: Invalid value: "x": spec.name in body should match '^[a-z]+$'

Invariants:
- Paths are dotted with ``[i]`` list indexes (``spec.items[0].name``); the root is ``""``.
- A failing ``type`` check stops the checks below that node (upstream reports only the type).
- At the root, and in ``x-kubernetes-embedded-resource`` objects, ``apiVersion``, ``kind``
  and ``metadata`` are never pruned; root ``metadata`` keeps only ObjectMeta fields.
- Non-nullable ``null`` values are dropped before defaulting; defaults are deep-copied in.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from k3trio.api.errors import FieldError

__all__ = ["apply_defaults", "prune", "validate"]

Schema = Mapping[str, Any]

OBJECT_META_FIELDS = frozenset(
    {
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
        "annotations", "ownerReferences", "finalizers", "managedFields",
    }
)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(expected: str, value: Any) -> bool:
    actual = _json_type(value)
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def _num(value: Any) -> str:
    """A limit as Go's ``%v`` prints it (``10``, ``1.5``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- formats ------------------------------------------------------------------------------------

_FORMATS: dict[str, re.Pattern[str]] = {
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"),
    "byte": re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "ipv4": re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"),
    "hostname": re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "duration": re.compile(r"^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d|w))+$"),
    "mac": re.compile(r"^(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$"),
}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _format_ok(fmt: str, value: Any) -> bool:
    if fmt in ("int32", "int64"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return True
        bits = 31 if fmt == "int32" else 63
        return bool(-(2**bits) <= value < 2**bits)
    if not isinstance(value, str):
        return True
    if fmt == "date-time":
        if not _DATE_TIME.match(value):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return False
        return True
    if fmt == "date":
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            return False
        return True
    if fmt == "ipv6":
        import ipaddress

        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True
    if fmt == "cidr":
        import ipaddress

        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        return "/" in value
    pattern = _FORMATS.get(fmt)
    return pattern is None or bool(pattern.match(value))


# -- validation ---------------------------------------------------------------------------------


def validate(schema: Schema, obj: Any, path: str = "") -> list[FieldError]:
    """Validate ``obj`` (a whole custom resource, or a value at ``path``) against ``schema``.

    Returns:
        The field errors, in the order upstream reports them (empty when valid).
    """
    errors: list[FieldError] = []
    _validate(schema, obj, path, errors, root=not path)
    return errors


def _body_name(path: str) -> str:
    return path if path else "body"


def _validate(s: Schema, value: Any, path: str, errs: list[FieldError], *, root: bool = False) -> None:
    name = _body_name(path)
    typ = s.get("type", "")
    int_or_string = s.get("x-kubernetes-int-or-string", False)
    if value is None:
        if s.get("nullable") or (not typ and not int_or_string):
            return
        expected = typ or "integer,string"
        errs.append(FieldError("FieldValueTypeInvalid", path, "null",
                               f'{name} in body must be of type {expected}: "null"'))
        return
    if int_or_string:
        if _json_type(value) not in ("integer", "string"):
            actual = _json_type(value)
            errs.append(FieldError("FieldValueTypeInvalid", path, actual,
                                   f'{name} in body must be of type integer,string: "{actual}"'))
            return
    elif typ and not _type_ok(typ, value):
        actual = _json_type(value)
        errs.append(FieldError("FieldValueTypeInvalid", path, actual,
                               f'{name} in body must be of type {typ}: "{actual}"'))
        return
    fmt = s.get("format")
    if fmt and not _format_ok(fmt, value):
        shown = value if isinstance(value, str) else json.dumps(value)
        errs.append(FieldError("FieldValueTypeInvalid", path, value,
                               f'{name} in body must be of type {fmt}: "{shown}"'))
    enum = s.get("enum")
    if enum is not None and value not in enum:
        errs.append(FieldError.not_supported(path, value, [e if isinstance(e, str) else json.dumps(e) for e in enum]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(s, value, path, name, errs)
    if isinstance(value, str):
        _validate_string(s, value, path, name, errs)
    if isinstance(value, list):
        _validate_array(s, value, path, name, errs)
    if isinstance(value, dict):
        _validate_object(s, value, path, name, errs, root=root)
    for key in ("allOf", "anyOf", "oneOf"):
        _validate_junctors(s, key, value, path, name, errs)
    if "not" in s:
        sub: list[FieldError] = []
        _validate(s["not"], value, path, sub)
        if not sub:
            errs.append(FieldError.invalid(path, value, f"{name} in body must not validate the schema (not)"))


def _validate_junctors(s: Schema, key: str, value: Any, path: str, name: str, errs: list[FieldError]) -> None:
    subs = s.get(key)
    if not subs:
        return
    results = []
    for sub_schema in subs:
        sub: list[FieldError] = []
        _validate(sub_schema, value, path, sub)
        results.append(sub)
    if key == "allOf":
        for sub in results:
            errs.extend(sub)
        return
    passing = sum(1 for r in results if not r)
    if key == "anyOf" and passing == 0:
        errs.append(FieldError.invalid(path, value, f'"{name}" must validate at least one schema (anyOf)'))
        for sub in results:
            errs.extend(sub)
    if key == "oneOf" and passing != 1:
        errs.append(FieldError.invalid(path, value, f'"{name}" must validate one and only one schema (oneOf)'))


def _validate_number(s: Schema, value: float, path: str, name: str, errs: list[FieldError]) -> None:
    maximum = s.get("maximum")
    if maximum is not None:
        if s.get("exclusiveMaximum") and value >= maximum:
            errs.append(FieldError.invalid(path, value, f"{name} in body should be less than {_num(maximum)}"))
        elif value > maximum:
            errs.append(FieldError.invalid(path, value, f"{name} in body should be less than or equal to {_num(maximum)}"))
    minimum = s.get("minimum")
    if minimum is not None:
        if s.get("exclusiveMinimum") and value <= minimum:
            errs.append(FieldError.invalid(path, value, f"{name} in body should be greater than {_num(minimum)}"))
        elif value < minimum:
            errs.append(FieldError.invalid(path, value, f"{name} in body should be greater than or equal to {_num(minimum)}"))
    multiple = s.get("multipleOf")
    if multiple:
        ratio = value / multiple
        if not math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9):
            errs.append(FieldError.invalid(path, value, f"{name} in body should be a multiple of {_num(multiple)}"))


def _validate_string(s: Schema, value: str, path: str, name: str, errs: list[FieldError]) -> None:
    length = len(value)  # upstream counts runes
    max_len = s.get("maxLength")
    if max_len is not None and length > max_len:
        errs.append(FieldError.too_long(path, value, max_len))
    min_len = s.get("minLength")
    if min_len is not None and length < min_len:
        errs.append(FieldError.invalid(path, value, f"{name} in body should be at least {min_len} chars long"))
    pattern = s.get("pattern")
    if pattern is not None:
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True
        if not matched:
            errs.append(FieldError.invalid(path, value, f"{name} in body should match '{pattern}'"))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _validate_array(s: Schema, value: list[Any], path: str, name: str, errs: list[FieldError]) -> None:
    max_items = s.get("maxItems")
    if max_items is not None and len(value) > max_items:
        errs.append(FieldError.too_many(path, len(value), max_items))
    min_items = s.get("minItems")
    if min_items is not None and len(value) < min_items:
        errs.append(FieldError.invalid(path, value, f"{name} in body should have at least {min_items} items"))
    if s.get("uniqueItems"):
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = _canonical(item)
            if key in seen:
                errs.append(FieldError.duplicate(_index(path, i), item))
            seen.add(key)
    items = s.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            _validate(items, item, _index(path, i), errs)
    _validate_list_type(s, value, path, errs)


def _validate_list_type(s: Schema, value: list[Any], path: str, errs: list[FieldError]) -> None:
    list_type = s.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = _canonical(item)
            if key in seen:
                errs.append(FieldError.duplicate(_index(path, i), item))
            seen.add(key)
    elif list_type == "map":
        keys = s.get("x-kubernetes-list-map-keys") or []
        items = s.get("items") or {}
        defaults = {k: (items.get("properties") or {}).get(k, {}).get("default") for k in keys}
        seen_keys: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            kv = {k: item.get(k, defaults[k]) for k in keys}
            canonical = _canonical(kv)
            if canonical in seen_keys:
                bad = kv[keys[0]] if len(keys) == 1 else kv
                errs.append(FieldError.duplicate(_index(path, i), bad))
            seen_keys.add(canonical)


def _validate_object(s: Schema, value: dict[str, Any], path: str, name: str, errs: list[FieldError],
                     *, root: bool) -> None:
    max_props = s.get("maxProperties")
    if max_props is not None and len(value) > max_props:
        errs.append(FieldError.too_many(path, len(value), max_props))
    min_props = s.get("minProperties")
    if min_props is not None and len(value) < min_props:
        errs.append(FieldError.invalid(path, value, f"{name} in body should have at least {min_props} properties"))
    for req in s.get("required") or []:
        if req not in value:
            errs.append(FieldError.required(_child(path, req), ""))
    props: Mapping[str, Any] = s.get("properties") or {}
    additional = s.get("additionalProperties")
    for key, item in value.items():
        if root and key in ("apiVersion", "kind", "metadata"):
            continue
        sub = props.get(key)
        if sub is not None:
            _validate(sub, item, _child(path, key), errs)
        elif isinstance(additional, Mapping):
            _validate(additional, item, _child(path, key), errs)
        elif additional is False:
            errs.append(FieldError.forbidden(_child(path, key), "additional properties are not allowed"))
    if s.get("x-kubernetes-embedded-resource"):
        _validate_embedded(value, path, errs)


def _validate_embedded(value: dict[str, Any], path: str, errs: list[FieldError]) -> None:
    api_version = value.get("apiVersion")
    kind = value.get("kind")
    if not api_version:
        errs.append(FieldError.required(_child(path, "apiVersion"), "must not be empty"))
    elif not isinstance(api_version, str) or api_version.count("/") > 1:
        errs.append(FieldError.invalid(_child(path, "apiVersion"), api_version, "must be a valid group/version"))
    if not kind:
        errs.append(FieldError.required(_child(path, "kind"), "must not be empty"))
    meta = value.get("metadata")
    if isinstance(meta, dict):
        from k3trio.api.names import is_dns1123_subdomain

        name = meta.get("name")
        if isinstance(name, str) and name:
            for msg in is_dns1123_subdomain(name):
                errs.append(FieldError.invalid(_child(_child(path, "metadata"), "name"), name, msg))


# -- pruning ------------------------------------------------------------------------------------


def prune(schema: Schema, obj: Any, *, is_resource: bool = True) -> list[str]:
    """Drop fields the schema does not specify, in place.

    Args:
        schema: the structural schema.
        obj: the object (a whole resource when ``is_resource``).
        is_resource: keep ``apiVersion``/``kind``/``metadata`` at the root and prune
            ``metadata`` to ObjectMeta's fields.

    Returns:
        The dropped field paths, sorted (``spec.unknown``, ``spec.items[0].extra``).
    """
    dropped: list[str] = []
    _prune(schema, obj, "", dropped, root=is_resource)
    return sorted(dropped)


def _prune(s: Schema | None, value: Any, path: str, dropped: list[str], *, root: bool = False) -> None:
    if s is None:
        return
    if isinstance(value, dict):
        props: Mapping[str, Any] = s.get("properties") or {}
        additional = s.get("additionalProperties")
        preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(s.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            if (root or embedded) and key in ("apiVersion", "kind"):
                continue
            if (root or embedded) and key == "metadata":
                meta = value[key]
                if isinstance(meta, dict):
                    for mkey in list(meta):
                        if mkey not in OBJECT_META_FIELDS:
                            del meta[mkey]
                            dropped.append(_child(_child(path, "metadata"), mkey))
                continue
            sub = props.get(key)
            if sub is None and isinstance(additional, Mapping):
                sub = additional
            if sub is not None:
                _prune(sub, value[key], _child(path, key), dropped)
            elif additional is True or preserve:
                continue
            else:
                del value[key]
                dropped.append(_child(path, key))
    elif isinstance(value, list):
        items = s.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                _prune(items, item, _index(path, i), dropped)


# -- defaulting ---------------------------------------------------------------------------------


def apply_defaults(schema: Schema, obj: Any) -> None:
    """Apply ``default`` values in place (after pruning, before validation).

    Non-nullable ``null`` values are removed first, then defaulted if the schema has a default.
    """
    _default(schema, obj)


def _default(s: Schema | None, value: Any) -> None:
    if s is None:
        return
    if isinstance(value, dict):
        props: Mapping[str, Any] = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key in list(value):
            sub = props.get(key) or (additional if isinstance(additional, Mapping) else None)
            if sub is not None and value[key] is None and not sub.get("nullable"):
                if "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                else:
                    del value[key]
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            sub = props.get(key) or (additional if isinstance(additional, Mapping) else None)
            _default(sub, item)
    elif isinstance(value, list):
        items = s.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                if item is None and not items.get("nullable") and "default" in items:
                    value[i] = copy.deepcopy(items["default"])
                _default(items, value[i])
