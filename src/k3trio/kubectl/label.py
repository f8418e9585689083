"""``kubectl label`` and ``kubectl annotate``: set (``k=v``) and remove (``k-``) labels or
annotations on named or selected objects.

An existing key is only changed with ``--overwrite``; the change is sent as a merge patch
(with ``resourceVersion`` when ``--resource-version`` is given). Messages as kubectl: label
prints ``labeled``, ``unlabeled`` (fewer labels, no overwrite) or ``not labeled`` (no
change); annotate prints ``annotated``. ``--list`` prints the current keys instead.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, dry_run_mode, report

SHORT = "Update the labels on a resource"
USAGES = {"label": "kubectl label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
          "annotate": "kubectl annotate [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]"}


def command_flags(command: str, sub: str | None) -> list[Flag]:
    return FILE_FLAGS + OUTPUT_FLAGS + [
        DRY_RUN_FLAG,
        Flag("all", "bool", False, "Select all resources, in the namespace of the specified resource types"),
        Flag("all-namespaces", "bool", False, "If true, check the specified action in all namespaces.", short="A"),
        Flag("field-manager", "string", f"kubectl-{command}", "Name of the manager used to track field ownership."),
        Flag("field-selector", "string", "", "Selector (field query) to filter on."),
        Flag("list", "bool", False, "If true, display the labels/annotations for a given resource."),
        Flag("local", "bool", False, "If true, will NOT contact api-server but run locally."),
        Flag("overwrite", "bool", False, "If true, allow labels/annotations to be overwritten."),
        Flag("resource-version", "string", "", "If non-empty, the update will only succeed if this is the current resource-version for the object."),
        Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    ]


_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _split_args(args: list[str], what: str) -> tuple[list[str], dict[str, str], list[str]]:
    resources: list[str] = []
    changes: dict[str, str] = {}
    removals: list[str] = []
    seen_change = False
    for arg in args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            if what == "label" and not _KEY.match(key):
                raise CommandError(f"error: invalid {what} spec: {arg}")
            changes[key] = value
            seen_change = True
        elif arg.endswith("-") and len(arg) > 1 and (seen_change or resources):
            removals.append(arg[:-1])
            seen_change = True
        else:
            if seen_change:
                raise CommandError("error: all resources must be specified before "
                                   f"{what} changes: {arg}")
            resources.append(arg)
    return resources, changes, removals


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    command = opts["__command__"]
    field = "labels" if command == "label" else "annotations"
    what = "label" if command == "label" else "annotation"
    resource_args, changes, removals = _split_args(args, what)
    if not changes and not removals and not opts["list"]:
        raise CommandError(f"error: at least one {what} update is required")
    from .resources import load_manifests, parse_targets

    objects: list[tuple[Any, str | None, str]] = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            objects.append((w.resource, w.namespace, w.name))
    else:
        if not resource_args:
            raise CommandError("error: one or more resources must be specified as <resource> "
                               "<name> or <resource>/<name>")
        targets, _ = parse_targets(f.discovery, resource_args, command=command)
        for t in targets:
            ns = None if not t.resource.namespaced else (
                None if opts["all_namespaces"] else f.namespace)
            if t.names:
                objects.extend((t.resource, ns or (f.namespace if t.resource.namespaced else None), n)
                               for n in t.names)
            elif opts["all"] or opts["selector"] or opts["field_selector"]:
                items = f.client.get(t.resource.path(ns), params={
                    "labelSelector": opts["selector"] or None,
                    "fieldSelector": opts["field_selector"] or None}).get("items") or []
                objects.extend((t.resource, i["metadata"].get("namespace"), i["metadata"]["name"])
                               for i in items)
            else:
                raise CommandError("error: resource(s) were provided, but no name was specified")
    for res, ns, name in objects:
        obj = f.client.get(res.path(ns, name))
        meta = obj.setdefault("metadata", {})
        old = dict(meta.get(field) or {})
        if opts["list"]:
            for k, v in old.items():
                f.out.write(f"{k}={v}\n")
            continue
        new = dict(old)
        for key, value in changes.items():
            if key in old and not opts["overwrite"] and old[key] != value:
                raise CommandError(f"error: '{key}' already has a value ({old[key]}), and "
                                   "--overwrite is false")
            new[key] = value
        for key in removals:
            if key not in new and command == "label":
                f.out.write(f'{what} "{key}" not found.\n')
            new.pop(key, None)
        if command == "annotate":
            verb = "annotated"
        else:
            verb = "not labeled"
            if new != old:
                verb = "labeled"
                if not opts["overwrite"] and len(new) < len(old):
                    verb = "unlabeled"
        result = obj
        if new != old and dry_run_mode(opts) != "client":
            patch_meta: dict[str, Any] = {field: {k: new.get(k) for k in set(old) | set(new)
                                                  if old.get(k) != new.get(k)}}
            if opts["resource_version"]:
                patch_meta["resourceVersion"] = opts["resource_version"]
            params: dict[str, str] = {"fieldManager": opts["field_manager"]}
            if dry_run_mode(opts) == "server":
                params["dryRun"] = "All"
            result = f.client.json("PATCH", res.path(ns, name), params=params,
                                   body={"metadata": patch_meta},
                                   content_type="application/merge-patch+json")
        report(f, opts, res, result, verb)
    return 0
