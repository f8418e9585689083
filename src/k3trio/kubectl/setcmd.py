"""``kubectl set image|env|resources``: change containers of pod templates (deployments,
replica sets, stateful sets, daemon sets, jobs, cron jobs, pods) with a strategic merge patch
keyed by container name; prints ``<kind.group>/<name> image updated`` and the like."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

from .errors import CommandError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, dry_run_mode, report

SHORT = "Set specific features on objects"
USAGE = "kubectl set SUBCOMMAND"
SUBCOMMANDS = {
    "env": "Update environment variables on a pod template",
    "image": "Update the image of a pod template",
    "resources": "Update resource requests/limits on objects with pod templates",
}
_COMMON = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("all", "bool", False, "Select all resources, in the namespace of the specified resource types"),
    Flag("field-manager", "string", "kubectl-set", "Name of the manager used to track field ownership."),
    Flag("local", "bool", False, "If true, set will NOT contact api-server but run locally."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
]


def flags(sub: str | None) -> list[Flag]:
    if sub == "env":
        return _COMMON + [
            Flag("containers", "string", "*", "The names of containers in the selected pod templates to change", short="c"),
            Flag("env", "array", [], "Specify a key-value pair for an environment variable to set into each container.", short="e"),
            Flag("from", "string", "", "The name of a resource from which to inject environment variables"),
            Flag("keys", "slice", [], "Comma-separated list of keys to import from specified resource"),
            Flag("list", "bool", False, "If true, display the environment and any changes in the standard format."),
            Flag("overwrite", "bool", True, "If true, allow environment to be overwritten."),
            Flag("prefix", "string", "", "Prefix to append to variable names"),
            Flag("resolve", "bool", False, "If true, show secret or configmap references when listing variables"),
        ]
    if sub == "resources":
        return _COMMON + [
            Flag("containers", "string", "*", "The names of containers in the selected pod templates to change", short="c"),
            Flag("limits", "string", "", "The resource requirement limits for this container."),
            Flag("requests", "string", "", "The resource requirement requests for this container."),
        ]
    return _COMMON


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("kind")
    spec: dict[str, Any] = obj.setdefault("spec", {})
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
    pod_spec: dict[str, Any] = spec.setdefault("template", {}).setdefault("spec", {})
    return pod_spec


def _targets(f: Factory, args: list[str], opts: dict[str, Any]) -> tuple[list[tuple[Any, dict[str, Any]]], list[str]]:
    from .resources import parse_targets

    rest: list[str] = []
    resource_args: list[str] = []
    for a in args:
        (rest if "=" in a or (resource_args and a.endswith("-")) else resource_args).append(a)
    targets, _ = parse_targets(f.discovery, resource_args, command="set")
    out = []
    for t in targets:
        ns = f.namespace if t.resource.namespaced else None
        names = t.names
        if not names:
            if not (opts["all"] or opts["selector"]):
                raise CommandError("error: resource(s) were provided, but no name was specified")
            items = f.client.get(t.resource.path(ns), params={"labelSelector": opts["selector"] or None}).get("items") or []
            names = [i["metadata"]["name"] for i in items]
        for n in names:
            obj = f.client.get(t.resource.path(ns, n))
            obj.setdefault("kind", t.resource.kind)
            out.append((t.resource, obj))
    return out, rest


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub is None:
        raise CommandError("error: set needs a subcommand: env, image or resources")
    objects, rest = _targets(f, args, opts)
    if not objects:
        raise CommandError("error: one or more resources must be specified as <resource> <name> "
                           "or <resource>/<name>")
    for res, obj in objects:
        new = copy.deepcopy(obj)
        spec = _pod_spec(new)
        containers = spec.get("containers") or []
        init = spec.get("initContainers") or []
        if sub == "image":
            if not rest:
                raise CommandError("error: at least one image update is required")
            for pair in rest:
                cname, _, image = pair.partition("=")
                hit = [c for c in containers + init if cname == "*" or c.get("name") == cname]
                if not hit:
                    raise CommandError(f'error: unable to find container named "{cname}"')
                for c in hit:
                    c["image"] = image
            verb = "image updated"
        elif sub == "env":
            pairs = list(opts["env"]) + rest
            if not pairs and not opts["list"]:
                raise CommandError("error: at least one environment variable must be provided")
            for c in containers:
                if not fnmatch.fnmatch(c.get("name", ""), opts["containers"]):
                    continue
                env = c.setdefault("env", [])
                for pair in pairs:
                    if pair.endswith("-") and "=" not in pair:
                        env[:] = [e for e in env if e.get("name") != pair[:-1]]
                        continue
                    key, _, value = pair.partition("=")
                    key = opts["prefix"] + key
                    for e in env:
                        if e.get("name") == key:
                            if not opts["overwrite"]:
                                raise CommandError(f"error: '{key}' already has a value, and --overwrite is false")
                            e.clear()
                            e.update({"name": key, "value": value})
                            break
                    else:
                        env.append({"name": key, "value": value})
                if not env:
                    c.pop("env")
            if opts["list"]:
                for c in containers:
                    f.out.write(f"# {res.kind}/{obj['metadata']['name']}, container {c.get('name')}\n")
                    for e in c.get("env") or []:
                        f.out.write(f"{e.get('name')}={e.get('value', '')}\n")
                continue
            verb = "env updated"
        else:
            if not opts["limits"] and not opts["requests"]:
                raise CommandError("error: you must specify an update to requests or limits "
                                   "(in the form of --requests/--limits)")
            for c in containers:
                if not fnmatch.fnmatch(c.get("name", ""), opts["containers"]):
                    continue
                r = c.setdefault("resources", {})
                for field in ("limits", "requests"):
                    if opts[field]:
                        r.setdefault(field, {}).update(
                            dict(p.split("=", 1) for p in opts[field].split(",")))
            verb = "resource requirements updated"
        if new == obj:
            report(f, opts, res, obj, verb)
            continue
        meta = obj["metadata"]
        if dry_run_mode(opts) == "client":
            report(f, opts, res, new, verb)
            continue
        params = {"fieldManager": opts["field_manager"]}
        if dry_run_mode(opts) == "server":
            params["dryRun"] = "All"
        from .threeway import three_way_json_merge, three_way_strategic

        patch = three_way_strategic(obj, new, obj)
        ctype = "application/strategic-merge-patch+json"
        if patch is None:
            patch, ctype = three_way_json_merge(obj, new, obj), "application/merge-patch+json"
        result = f.client.json("PATCH", res.path(meta.get("namespace"), meta["name"]),
                               params=params, body=patch, content_type=ctype)
        report(f, opts, res, result, verb)
    return 0
