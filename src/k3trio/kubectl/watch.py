"""``kubectl get -w``/``--watch-only``: list (unless watch-only), then print every change.

Tables: the first table prints with its header; each change is one more row aligned to the
widths printed so far (kubectl's remembered tabwriter widths), with an ``EVENT`` column under
``--output-watch-events``. Other formats print each object (YAML documents separated by
``---``). The stream is re-opened from the last resourceVersion when the server ends it, and
runs until interrupted or ``--request-timeout``.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CommandError
from .factory import Factory
from .printers.output import OutputFormat
from .rest import TABLE_ACCEPT, StatusError


class _RowPrinter:
    def __init__(self, f: Factory, event_column: bool) -> None:
        self.f = f
        # kubectl sizes the EVENT column for its longest value from the start
        self.widths: list[int] = [len("MODIFIED") + 3] if event_column else []

    def print(self, rows: list[list[str]]) -> None:
        for row in rows:
            for i, cell in enumerate(row[:-1]):
                w = max(6, len(cell) + 3)
                if i >= len(self.widths):
                    self.widths.append(w)
                elif w > self.widths[i]:
                    self.widths[i] = w
        for row in rows:
            line = "".join(c.ljust(self.widths[i]) for i, c in enumerate(row[:-1]))
            self.f.out.write(line + (row[-1] if row else "") + "\n")
        self.f.out.flush()


def run_watch(f: Factory, targets: list[Any], opts: dict[str, Any], fmt: OutputFormat,
              all_ns: bool) -> int:
    if len({t.resource for t in targets}) != 1:
        raise CommandError("error: watch is only supported on individual resources and resource "
                           "collections, but 2 resources were found")
    t = targets[0]
    res = t.resource
    ns = None if not res.namespaced or all_ns else f.namespace
    params: dict[str, Any] = {}
    if opts["selector"]:
        params["labelSelector"] = opts["selector"]
    field = opts["field_selector"]
    if t.names:
        if len(t.names) > 1:
            raise CommandError("error: watch is only supported on individual resources and "
                               "resource collections, but 2 resources were found")
        field = f"metadata.name={t.names[0]}" + (f",{field}" if field else "")
    if field:
        params["fieldSelector"] = field
    table = fmt.is_table
    accept = TABLE_ACCEPT if table else None
    from .printers.table import TableOptions, header_row, table_rows

    topts = TableOptions(wide=fmt.kind == "wide", no_headers=opts["no_headers"],
                         show_labels=opts["show_labels"], label_columns=list(opts["label_columns"]),
                         with_namespace=all_ns and res.namespaced,
                         watch_events=opts["output_watch_events"])
    printer = _RowPrinter(f, opts["output_watch_events"])
    first = f.client.get(res.path(ns), params=params, accept=accept)
    rv = (first.get("metadata") or {}).get("resourceVersion") or ""
    header_done = False
    columns = first.get("columnDefinitions") if table else None
    if not opts["watch_only"]:
        if table:
            rows = table_rows(first, topts, event="ADDED")
            if rows or first.get("columnDefinitions"):
                lines = ([] if opts["no_headers"] else [header_row(first, topts)]) + rows
                if rows:
                    printer.print(lines)
                    header_done = True
        else:
            _print_objects(f, fmt, [{"apiVersion": res.api_version, "kind": res.kind, **i}
                                    for i in first.get("items") or []], opts, "ADDED")
    deadline = time.monotonic() + f.connection.timeout if f.connection.timeout else None
    while True:
        wparams = dict(params, watch="true", resourceVersion=rv, allowWatchBookmarks="true")
        if deadline is not None:
            wparams["timeoutSeconds"] = max(1, int(deadline - time.monotonic()))
        try:
            for event in f.client.watch_events(res.path(ns), wparams, accept=accept):
                etype = event.get("type")
                obj = event.get("object") or {}
                if etype == "BOOKMARK":
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    continue
                if etype == "ERROR":
                    raise StatusError(int(obj.get("code") or 500), obj)
                if table:
                    if obj.get("columnDefinitions"):
                        columns = obj["columnDefinitions"]
                    obj = {**obj, "columnDefinitions": columns}
                    rows = table_rows(obj, topts, event=str(etype))
                    for row in obj.get("rows") or []:
                        meta = (row.get("object") or {}).get("metadata") or {}
                        rv = meta.get("resourceVersion") or rv
                    if not header_done and not opts["no_headers"] and obj.get("columnDefinitions"):
                        rows = [header_row(obj, topts)] + rows
                        header_done = True
                    printer.print(rows)
                else:
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    _print_objects(f, fmt, [obj], opts, str(etype))
        except StatusError as exc:
            if exc.code == 410:
                rv = ""
                continue
            raise
        if deadline is not None and time.monotonic() >= deadline:
            return 0


def _print_objects(f: Factory, fmt: OutputFormat, objs: list[dict[str, Any]],
                   opts: dict[str, Any], event: str) -> None:
    from .printers.output import render

    for obj in objs:
        if opts["output_watch_events"] and fmt.kind == "json":
            from .printers.yamlfmt import go_json_compact

            f.out.write('{"type":"' + event + '","object":' + go_json_compact(obj) + "}\n")
            f.out.flush()
            continue
        doc = {"type": event, "object": obj} \
            if opts["output_watch_events"] and fmt.kind not in ("name",) else obj
        text = render(fmt, [doc], single=True)
        if fmt.kind == "yaml":
            text = "---\n" + text
        f.out.write(text)
        f.out.flush()
