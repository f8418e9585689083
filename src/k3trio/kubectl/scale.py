"""``kubectl scale``: set ``spec.replicas`` through the ``scale`` subresource.

``--current-replicas`` and ``--resource-version`` are preconditions checked first;
``--timeout`` waits for the new size to be observed in ``status.replicas``.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, dry_run_mode, report

SHORT = "Set a new size for a deployment, replica set, or replication controller"
USAGE = "kubectl scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)"
FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("all", "bool", False, "Select all resources in the namespace of the specified resource types"),
    Flag("current-replicas", "int", -1, "Precondition for current size."),
    Flag("replicas", "int", 0, "The new desired number of replicas. Required."),
    Flag("resource-version", "string", "", "Precondition for resource version."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("timeout", "duration", 0.0, "The length of time to wait before giving up on a scale operation."),
]


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if "replicas" not in opts["__changed__"]:
        raise CommandError("error: The --replicas=COUNT flag is required, and COUNT must be "
                           "greater than or equal to 0")
    if opts["replicas"] < 0:
        raise CommandError("error: The --replicas=COUNT flag is required, and COUNT must be "
                           "greater than or equal to 0")
    from .resources import load_manifests, parse_targets

    objects: list[tuple[Any, str | None, str]] = []
    if opts["filename"]:
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            w = place(f, m.obj, m.source)
            objects.append((w.resource, w.namespace, w.name))
    else:
        targets, _ = parse_targets(f.discovery, args, command="scale")
        for t in targets:
            ns = f.namespace if t.resource.namespaced else None
            if t.names:
                objects.extend((t.resource, ns, n) for n in t.names)
            elif opts["all"] or opts["selector"]:
                items = f.client.get(t.resource.path(ns), params={
                    "labelSelector": opts["selector"] or None}).get("items") or []
                objects.extend((t.resource, ns, i["metadata"]["name"]) for i in items)
            else:
                raise CommandError("error: resource(s) were provided, but no name was specified")
    if not objects:
        raise CommandError("error: no objects passed to scale")
    for res, ns, name in objects:
        path = res.path(ns, name, "scale")
        current = f.client.get(path)
        spec_replicas = (current.get("spec") or {}).get("replicas", 0)
        if opts["current_replicas"] >= 0 and opts["current_replicas"] != spec_replicas:
            raise CommandError(f"error: Expected replicas to be {opts['current_replicas']}, "
                               f"was {spec_replicas}")
        rv = (current.get("metadata") or {}).get("resourceVersion")
        if opts["resource_version"] and opts["resource_version"] != rv:
            raise CommandError(f"error: Expected resource version to be "
                               f"{opts['resource_version']}, was {rv}")
        if dry_run_mode(opts) != "client":
            body: dict[str, Any] = {"spec": {"replicas": opts["replicas"]}}
            params = {"dryRun": "All"} if dry_run_mode(opts) == "server" else None
            f.client.json("PATCH", path, params=params, body=body,
                          content_type="application/merge-patch+json")
        if opts["output"]:
            report(f, opts, res, f.client.get(res.path(ns, name)), "scaled")
        else:
            report(f, opts, res, {"metadata": {"name": name}}, "scaled")
        if opts["timeout"] and dry_run_mode(opts) == "none":
            deadline = time.monotonic() + opts["timeout"]
            while time.monotonic() < deadline:
                obj = f.client.get(path)
                if (obj.get("status") or {}).get("replicas") == opts["replicas"]:
                    break
                time.sleep(0.2)
            else:
                raise CommandError("error: timed out waiting for the condition")
    return 0
