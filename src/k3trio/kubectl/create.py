"""``kubectl create -f`` and ``create <generator>``.

``-f`` POSTs every manifest (``--save-config`` adds the last-applied annotation); each failure
is reported as ``Error from server (Reason): error when creating "<source>": <message>`` after
the successes. The generators (``create namespace|deployment|configmap|...``) live in
``generators``; this module dispatches to them.
"""

from __future__ import annotations

from typing import Any

from .errors import CommandError, message_for
from .factory import Factory
from .flags import Flag
from .mutate import (DRY_RUN_FLAG, FILE_FLAGS, OUTPUT_FLAGS, VALIDATE_FLAG, dry_run_mode,
                     place, report, write_params)
from .rest import StatusError

SHORT = "Create a resource from a file or from stdin"
USAGE = "kubectl create -f FILENAME"
SUBCOMMANDS = {
    "clusterrole": "Create a cluster role",
    "clusterrolebinding": "Create a cluster role binding for a particular cluster role",
    "configmap": "Create a config map from a local file, directory or literal value",
    "cronjob": "Create a cron job with the specified name",
    "deployment": "Create a deployment with the specified name",
    "ingress": "Create an ingress with the specified name",
    "job": "Create a job with the specified name",
    "namespace": "Create a namespace with the specified name",
    "poddisruptionbudget": "Create a pod disruption budget with the specified name",
    "priorityclass": "Create a priority class with the specified name",
    "quota": "Create a quota with the specified name",
    "role": "Create a role with single rule",
    "rolebinding": "Create a role binding for a particular role or cluster role",
    "secret": "Create a secret using a specified subcommand",
    "service": "Create a service using a specified subcommand",
    "serviceaccount": "Create a service account with the specified name",
    "token": "Request a service account token",
}
ALIASES = {"cm": "configmap", "ns": "namespace", "deploy": "deployment", "cj": "cronjob",
           "sa": "serviceaccount", "pdb": "poddisruptionbudget", "pc": "priorityclass",
           "resourcequota": "quota", "svc": "service"}
SUBCOMMANDS.update({alias: SUBCOMMANDS[target] for alias, target in ALIASES.items()})

FLAGS = FILE_FLAGS + OUTPUT_FLAGS + [
    DRY_RUN_FLAG, VALIDATE_FLAG,
    Flag("edit", "bool", False, "Edit the API resource before creating"),
    Flag("field-manager", "string", "kubectl-create", "Name of the manager used to track field ownership."),
    Flag("raw", "string", "", "Raw URI to POST to the server.  Uses the transport specified by the kubeconfig file."),
    Flag("save-config", "bool", False, "If true, the configuration of current object will be saved in its annotation."),
    Flag("selector", "string", "", "Selector (label query) to filter on.", short="l"),
    Flag("windows-line-endings", "bool", False, "Only relevant if --edit=true."),
]


def flags(sub: str | None) -> list[Flag]:
    if sub is None:
        return FLAGS
    from .generators import generator_flags

    return generator_flags(ALIASES.get(sub, sub))


def run(f: Factory, sub: str | None, args: list[str], opts: dict[str, Any]) -> int:
    if sub is not None:
        from .generators import run_generator

        return run_generator(f, ALIASES.get(sub, sub), args, opts)
    if args:
        raise CommandError(f"error: Unexpected args: [{' '.join(args)}]\nSee 'kubectl create -h' "
                           "for help and examples")
    if not opts["filename"]:
        raise CommandError("error: must specify one of -f and -k\n\n"
                           "error: Required resource not specified.")
    from .resources import load_manifests

    manifests = load_manifests(opts["filename"], recursive=opts["recursive"], stdin=f.stdin)
    if opts["selector"]:
        from .selectors import matches_labels

        manifests = [m for m in manifests if matches_labels(
            opts["selector"], (m.obj.get("metadata") or {}).get("labels") or {})]
    errors: list[str] = []
    for m in manifests:
        obj = m.obj
        if opts["save_config"]:
            from .apply import with_last_applied

            obj = with_last_applied(obj)
        try:
            where = place(f, obj, m.source)
            if dry_run_mode(opts) == "client":
                report(f, opts, where.resource, obj, "created")
                continue
            created = f.client.json("POST", where.collection(),
                                    params=write_params(opts, opts["field_manager"]), body=obj)
            report(f, opts, where.resource, created, "created")
        except StatusError as exc:
            errors.append(error_when(exc, "creating", m.source))
        except CommandError as exc:
            errors.append(message_for(exc))
    if errors:
        f.out.flush()
        for e in errors:
            f.err.write(e + "\n")
        return 1
    return 0


def error_when(exc: StatusError, verb: str, source: str) -> str:
    """``Error from server (Reason): error when <verb> "<source>": <message>``."""
    if exc.reason == "Invalid":
        return message_for(exc)
    head = f"Error from server ({exc.reason})" if exc.reason else "Error from server"
    return f'{head}: error when {verb} "{source}": {exc.message}'
