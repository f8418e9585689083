"""``kubectl get``: list or fetch objects and print them as tables or any ``-o`` format.

Tables come from the server (``as=Table``), one per resource type, a blank line between
types, names prefixed ``kind.group/`` when several types are printed; other formats get the
objects themselves (each list item given its ``apiVersion`` and ``kind``). Lists are read in
``--chunk-size`` pages. With ``-w`` the command keeps printing changes until interrupted.
Errors for individual names are printed after the output; the exit code is then 1.
"""

from __future__ import annotations

from typing import Any

from .discovery import ApiResource
from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .printers.output import OutputFormat
from .rest import TABLE_ACCEPT, StatusError

USAGE = "kubectl get [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file|custom-columns|custom-columns-file|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]"
SHORT = "Display one or many resources"

FLAGS = [
    Flag("all-namespaces", "bool", False, "If present, list the requested object(s) across all namespaces.", short="A"),
    Flag("allow-missing-template-keys", "bool", True, "If true, ignore any errors in templates when a field or map key is missing in the template."),
    Flag("chunk-size", "int", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable."),
    Flag("field-selector", "string", "", "Selector (field query) to filter on, supports '=', '==', and '!='."),
    Flag("filename", "slice", [], "Filename, directory, or URL to files identifying the resource to get from a server.", short="f"),
    Flag("ignore-not-found", "bool", False, "If set to true, suppresses NotFound error for specific objects that do not exist."),
    Flag("kustomize", "string", "", "Process the kustomization directory.", short="k"),
    Flag("label-columns", "slice", [], "Accepts a comma separated list of labels that are going to be presented as columns.", short="L"),
    Flag("no-headers", "bool", False, "When using the default or custom-column output format, don't print headers (default print headers)."),
    Flag("output", "string", "", "Output format.", short="o"),
    Flag("output-watch-events", "bool", False, "Output watch event objects when --watch or --watch-only is used."),
    Flag("raw", "string", "", "Raw URI to request from the server."),
    Flag("recursive", "bool", False, "Process the directory used in -f, --filename recursively.", short="R"),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("server-print", "bool", True, "If true, have the server return the appropriate table output."),
    Flag("show-kind", "bool", False, "If present, list the resource type for the requested object(s)."),
    Flag("show-labels", "bool", False, "When printing, show all labels as the last column (default hide labels column)."),
    Flag("show-managed-fields", "bool", False, "If true, keep the managedFields when printing objects in JSON or YAML format."),
    Flag("sort-by", "string", "", "If non-empty, sort list types using this field specification."),
    Flag("subresource", "string", "", "If specified, gets the subresource of the requested object."),
    Flag("template", "string", "", "Template string or path to template file to use."),
    Flag("watch", "bool", False, "After listing/getting the requested object, watch for changes.", short="w"),
    Flag("watch-only", "bool", False, "Watch for changes to the requested object(s), without listing/getting first."),
]


def _no_resources(f: Factory, targets: list[Any], all_ns: bool) -> None:
    namespaced = any(t.resource.namespaced for t in targets)
    if namespaced and not all_ns:
        f.err.write(f"No resources found in {f.namespace} namespace.\n")
    else:
        f.err.write("No resources found\n")


def _strip_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return obj


class _Fetcher:
    def __init__(self, f: Factory, opts: dict[str, Any], all_ns: bool, table: bool) -> None:
        self.f = f
        self.opts = opts
        self.all_ns = all_ns
        self.table = table
        self.errors: list[str] = []

    def namespace_for(self, res: ApiResource) -> str | None:
        if not res.namespaced:
            return None
        return None if self.all_ns else self.f.namespace

    def list_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.opts["selector"]:
            params["labelSelector"] = self.opts["selector"]
        if self.opts["field_selector"]:
            params["fieldSelector"] = self.opts["field_selector"]
        if self.table and self.opts["sort_by"]:
            params["includeObject"] = "Object"
        return params

    def get_one(self, res: ApiResource, name: str) -> dict[str, Any] | None:
        params = {"includeObject": "Object"} if self.table and self.opts["sort_by"] else None
        try:
            found: dict[str, Any] = self.f.client.get(
                res.path(self.namespace_for(res) or self.f.namespace, name,
                         self.opts["subresource"] or None),
                params=params, accept=TABLE_ACCEPT if self.table else None)
            return found
        except StatusError as exc:
            if exc.code == 404 and self.opts["ignore_not_found"]:
                return None
            self.errors.append(message_for(exc))
            return None

    def list_pages(self, res: ApiResource) -> list[dict[str, Any]]:
        params = self.list_params()
        chunk = self.opts["chunk_size"]
        pages: list[dict[str, Any]] = []
        token = ""
        while True:
            p = dict(params)
            if chunk and chunk > 0:
                p["limit"] = chunk
            if token:
                p["continue"] = token
            page = self.f.client.get(res.path(self.namespace_for(res)), params=p,
                                     accept=TABLE_ACCEPT if self.table else None)
            pages.append(page)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return pages


def _sort_key(path: str) -> Any:
    from .sorting import sort_key_for

    return sort_key_for(path)


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if opts["raw"]:
        return _raw(f, opts["raw"])
    fmt = OutputFormat.parse(opts["output"])
    if opts["template"] or opts["output"].startswith(("go-template", "template")):
        raise CommandError("error: go templates are not supported by k3trio kubectl; use "
                           "-o jsonpath or -o custom-columns")
    all_ns = bool(opts["all_namespaces"])
    if not args and not opts["filename"]:
        f.err.write('You must specify the type of resource to get. Use "kubectl api-resources" '
                    "for a complete list of supported resources.\n\n")
        raise CommandError(
            "error: Required resource not specified.\nUse \"kubectl explain <resource>\" for a "
            "detailed description of that resource (e.g. kubectl explain pods).\n"
            "See 'kubectl get -h' for help and examples")
    from .resources import Target, load_manifests, parse_targets

    if opts["filename"]:
        targets = []
        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            res = f.discovery.for_kind(m.obj["apiVersion"], m.obj["kind"])
            targets.append(Target(res, [m.obj.get("metadata", {}).get("name", "")]))
        single = len(targets) == 1
        explicit_ns: dict[int, str] = {}
    else:
        targets, single = parse_targets(f.discovery, args)
    if opts["watch"] or opts["watch_only"]:
        from .watch import run_watch

        return run_watch(f, targets, opts, fmt, all_ns)
    table = fmt.is_table and opts["server_print"]
    fetch = _Fetcher(f, opts, all_ns, table)
    several_types = len({t.resource for t in targets}) > 1 or opts["show_kind"]
    if table:
        printed = _print_tables(f, fetch, targets, opts, fmt, all_ns, several_types)
        if not printed and not fetch.errors and not opts["ignore_not_found"]:
            _no_resources(f, targets, all_ns)
    else:
        objs: list[dict[str, Any]] = []
        prefixes: list[str] = []
        for t in targets:
            found = _objects(fetch, t)
            objs.extend(found)
            prefixes.extend([t.resource.kind_prefix] * len(found))
        if opts["sort_by"]:
            key = _sort_key(opts["sort_by"])
            order = sorted(range(len(objs)), key=lambda i: key(objs[i]))
            objs = [objs[i] for i in order]
            prefixes = [prefixes[i] for i in order]
        if not opts["show_managed_fields"]:
            objs = [_strip_managed(o) for o in objs]
        if single and not objs:
            pass  # one named object that failed: kubectl prints no empty List
        elif objs or fmt.kind not in ("name", "custom-columns"):
            text = _render(fmt, objs, single and len(objs) == 1 and not fetch.errors, opts,
                           prefixes)
            f.out.write(text)
        elif not fetch.errors and fmt.kind == "custom-columns":
            _no_resources(f, targets, all_ns)
    if fetch.errors:
        f.out.flush()
        for e in fetch.errors:
            f.err.write(e + "\n")
        return 1
    return 0


def _render(fmt: OutputFormat, objs: list[dict[str, Any]], single: bool, opts: dict[str, Any],
            prefixes: list[str]) -> str:
    from .printers.output import render

    return render(fmt, objs, single=single, no_headers=opts["no_headers"],
                  name_prefixes=prefixes)


def _objects(fetch: _Fetcher, t: Any) -> list[dict[str, Any]]:
    res = t.resource
    out: list[dict[str, Any]] = []
    if t.names:
        for name in t.names:
            obj = fetch.get_one(res, name)
            if obj is not None:
                out.append(obj)
        return out
    for page in fetch.list_pages(res):
        for item in page.get("items") or []:
            if "kind" not in item:
                item = {"apiVersion": res.api_version, "kind": res.kind, **item}
            out.append(item)
    return out


def _print_tables(f: Factory, fetch: _Fetcher, targets: list[Any], opts: dict[str, Any],
                  fmt: OutputFormat, all_ns: bool, several_types: bool) -> bool:
    from .printers.table import TableOptions, header_row, render, table_rows

    printed_any = False
    for t in targets:
        res = t.resource
        tables: list[dict[str, Any]] = []
        if t.names:
            for name in t.names:
                tab = fetch.get_one(res, name)
                if tab is not None:
                    tables.append(tab)
        else:
            tables = fetch.list_pages(res)
        tables = [tab for tab in tables if tab.get("kind") == "Table" or tab.get("rows")]
        if not tables:
            continue
        rows = [r for tab in tables for r in tab.get("rows") or []]
        if not rows:
            continue
        if opts["sort_by"]:
            key = _sort_key(opts["sort_by"])
            rows.sort(key=lambda r: key(r.get("object") or {}))
        topts = TableOptions(
            wide=fmt.kind == "wide", no_headers=opts["no_headers"],
            show_labels=opts["show_labels"], label_columns=list(opts["label_columns"]),
            with_namespace=all_ns and res.namespaced,
            kind_prefix=(res.kind_prefix + "/") if several_types else "")
        header = None if opts["no_headers"] else header_row(tables[0], topts)
        if printed_any and not opts["no_headers"]:
            f.out.write("\n")
        f.out.write(render(header, table_rows(tables[0], topts, rows=rows)))
        printed_any = True
    return printed_any


def _raw(f: Factory, path: str) -> int:
    resp = f.client.request("GET", path)
    text = resp.body.decode("utf-8", "replace")
    f.out.write(text)
    return 0
