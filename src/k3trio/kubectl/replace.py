"""``kubectl replace -f``: PUT each manifest (``--force`` deletes and re-creates).

The live ``resourceVersion`` is not required: like kubectl, a manifest without one replaces
whatever is live. Messages: ``<kind.group>/<name> replaced``; failures as
``Error from server (Reason): error when replacing "<source>": <message>``.
"""

from __future__ import annotations

from typing import Any

from .create import error_when
from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .mutate import (DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, VALIDATE_FLAG, dry_run_mode,
                     place, report, write_params)
from .rest import StatusError

SHORT = "Replace a resource by file name or stdin"
USAGE = "kubectl replace -f FILENAME"
FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG, VALIDATE_FLAG,
    Flag("cascade", "string", "background", "Must be \"background\", \"orphan\", or \"foreground\".", no_opt="background"),
    Flag("field-manager", "string", "kubectl-replace", "Name of the manager used to track field ownership."),
    Flag("force", "bool", False, "If true, immediately remove resources from API and bypass graceful deletion."),
    Flag("grace-period", "int", -1, "Period of time in seconds given to the resource to terminate gracefully."),
    Flag("raw", "string", "", "Raw URI to PUT to the server."),
    Flag("save-config", "bool", False, "If true, the configuration of current object will be saved in its annotation."),
    Flag("subresource", "string", "", "If specified, replace will operate on the subresource of the requested object."),
    Flag("timeout", "duration", 0.0, "The length of time to wait before giving up on a delete"),
    Flag("wait", "bool", False, "If true, wait for resources to be gone before returning."),
]


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not opts["filename"]:
        raise CommandError("error: must specify --filename to replace")
    from .resources import load_manifests

    errors: list[str] = []
    for m in load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin):
        obj = m.obj
        if opts["save_config"]:
            from .apply import with_last_applied

            obj = with_last_applied(obj)
        try:
            where = place(f, obj, m.source)
            if dry_run_mode(opts) == "client":
                report(f, opts, where.resource, obj, "replaced")
                continue
            params = write_params(opts, opts["field_manager"])
            if opts["force"]:
                try:
                    f.client.request("DELETE", where.path(),
                                     body={"propagationPolicy": "Background"})
                    f.out.write(f'{where.resource.kind_prefix} "{where.name}" deleted\n')
                except StatusError as exc:
                    if exc.code != 404:
                        raise
                from .delete import _wait_gone

                _wait_gone(f, [(where.resource, where.namespace, where.name, "")], 60.0)
                created = f.client.json("POST", where.collection(), params=params, body=obj)
                report(f, opts, where.resource, created, "replaced")
                continue
            meta = obj.setdefault("metadata", {})
            if not meta.get("resourceVersion"):
                live = f.client.get(where.path())
                meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
            result = f.client.json("PUT", where.path(opts["subresource"] or None),
                                   params=params, body=obj)
            report(f, opts, where.resource, result, "replaced")
        except StatusError as exc:
            errors.append(error_when(exc, "replacing", m.source))
        except CommandError as exc:
            errors.append(message_for(exc))
    if errors:
        f.out.flush()
        for e in errors:
            f.err.write(e + "\n")
        return 1
    return 0
