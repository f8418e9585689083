"""``kubectl describe``: human-readable details of objects, in kubectl's layout.

``describe TYPE NAME`` shows that object, or every object whose name starts with NAME when
none is called exactly that; ``describe TYPE`` (or ``-l``) shows every match. Known kinds
use their describer (``kinds.DESCRIBERS``), others the generic field dump. Objects are
separated by one blank line. Events of the object follow unless ``--show-events=false``.
"""

from __future__ import annotations

from typing import Any

from ..errors import CommandError, message_for
from ..factory import Factory
from ..flags import Flag
from ..rest import StatusError

SHORT = "Show details of a specific resource or group of resources"
USAGE = "kubectl describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)"
FLAGS = [
    Flag("all-namespaces", "bool", False, "If present, list the requested object(s) across all namespaces.", short="A"),
    Flag("chunk-size", "int", 500, "Return large lists in chunks rather than all at once."),
    Flag("filename", "slice", [], "Filename, directory, or URL to files containing the resource to describe", short="f"),
    Flag("kustomize", "string", "", "Process the kustomization directory.", short="k"),
    Flag("recursive", "bool", False, "Process the directory used in -f, --filename recursively.", short="R"),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("show-events", "bool", True, "If true, display events related to the described object."),
]


class _Context:
    def __init__(self, f: Factory, show_events: bool) -> None:
        self.f = f
        self.show_events = show_events

    def events_for(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        meta = obj.get("metadata") or {}
        sel = [f"involvedObject.name={meta.get('name', '')}",
               f"involvedObject.kind={obj.get('kind', '')}"]
        if meta.get("uid"):
            sel.append(f"involvedObject.uid={meta['uid']}")
        ns = meta.get("namespace")
        if ns:
            sel.append(f"involvedObject.namespace={ns}")
        path = f"/api/v1/namespaces/{ns}/events" if ns else "/api/v1/events"
        try:
            items: list[dict[str, Any]] = self.f.client.get(
                path, params={"fieldSelector": ",".join(sel)}).get("items") or []
            return items
        except StatusError:
            return []

    def lease(self, node: str) -> dict[str, Any] | str:
        """The node's Lease, or kubectl's message when it cannot be read."""
        try:
            lease: dict[str, Any] = self.f.client.get(
                f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")
            return lease
        except StatusError as exc:
            return f"Failed to get lease: {exc.message}"

    def list(self, group: str, version: str, resource: str, namespace: str | None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        path = f"{base}/namespaces/{namespace}/{resource}" if namespace else f"{base}/{resource}"
        try:
            items: list[dict[str, Any]] = self.f.client.get(
                path, params={"labelSelector": label_selector}).get("items") or []
            return items
        except StatusError:
            return []


def describe_object(obj: dict[str, Any], ctx: Any) -> str:
    from .kinds import DESCRIBERS, describe_generic

    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    describer = DESCRIBERS.get((group, str(obj.get("kind") or "")), describe_generic)
    return describer(obj, ctx)


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from ..resources import load_manifests, parse_targets

    ctx = _Context(f, opts["show_events"])
    all_ns = opts["all_namespaces"]
    found: list[dict[str, Any]] = []
    by_prefix = False
    errors: list[str] = []
    targets: list[Any] = []
    if opts["filename"]:
        from ..mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            try:
                found.append(f.client.get(w.path()))
            except StatusError as exc:
                errors.append(message_for(exc))
    else:
        if not args:
            raise CommandError(
                "You must specify the type of resource to describe. Use \"kubectl "
                "api-resources\" for a complete list of supported resources.\n")
        targets, _ = parse_targets(f.discovery, args, command="describe")
        for t in targets:
            res = t.resource
            ns = None if not res.namespaced or all_ns else f.namespace
            if t.names:
                for name in t.names:
                    try:
                        found.append(_with_kind(f.client.get(res.path(ns or f.namespace, name)), res))
                    except StatusError as exc:
                        if exc.code != 404 or "/" in " ".join(args):
                            errors.append(message_for(exc))
                            continue
                        prefixed = [i for i in _list(f, res, ns, opts)
                                    if (i.get("metadata") or {}).get("name", "").startswith(name)]
                        if not prefixed:
                            errors.append(message_for(exc))
                        by_prefix = True
                        found.extend(prefixed)
            else:
                found.extend(_list(f, res, ns, opts))
    if len(found) > 1 or by_prefix:
        ctx.show_events = False  # kubectl shows events only when describing a single object
    first = True
    for obj in found:
        if not first:
            f.out.write("\n\n")
        first = False
        f.out.write(describe_object(obj, ctx))
        if by_prefix:
            f.out.write("\n")
    if not found and not errors:
        namespaced = any(t.resource.namespaced for t in targets)
        if namespaced and not all_ns:
            f.err.write(f"No resources found in {f.namespace} namespace.\n")
        else:
            f.err.write("No resources found\n")
    if errors:
        f.out.flush()
        for e in errors:
            f.err.write(e + "\n")
        return 1
    return 0


def _with_kind(obj: dict[str, Any], res: Any) -> dict[str, Any]:
    if "kind" not in obj:
        obj = {"apiVersion": res.api_version, "kind": res.kind, **obj}
    return obj


def _list(f: Factory, res: Any, ns: str | None, opts: dict[str, Any]) -> list[dict[str, Any]]:
    params = {"labelSelector": opts["selector"] or None}
    if opts["chunk_size"] > 0:
        params["limit"] = opts["chunk_size"]
    items = f.client.get(res.path(ns), params=params).get("items") or []
    return [_with_kind(i, res) for i in items]
