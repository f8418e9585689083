"""Server-side Table printing of custom resources from ``additionalPrinterColumns``.

As the apiextensions table convertor: the first column is always ``Name`` (format
``name``); then the version's ``additionalPrinterColumns``, or a single ``Age`` column (type
``date`` from ``.metadata.creationTimestamp``) when it declares none. Each column's
``jsonPath`` is evaluated with missing keys allowed; only the first result counts. Cells
are typed as upstream's ``cellForJSONValue``: ``integer`` -> int, ``number`` -> float,
``boolean`` -> bool, ``date`` -> a human age (``<invalid>`` when unparsable); ``string``
columns print the value as JSONPath prints it; absent or mismatched values are ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from k3trio.api.jsonpath import JSONPath, JSONPathError
from k3trio.api.meta import parse_time
from k3trio.api.tables.duration import human_duration

__all__ = ["printer_columns", "printer_table"]

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_CREATED_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is "
    "not guaranteed to be set in happens-before order across separate operations. Clients may not set "
    "this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. "
    "Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def _version(crd: Mapping[str, Any], version: str) -> Mapping[str, Any]:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            found: Mapping[str, Any] = v
            return found
    return {}


def _declared(crd: Mapping[str, Any], version: str) -> list[Mapping[str, Any]]:
    columns = list(_version(crd, version).get("additionalPrinterColumns") or [])
    if columns:
        return columns
    return [{"name": "Age", "type": "date", "description": _CREATED_DESCRIPTION,
             "jsonPath": ".metadata.creationTimestamp"}]


def printer_columns(crd: Mapping[str, Any], version: str) -> list[dict[str, Any]]:
    """The Table ``columnDefinitions`` of one CRD version (``Name`` first)."""
    out = [{"name": "Name", "type": "string", "format": "name", "description": _NAME_DESCRIPTION, "priority": 0}]
    for col in _declared(crd, version):
        out.append({
            "name": col.get("name", ""),
            "type": col.get("type", ""),
            "format": col.get("format", ""),
            "description": col.get("description", ""),
            "priority": int(col.get("priority", 0) or 0),
        })
    return out


def _cell(col_type: str, path: JSONPath, obj: Any, now: datetime) -> Any:
    try:
        results = path.find_results(obj)
    except JSONPathError:
        return None
    if not results or not results[0]:
        return None
    value = results[0][0]
    if value is None:
        return None
    if col_type == "string":
        return path.print_results([value])
    if col_type == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        return None
    if col_type == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None
    if col_type == "boolean":
        return value if isinstance(value, bool) else None
    if col_type == "date":
        if not isinstance(value, str):
            return None
        try:
            created = parse_time(value)
        except ValueError:
            return "<invalid>"
        return human_duration(now - created)
    return None


def printer_table(
    crd: Mapping[str, Any],
    version: str,
    objs: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    include_object: str = "Metadata",
    list_meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of custom resources of one CRD version.

    Args:
        crd: the CustomResourceDefinition object.
        version: the served version the objects are in.
        objs: the objects.
        now: reference time for ``date`` columns (default: current UTC time).
        include_object: ``None``, ``Object`` or ``Metadata``.
        list_meta: ``resourceVersion``/``continue``/``remainingItemCount``.
    """
    if include_object not in ("None", "Object", "Metadata"):
        raise ValueError(f"unsupported includeObject value: {include_object!r}")
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    declared = _declared(crd, version)
    paths: list[JSONPath | None] = []
    for col in declared:
        try:
            paths.append(JSONPath("{" + str(col.get("jsonPath", "")) + "}", allow_missing_keys=True))
        except JSONPathError:
            paths.append(None)
    rows = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        cells: list[Any] = [meta.get("name", "")]
        for col, path in zip(declared, paths):
            cells.append(None if path is None else _cell(str(col.get("type", "")), path, obj, now))
        row: dict[str, Any] = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": dict(meta)}
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": printer_columns(crd, version),
        "rows": rows,
    }
