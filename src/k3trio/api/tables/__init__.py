"""Server-side ``Table`` rendering (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``).

Each resource with an upstream printer has a :class:`Printer`: its column definitions and a
row function. Everything else gets the API server's default table (``Name``, ``Created At``).
Rows always carry every column, including priority-1 ("wide") ones; clients hide those
unless ``-o wide`` is asked for. Pass ``now`` so ages are deterministic.

Public API:
    build_table(group, resource, objs, *, now, include_object="Object", list_meta=None)
    printer_for(group, resource) -> Printer | None
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from k3trio.api.tables._common import Printer, col, doc, get
from k3trio.api.tables.core import PRINTERS as _CORE
from k3trio.api.tables.duration import human_duration, translate_timestamp_since
from k3trio.api.tables.groups import PRINTERS as _GROUPS

__all__ = [
    "DEFAULT_COLUMNS",
    "Printer",
    "build_table",
    "human_duration",
    "printer_for",
    "translate_timestamp_since",
]

_PRINTERS: dict[tuple[str, str], Printer] = {**_CORE, **_GROUPS}

DEFAULT_COLUMNS = (
    col("Name", "string", doc("meta.v1.ObjectMeta", "name"), fmt="name"),
    col("Created At", "date", doc("meta.v1.ObjectMeta", "creationTimestamp")),
)

INCLUDE_OBJECT_VALUES = ("None", "Object", "Metadata")


def printer_for(group: str, resource: str) -> Printer | None:
    """The printer for a resource (plural, lower case), or None for the default table."""
    return _PRINTERS.get((group, resource))


def _default_row(obj: dict[str, Any], now: datetime) -> tuple[list[Any], None]:
    created = get(obj, "metadata", "creationTimestamp") or "0001-01-01T00:00:00Z"
    return [get(obj, "metadata", "name", default=""), created], None


def _partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def build_table(
    group: str,
    resource: str,
    objs: Iterable[dict[str, Any]],
    *,
    now: datetime | None = None,
    include_object: str = "Metadata",
    list_meta: dict[str, Any] | None = None,
    no_headers: bool = False,
) -> dict[str, Any]:
    """Render objects of one resource as a ``meta.k8s.io/v1`` Table.

    Args:
        group: API group ("" for core).
        resource: plural resource name, e.g. ``pods``.
        objs: the objects (a single get is a one-element list).
        now: the reference time for ages; defaults to the current UTC time.
        include_object: ``None``, ``Object`` or ``Metadata`` (the API default).
        list_meta: ``resourceVersion``/``continue``/``remainingItemCount`` for the table.
        no_headers: omit column definitions (``?includeObject`` clients paging with
            ``--no-headers`` do this after the first page).

    Raises:
        ValueError: for an unknown ``include_object`` value.
    """
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise ValueError(f"unsupported includeObject value: {include_object!r}")
    if now is None:
        now = datetime.now(timezone.utc)
    printer = printer_for(group, resource)
    columns = printer.columns if printer else DEFAULT_COLUMNS
    row_fn = printer.row if printer else _default_row
    rows = []
    for obj in objs:
        cells, conditions = row_fn(obj, now)
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = [dict(c) for c in conditions]
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = _partial_metadata(obj)
        rows.append(row)
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
    }
    if not no_headers:
        table["columnDefinitions"] = [dict(c) for c in columns]
    else:
        table["columnDefinitions"] = None
    table["rows"] = rows
    return table
