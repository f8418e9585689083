"""``kubectl wait --for=delete|create|condition=NAME[=VALUE]|jsonpath=EXPR[=VALUE]``.

Each object is checked until its condition holds or ``--timeout`` (default 30s) passes;
checks poll the object (GET), backing off from 50 ms to 1 s. Success lines as kubectl:
``pod/x condition met`` and ``pod/x deleted``; a timeout is ``error: timed out waiting for
the condition on pods/x`` and exit code 1.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .rest import StatusError

SHORT = "Experimental: Wait for a specific condition on one or many resources"
USAGE = "kubectl wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]"
FLAGS = [
    Flag("all", "bool", False, "Select all resources in the namespace of the specified resource types"),
    Flag("all-namespaces", "bool", False, "If present, list the requested object(s) across all namespaces.", short="A"),
    Flag("field-selector", "string", "", "Selector (field query) to filter on."),
    Flag("filename", "slice", [], "identifying the resource.", short="f"),
    Flag("for", "string", "", "The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath='{JSONPath expression}'=[JSONPath value]]."),
    Flag("local", "bool", False, "If true, annotation will NOT contact api-server but run locally."),
    Flag("output", "string", "", "Output format.", short="o"),
    Flag("recursive", "bool", False, "Process the directory used in -f, --filename recursively.", short="R"),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("timeout", "duration", 30.0, "The length of time to wait before giving up."),
]


def _parse_for(value: str) -> tuple[str, str, str | None]:
    if value in ("delete", "create"):
        return value, "", None
    if value.startswith("condition="):
        cond = value[len("condition="):]
        name, sep, want = cond.partition("=")
        return "condition", name, want if sep else "true"
    if value.startswith("jsonpath="):
        expr = value[len("jsonpath="):]
        depth = 0
        for i, ch in enumerate(expr):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "=" and depth == 0:
                return "jsonpath", expr[:i], expr[i + 1:]
        return "jsonpath", expr, None
    raise CommandError(f"error: unrecognized condition: \"{value}\"")


def _holds(kind: str, what: str, want: str | None, obj: dict[str, Any]) -> bool:
    if kind == "condition":
        for c in (obj.get("status") or {}).get("conditions") or []:
            if str(c.get("type", "")).lower() == what.lower():
                meta_gen = (obj.get("metadata") or {}).get("generation")
                observed = c.get("observedGeneration")
                if observed is not None and meta_gen is not None and observed < meta_gen:
                    return False
                return str(c.get("status", "")).lower() == str(want).lower()
        return False
    if kind == "jsonpath":
        from ..api.jsonpath import JSONPath, JSONPathError, relaxed_expression

        try:
            jp = JSONPath(relaxed_expression(what), allow_missing_keys=True)
            results = [v for r in jp.find_results(obj) for v in r]
        except JSONPathError as exc:
            raise CommandError(f"error: {exc}") from exc
        if want is None:
            return bool(results)
        if len(results) != 1:
            return False
        from ..api.jsonpath import format_value

        return format_value(results[0]) == want
    return True


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not opts["for"]:
        raise CommandError("error: --for must be specified")
    kind, what, want = _parse_for(opts["for"])
    from .resources import load_manifests, parse_targets

    objects: list[tuple[Any, str | None, str, str]] = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            objects.append((w.resource, w.namespace, w.name, ""))
    else:
        if not args:
            raise CommandError("error: resource(s) were provided, but no name was specified")
        targets, _ = parse_targets(f.discovery, args, command="wait")
        for t in targets:
            ns = None if not t.resource.namespaced or opts["all_namespaces"] else f.namespace
            if t.names:
                objects.extend((t.resource, ns or (f.namespace if t.resource.namespaced else None), n, "")
                               for n in t.names)
            else:
                params = {"labelSelector": opts["selector"] or None,
                          "fieldSelector": opts["field_selector"] or None}
                items = f.client.get(t.resource.path(ns), params=params).get("items") or []
                if not items and kind != "delete":
                    raise CommandError("error: no matching resources found")
                objects.extend((t.resource, (i["metadata"]).get("namespace"), i["metadata"]["name"],
                                i["metadata"].get("uid", "")) for i in items)
    deadline = time.monotonic() + opts["timeout"]
    code = 0
    for res, ns, name, uid in objects:
        label = f"{res.kind_prefix}/{name}"
        delay = 0.05
        first = True
        while True:
            try:
                obj = f.client.get(res.path(ns, name))
                found = not uid or (obj.get("metadata") or {}).get("uid") == uid
            except StatusError as exc:
                if exc.code != 404:
                    raise
                obj, found = {}, False
            if kind == "delete" and not found:
                if not first:
                    f.out.write(f"{label} condition met\n")
                break
            first = False
            if kind == "create" and found:
                f.out.write(f"{label} condition met\n")
                break
            if kind not in ("delete", "create") and found and _holds(kind, what, want, obj):
                if opts["output"] == "name":
                    f.out.write(label + "\n")
                elif opts["output"]:
                    from .printers.output import OutputFormat, render

                    f.out.write(render(OutputFormat.parse(opts["output"]), [obj], single=True))
                else:
                    f.out.write(f"{label} condition met\n")
                break
            if not found and kind not in ("delete", "create") and opts["timeout"] == 0:
                raise CommandError(f'Error from server (NotFound): {res.group_resource} "{name}" not found')
            if time.monotonic() >= deadline:
                f.out.flush()
                f.err.write(f"error: timed out waiting for the condition on {res.resource}/{name}\n")
                code = 1
                break
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)
    return code
