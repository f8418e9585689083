"""Server-side ``meta.k8s.io/v1`` Tables printed as kubectl prints them.

Rules (kubectl's ``TablePrinter``):

- headers are the column names upper-cased; columns with a non-zero priority appear only
  with ``-o wide``;
- ``-A`` (or several namespaces) adds a leading ``NAMESPACE`` column; ``-L`` adds one
  column per label key (header: the key's last path segment, upper-cased) and
  ``--show-labels`` a trailing ``LABELS`` column (``k=v`` sorted by key, or ``<none>``);
- with several resource types the name cell is prefixed ``kind.group/``;
- a string cell is cut at its first newline (``...`` appended); ``None`` prints empty;
  other values as Go's ``fmt`` prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tabwriter import format_rows

__all__ = ["TableOptions", "cell_text", "label_text", "table_rows"]


@dataclass
class TableOptions:
    wide: bool = False
    no_headers: bool = False
    show_labels: bool = False
    label_columns: list[str] = field(default_factory=list)
    with_namespace: bool = False
    kind_prefix: str = ""  # e.g. "deployment.apps/" when several types are printed
    watch_events: bool = False


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        for i, ch in enumerate(value):
            if ch in "\n\r\f":
                return value[:i] + "..."
        return value
    if isinstance(value, (list, dict)):
        from .goformat import go_value

        return go_value(value)
    return str(value)


def label_text(labels: Mapping[str, str] | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _label_header(key: str) -> str:
    return key.rsplit("/", 1)[-1].upper()


def _row_meta(row: Mapping[str, Any]) -> Mapping[str, Any]:
    obj = row.get("object")
    if isinstance(obj, Mapping):
        meta = obj.get("metadata")
        if isinstance(meta, Mapping):
            return meta
    return {}


def header_row(table: Mapping[str, Any], opts: TableOptions) -> list[str]:
    cols = [c for c in table.get("columnDefinitions") or [] if opts.wide or not c.get("priority")]
    out = [str(c.get("name", "")).upper() for c in cols]
    if opts.with_namespace:
        out.insert(0, "NAMESPACE")
    if opts.watch_events:
        out.insert(0, "EVENT")
    out.extend(_label_header(k) for k in opts.label_columns)
    if opts.show_labels:
        out.append("LABELS")
    return out


def table_rows(table: Mapping[str, Any], opts: TableOptions, *,
               rows: Sequence[Mapping[str, Any]] | None = None,
               event: str = "") -> list[list[str]]:
    """The cells of ``table`` (or of ``rows`` from it), without the header."""
    columns = table.get("columnDefinitions") or []
    shown = [i for i, c in enumerate(columns) if opts.wide or not c.get("priority")]
    name_index = next((i for i, c in enumerate(columns) if c.get("name") == "Name"), 0)
    out: list[list[str]] = []
    for row in table.get("rows") or [] if rows is None else rows:
        cells = row.get("cells") or []
        meta = _row_meta(row)
        line: list[str] = []
        if opts.watch_events:
            line.append(event)
        if opts.with_namespace:
            line.append(str(meta.get("namespace") or ""))
        for i in shown:
            if i >= len(cells):
                break
            text = cell_text(cells[i])
            if i == name_index and opts.kind_prefix:
                text = opts.kind_prefix + text
            line.append(text)
        labels = meta.get("labels") or {}
        for key in opts.label_columns:
            line.append(str(labels.get(key, "")))
        if opts.show_labels:
            line.append(label_text(labels))
        out.append(line)
    return out


def render(header: list[str] | None, rows: list[list[str]]) -> str:
    return format_rows(([header] if header is not None else []) + rows)
