"""``kubectl delete``: by names, ``TYPE/NAME``, ``-f``, ``-l``, ``--all``, ``--field-selector``.

Each object gets one DELETE with ``DeleteOptions`` (``propagationPolicy`` from
``--cascade``, ``gracePeriodSeconds`` from ``--grace-period``/``--force``/``--now``); the
message is ``<kind.group> "<name>" deleted[ from <ns> namespace]``. With ``--wait`` (the
default) the command then waits until every deleted object (same UID) is gone.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, FILE_FLAGS, dry_run_mode
from .rest import StatusError

SHORT = "Delete resources by file names, stdin, resources and names, or by resources and label selector"
USAGE = "kubectl delete ([-f FILENAME] | [-k DIRECTORY] | TYPE [(NAME | -l label | --all)])"

FLAGS = FILE_FLAGS + [
    DRY_RUN_FLAG,
    Flag("all", "bool", False, "Delete all resources, in the namespace of the specified resource types."),
    Flag("all-namespaces", "bool", False, "If present, list the requested object(s) across all namespaces.", short="A"),
    Flag("cascade", "string", "background", "Must be \"background\", \"orphan\", or \"foreground\".", no_opt="background"),
    Flag("field-selector", "string", "", "Selector (field query) to filter on."),
    Flag("force", "bool", False, "If true, immediately remove resources from API and bypass graceful deletion."),
    Flag("grace-period", "int", -1, "Period of time in seconds given to the resource to terminate gracefully."),
    Flag("ignore-not-found", "bool", False, "Treat \"resource not found\" as a successful delete."),
    Flag("interactive", "bool", False, "If true, delete resource only when user confirms.", short="i"),
    Flag("now", "bool", False, "If true, resources are signaled for immediate shutdown (same as --grace-period=1)."),
    Flag("output", "string", "", "Output mode. Use \"-o name\" for shorter output (resource/name).", short="o"),
    Flag("raw", "string", "", "Raw URI to DELETE to the server."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("timeout", "duration", 0.0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object"),
    Flag("wait", "bool", True, "If true, wait for resources to be gone before returning. This waits for finalizers."),
]


def _delete_options(opts: dict[str, Any]) -> dict[str, Any]:
    cascade = opts["cascade"]
    policy = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
              "true": "Background", "false": "Orphan"}.get(cascade)
    if policy is None:
        raise CommandError(f'error: invalid cascade value ({cascade}). Must be "background", '
                           '"foreground", or "orphan".')
    body: dict[str, Any] = {"propagationPolicy": policy}
    grace = opts["grace_period"]
    if opts["now"]:
        if grace >= 0:
            raise CommandError("error: --now and --grace-period cannot be specified together")
        grace = 1
    if opts["force"] and grace < 0:
        grace = 0
    if grace == 0 and not opts["force"]:
        grace = 1
    if grace >= 0:
        body["gracePeriodSeconds"] = grace
    if dry_run_mode(opts) == "server":
        body["dryRun"] = ["All"]
    return body


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if opts["raw"]:
        resp = f.client.request("DELETE", opts["raw"])
        f.out.write(resp.body.decode("utf-8", "replace"))
        return 0
    body = _delete_options(opts)
    if opts["force"] and body.get("gracePeriodSeconds") == 0:
        f.err.write("Warning: Immediate deletion does not wait for confirmation that the running "
                    "resource has been terminated. The resource may continue to run on the "
                    "cluster indefinitely.\n")
    objects, errors = _select(f, args, opts)
    deleted: list[tuple[Any, str | None, str, str]] = []
    client_dry = dry_run_mode(opts) == "client"
    for res, ns, name in objects:
        try:
            uid = ""
            if not client_dry:
                result = f.client.json("DELETE", res.path(ns, name), body=body)
                uid = str((result.get("metadata") or {}).get("uid") or "")
                if result.get("kind") == "Status":
                    uid = str((result.get("details") or {}).get("uid") or "")
        except StatusError as exc:
            if exc.code == 404 and opts["ignore_not_found"]:
                continue
            errors.append(message_for(exc))
            continue
        _report(f, opts, res, ns, name)
        deleted.append((res, ns, name, uid))
    if opts["wait"] and deleted and dry_run_mode(opts) == "none":
        timeout = opts["timeout"] or 7 * 24 * 3600.0
        err = _wait_gone(f, deleted, timeout)
        if err:
            errors.append(err)
    if errors:
        f.out.flush()
        for e in errors:
            f.err.write(e + "\n")
        return 1
    return 0


def _report(f: Factory, opts: dict[str, Any], res: Any, ns: str | None, name: str) -> None:
    mode = dry_run_mode(opts)
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(mode, "")
    if opts["output"] == "name":
        f.out.write(f"{res.kind_prefix}/{name}\n")
        return
    where = f" from {ns} namespace" if ns else ""
    f.out.write(f'{res.kind_prefix} "{name}" deleted{where}{suffix}\n')


def _select(f: Factory, args: list[str], opts: dict[str, Any]
            ) -> tuple[list[tuple[Any, str | None, str]], list[str]]:
    from .resources import load_manifests, parse_targets

    out: list[tuple[Any, str | None, str]] = []
    errors: list[str] = []
    if opts["filename"]:
        if args:
            raise CommandError("error: cannot specify both a filename and resource arguments")
        from .mutate import place

        for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
            where = place(f, m.obj, m.source)
            out.append((where.resource, where.namespace, where.name))
        return out, errors
    if not args:
        raise CommandError(
            "error: You must provide one or more resources by argument or filename.\n"
            "Example resource specifications include:\n   '-f rsrc.yaml'\n   "
            "'--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
    targets, _ = parse_targets(f.discovery, args, command="delete")
    selecting = bool(opts["selector"] or opts["field_selector"] or opts["all"])
    for t in targets:
        ns = None if not t.resource.namespaced else (None if opts["all_namespaces"] else f.namespace)
        if t.names:
            if selecting and opts["selector"]:
                raise CommandError("error: name cannot be provided when a selector is specified")
            out.extend((t.resource, ns if t.resource.namespaced else None, n) for n in t.names)
            continue
        if not selecting:
            raise CommandError("error: resource(s) were provided, but no name was specified")
        params = {"labelSelector": opts["selector"] or None,
                  "fieldSelector": opts["field_selector"] or None}
        items = f.client.get(t.resource.path(ns), params=params).get("items") or []
        for item in items:
            meta = item.get("metadata") or {}
            out.append((t.resource, meta.get("namespace"), meta.get("name", "")))
    if not out and not errors:
        f.err.write("No resources found\n")
    return out, errors


def _wait_gone(f: Factory, deleted: list[tuple[Any, str | None, str, str]], timeout: float
               ) -> str:
    deadline = time.monotonic() + timeout
    pending = list(deleted)
    delay = 0.05
    while pending:
        still = []
        for res, ns, name, uid in pending:
            try:
                obj = f.client.get(res.path(ns, name))
            except StatusError as exc:
                if exc.code == 404:
                    continue
                return message_for(exc)
            if uid and (obj.get("metadata") or {}).get("uid") != uid:
                continue
            still.append((res, ns, name, uid))
        pending = still
        if not pending:
            return ""
        if time.monotonic() >= deadline:
            res, ns, name, _ = pending[0]
            return f"error: timed out waiting for the condition on {res.kind_prefix}/{name}"
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    return ""
