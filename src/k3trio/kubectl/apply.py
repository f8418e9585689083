"""``kubectl apply``: client-side three-way apply with the last-applied annotation,
server-side apply, ``--prune`` and ``apply view-last-applied|set-last-applied|edit-last-applied``.

Client-side: the new manifest gets ``kubectl.kubernetes.io/last-applied-configuration`` (its
own compact JSON, keys sorted, ``namespace`` filled in, newline-terminated); a missing object
is created with it; an existing one is patched with the three-way patch of
(last-applied, manifest, live) (``threeway``) as field manager
``kubectl-client-side-apply``; an empty patch prints ``unchanged`` without a request.
Server-side: the manifest is sent as an apply patch (field manager ``kubectl``, ``force`` with
``--force-conflicts``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .mutate import (DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, VALIDATE_FLAG, dry_run_mode,
                     place, report, write_params)
from .rest import StatusError

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SHORT = "Apply a configuration to a resource by file name or stdin"
USAGE = "kubectl apply (-f FILENAME | -k DIRECTORY) [options]"
SUBCOMMANDS = {
    "edit-last-applied": "Edit latest last-applied-configuration annotations of a resource/object",
    "set-last-applied": "Set the last-applied-configuration annotation on a live object to match the contents of a file",
    "view-last-applied": "View the latest last-applied-configuration annotations of a resource/object",
}

FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG, VALIDATE_FLAG,
    Flag("all", "bool", False, "Select all resources in the namespace of the specified resource types."),
    Flag("cascade", "string", "background", "Must be \"background\", \"orphan\", or \"foreground\".", no_opt="background"),
    Flag("field-manager", "string", "kubectl-client-side-apply", "Name of the manager used to track field ownership."),
    Flag("force", "bool", False, "If true, immediately remove resources from API and bypass graceful deletion."),
    Flag("force-conflicts", "bool", False, "If true, server-side apply will force the changes against conflicts."),
    Flag("grace-period", "int", -1, "Period of time in seconds given to the resource to terminate gracefully."),
    Flag("overwrite", "bool", True, "Automatically resolve conflicts between the modified and live configuration by using values from the modified configuration"),
    Flag("prune", "bool", False, "Automatically delete resource objects that do not appear in the configs and are created by either apply or create --save-config."),
    Flag("prune-allowlist", "array", [], "Overwrite the default allowlist with <group/version/kind> for --prune"),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("server-side", "bool", False, "If true, apply runs in the server instead of the client."),
    Flag("timeout", "duration", 0.0, "The length of time to wait before giving up on a delete."),
    Flag("wait", "bool", False, "If true, wait for resources to be gone before returning."),
    Flag("openapi-patch", "bool", True, "If true, use openapi to calculate diff when the openapi presents and the resource can be found in the openapi spec."),
    Flag("record", "bool", False, "Record current kubectl command in the resource annotation.", hidden=True),
    Flag("save-config", "bool", False, "", hidden=True),
]

_VIEW_FLAGS = FILE_FLAGS + [
    Flag("all", "bool", False, "Select all resources in the namespace of the specified resource types"),
    Flag("output", "string", "yaml", "Output format. Must be one of (yaml, json)", short="o"),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
]

DEFAULT_PRUNE = [
    ("", "v1", "ConfigMap"), ("", "v1", "Endpoints"), ("", "v1", "Namespace"),
    ("", "v1", "PersistentVolumeClaim"), ("", "v1", "PersistentVolume"), ("", "v1", "Pod"),
    ("", "v1", "ReplicationController"), ("", "v1", "Secret"), ("", "v1", "Service"),
    ("batch", "v1", "Job"), ("batch", "v1", "CronJob"), ("networking.k8s.io", "v1", "Ingress"),
    ("apps", "v1", "DaemonSet"), ("apps", "v1", "Deployment"), ("apps", "v1", "ReplicaSet"),
    ("apps", "v1", "StatefulSet"),
]


def flags(sub: str | None) -> list[Flag]:
    if sub in ("view-last-applied", "edit-last-applied", "set-last-applied"):
        return _VIEW_FLAGS
    return FLAGS


def last_applied_text(obj: dict[str, Any]) -> str:
    """The annotation value for manifest ``obj`` (without the annotation itself)."""
    from .printers.yamlfmt import go_json_compact

    clean = copy.deepcopy(obj)
    meta = clean.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    return go_json_compact(clean) + "\n"


def with_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    text = last_applied_text(obj)
    meta = out.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: text}
    return out


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub == "view-last-applied":
        return _view_last_applied(f, args, opts)
    if sub is not None:
        raise CommandError(f"error: apply {sub} is not supported by k3trio kubectl")
    if args:
        raise CommandError("error: Unexpected args: " + str(args).replace("'", "")
                           + "\nSee 'kubectl apply -h' for help and examples")
    if not opts["filename"]:
        raise CommandError("error: must specify one of -f and -k")
    if opts["prune"] and not opts["selector"] and not opts["all"]:
        raise CommandError("error: all resources selected for prune without explicitly "
                           "passing --all. To prune all resources, pass the --all flag. If you "
                           "did not mean to prune all resources, specify a label selector")
    from .resources import load_manifests

    manifests = load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin)
    if opts["selector"]:
        from .selectors import matches_labels

        manifests = [m for m in manifests
                     if matches_labels(opts["selector"], (m.obj.get("metadata") or {}).get("labels") or {})]
    errors: list[str] = []
    applied: set[tuple[str, str | None, str]] = set()
    namespaces: set[str | None] = set()
    for m in manifests:
        try:
            where = place(f, m.obj, m.source)
            applied.add((where.resource.group_resource, where.namespace, where.name))
            namespaces.add(where.namespace)
            if opts["server_side"]:
                _server_side(f, opts, where, m.obj)
            else:
                _client_side(f, opts, where, m.obj)
        except (StatusError, CommandError) as exc:
            errors.append(_apply_error(exc, m, where if "where" in dir() else None))
    if opts["prune"] and not errors:
        _prune(f, opts, applied, namespaces)
    if errors:
        f.out.flush()
        for e in errors:
            f.err.write(e + "\n")
        return 1
    return 0


def _apply_error(exc: Exception, m: Any, where: Any) -> str:
    if isinstance(exc, StatusError) and exc.reason not in ("Invalid",) and where is not None:
        verb = "applying patch" if exc.code == 409 else "when creating"
        return (f'Error from server ({exc.reason}): error {verb} "{m.source}": '
                f"{exc.message}") if exc.reason else message_for(exc)
    return message_for(exc)


def _server_side(f: Factory, opts: dict[str, Any], where: Any, obj: dict[str, Any]) -> None:
    from .printers.yamlfmt import go_json_compact

    manager = opts["field_manager"]
    if "field_manager" not in opts["__changed__"]:
        manager = "kubectl"
    params = write_params(opts, manager)
    if opts["force_conflicts"]:
        params["force"] = "true"
    if dry_run_mode(opts) == "client":
        report(f, opts, where.resource, obj, "serverside-applied")
        return
    result = f.client.json("PATCH", where.path(), params=params,
                           data=go_json_compact(obj).encode(),
                           content_type="application/apply-patch+yaml")
    report(f, opts, where.resource, result, "serverside-applied")


def _client_side(f: Factory, opts: dict[str, Any], where: Any, obj: dict[str, Any]) -> None:
    for attempt in range(5):  # kubectl re-reads and re-patches on conflicts
        try:
            _client_side_once(f, opts, where, obj, warn=attempt == 0)
            return
        except StatusError as exc:
            if exc.code != 409 or attempt == 4:
                raise


def _client_side_once(f: Factory, opts: dict[str, Any], where: Any, obj: dict[str, Any],
                      warn: bool) -> None:
    modified = with_last_applied(obj)
    manager = opts["field_manager"]
    mode = dry_run_mode(opts)
    try:
        current = f.client.get(where.path())
    except StatusError as exc:
        if exc.code != 404:
            raise
        if mode == "client":
            report(f, opts, where.resource, modified, "created")
            return
        created = f.client.json("POST", where.collection(),
                                params=write_params(opts, manager), body=modified)
        report(f, opts, where.resource, created, "created")
        return
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    original = None
    if LAST_APPLIED not in annotations and mode != "client" and warn:
        f.err.write(f"Warning: resource {where.resource.resource}/{where.name} is missing "
                    f"the {LAST_APPLIED} annotation which is required by kubectl apply. kubectl "
                    "apply should only be used on resources created declaratively by either "
                    "kubectl create --save-config or kubectl apply. The missing annotation will "
                    "be patched automatically.\n")
    if LAST_APPLIED in annotations:
        try:
            original = json.loads(annotations[LAST_APPLIED])
        except ValueError:
            original = None
    from .threeway import three_way_json_merge, three_way_strategic

    patch = three_way_strategic(original, modified, current)
    ctype = "application/strategic-merge-patch+json"
    if patch is None:
        patch = three_way_json_merge(original, modified, current)
        ctype = "application/merge-patch+json"
    if not patch:
        report(f, opts, where.resource, current, "unchanged")
        return
    if mode == "client":
        report(f, opts, where.resource, current, "configured")
        return
    result = f.client.json("PATCH", where.path(), params=write_params(opts, manager),
                           body=patch, content_type=ctype)
    report(f, opts, where.resource, result, "configured")


def _prune(f: Factory, opts: dict[str, Any], applied: set[tuple[str, str | None, str]],
           namespaces: set[str | None]) -> None:
    kinds = DEFAULT_PRUNE
    if f.namespace_explicit and not opts["prune_allowlist"]:
        from .klog import warning

        warning(f.err, "prune.go:71", "Deprecated: kubectl apply will no longer prune "
                "non-namespaced resources by default when used with the --namespace flag in a "
                "future release. To preserve the current behaviour, list the resources you want "
                "to target explicitly in the --prune-allowlist flag.")
    if opts["prune_allowlist"]:
        kinds = []
        for gvk in opts["prune_allowlist"]:
            parts = gvk.split("/")
            if len(parts) == 2:
                kinds.append(("", parts[0], parts[1]))
            elif len(parts) == 3:
                kinds.append((parts[0], parts[1], parts[2]))
    params: dict[str, str] = {}
    if opts["selector"]:
        params["labelSelector"] = opts["selector"]
    for group, version, kind in kinds:
        api_version = f"{group}/{version}" if group else version
        try:
            res = f.discovery.for_kind(api_version, kind)
        except Exception:
            continue
        scopes = sorted((ns for ns in namespaces if ns), key=str) if res.namespaced else [None]
        for ns in scopes:
            items = f.client.get(res.path(ns), params=params).get("items") or []
            for item in items:
                meta = item.get("metadata") or {}
                if LAST_APPLIED not in (meta.get("annotations") or {}):
                    continue
                key = (res.group_resource, meta.get("namespace"), meta.get("name"))
                if key in applied:
                    continue
                if dry_run_mode(opts) != "client":
                    body = {"propagationPolicy": "Background"}
                    p = {"dryRun": "All"} if dry_run_mode(opts) == "server" else None
                    f.client.request("DELETE", res.path(meta.get("namespace"), meta["name"]),
                                     params=p, body=body)
                report(f, {**opts, "output": "" if opts.get("output") != "name" else "name"},
                       res, item, "pruned")


def _view_last_applied(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    from .resources import parse_targets

    output = opts.get("output") or "yaml"
    if output not in ("yaml", "json"):
        raise CommandError(f"error: Unexpected -o output mode: {output}, the flag 'output' "
                           "must be one of yaml|json")
    targets, _ = parse_targets(f.discovery, args, command="apply view-last-applied")
    for t in targets:
        ns = f.namespace if t.resource.namespaced else None
        for name in t.names:
            obj = f.client.get(t.resource.path(ns, name))
            text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
            if text is None:
                raise CommandError(f"error: no last-applied-configuration annotation found on "
                                   f"resource: {name}")
            doc = json.loads(text)
            if output == "json":
                from .printers.yamlfmt import go_json_indent

                f.out.write(go_json_indent(doc, indent=2))
            else:
                from .printers.yamlfmt import dump_yaml

                f.out.write(dump_yaml(doc))
    return 0
