"""``kubectl events``: events of a namespace (or ``-A``), oldest first, as kubectl's table
``LAST SEEN  TYPE  REASON  OBJECT  MESSAGE``; ``--for kind/name``, ``--types``, ``-w``."""

from __future__ import annotations

from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag

SHORT = "List events"
USAGE = "kubectl events [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file] [--for TYPE/NAME] [--watch] [--types=Normal,Warning]"
FLAGS = [
    Flag("all-namespaces", "bool", False, "If present, list the requested object(s) across all namespaces.", short="A"),
    Flag("chunk-size", "int", 500, "Return large lists in chunks rather than all at once."),
    Flag("for", "string", "", "Filter events to only those pertaining to the specified resource."),
    Flag("no-headers", "bool", False, "When using the default output format, don't print headers."),
    Flag("output", "string", "", "Output format.", short="o"),
    Flag("types", "slice", [], "Output only events of given types."),
    Flag("watch", "bool", False, "After listing the requested events, watch for more events.", short="w"),
    Flag("allow-missing-template-keys", "bool", True, ""),
]


def _last(e: dict[str, Any]) -> str:
    return str(e.get("lastTimestamp") or (e.get("series") or {}).get("lastObservedTime")
               or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or "")


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    all_ns = opts["all_namespaces"]
    params: dict[str, Any] = {}
    if opts["chunk_size"] > 0:
        params["limit"] = opts["chunk_size"]
    if opts["for"]:
        from .resources import parse_targets

        kind, _, name = opts["for"].partition("/")
        res = f.discovery.resolve(kind)
        sel = [f"involvedObject.kind={res.kind}", f"involvedObject.name={name}"]
        if res.group:
            sel.append(f"involvedObject.apiVersion={res.api_version}")
        params["fieldSelector"] = ",".join(sel)
    for t in opts["types"]:
        if t not in ("Normal", "Warning"):
            raise CommandError(f"error: valid --types are Normal or Warning")
    path = "/api/v1/events" if all_ns else f"/api/v1/namespaces/{f.namespace}/events"
    items = f.client.get(path, params=params).get("items") or []
    if opts["types"]:
        items = [e for e in items if e.get("type") in opts["types"]]
    items.sort(key=_last)
    if opts["output"]:
        from .printers.output import OutputFormat, render

        objs = [{"apiVersion": "v1", "kind": "Event", **e} for e in items]
        f.out.write(render(OutputFormat.parse(opts["output"]), objs, single=False))
        return 0
    if not items:
        f.err.write("No events found.\n" if all_ns else
                    f"No events found in {f.namespace} namespace.\n")
        return 0
    from .describe.writer import age
    from .printers.tabwriter import format_rows

    rows = [] if opts["no_headers"] else [
        (["NAMESPACE"] if all_ns else []) + ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]]
    for e in items:
        io = e.get("involvedObject") or {}
        kind = str(io.get("kind", ""))
        group = str(io.get("apiVersion", "")).rpartition("/")[0]
        obj = f"{kind}/{io.get('name', '')}" if not group else f"{kind}/{io.get('name', '')}"
        when = age(_last(e))
        count = e.get("count") or (e.get("series") or {}).get("count") or 0
        first = e.get("firstTimestamp") or e.get("eventTime")
        if count and count > 1 and first:
            when = f"{when} (x{count} over {age(first)})"
        row = [when, e.get("type", ""), e.get("reason", ""), obj, str(e.get("message", "")).strip()]
        rows.append(([(e.get("metadata") or {}).get("namespace", "")] if all_ns else []) + row)
    f.out.write(format_rows(rows))
    return 0
