"""``kubectl run NAME --image=IMAGE``: create one pod (labels default to ``run=NAME``;
arguments after ``--`` become ``args``, or ``command`` with ``--command``)."""

from __future__ import annotations

from typing import Any

from .errors import CommandError, UsageError
from .factory import Factory
from .flags import Flag
from .mutate import DRY_RUN_FLAG, OUTPUT_FLAGS, dry_run_mode, report, write_params

SHORT = "Run a particular image on the cluster"
USAGE = "kubectl run NAME --image=image [--env=\"key=value\"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]"
FLAGS = OUTPUT_FLAGS + [
    DRY_RUN_FLAG,
    Flag("annotations", "array", [], "Annotations to apply to the pod."),
    Flag("attach", "bool", False, "If true, wait for the Pod to start running, and then attach to the Pod."),
    Flag("command", "bool", False, "If true and extra arguments are present, use them as the 'command' field in the container."),
    Flag("env", "array", [], "Environment variables to set in the container."),
    Flag("expose", "bool", False, "If true, create a ClusterIP service associated with the pod."),
    Flag("field-manager", "string", "kubectl-run", "Name of the manager used to track field ownership."),
    Flag("image", "string", "", "The image for the container to run."),
    Flag("image-pull-policy", "string", "", "The image pull policy for the container."),
    Flag("labels", "string", "", "Comma separated labels to apply to the pod(s).", short="l"),
    Flag("overrides", "string", "", "An inline JSON override for the generated object."),
    Flag("port", "string", "", "The port that this container exposes."),
    Flag("privileged", "bool", False, "If true, run the container in privileged mode."),
    Flag("quiet", "bool", False, "If true, suppress prompt messages.", short="q"),
    Flag("restart", "string", "Always", "The restart policy for this Pod."),
    Flag("rm", "bool", False, "If true, delete the pod after it exits."),
    Flag("stdin", "bool", False, "Keep stdin open on the container in the pod.", short="i"),
    Flag("tty", "bool", False, "Allocate a TTY for the container in the pod.", short="t"),
    Flag("validate", "string", "strict", "", no_opt="strict"),
]


def build_pod(name: str, opts: dict[str, Any], args: list[str]) -> dict[str, Any]:
    labels: dict[str, str] = {}
    if opts["labels"]:
        for part in opts["labels"].split(","):
            k, sep, v = part.partition("=")
            if not sep:
                raise CommandError(f"error: invalid label spec: {part}")
            labels[k] = v
    else:
        labels = {"run": name}
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if opts["annotations"]:
        meta["annotations"] = dict(a.split("=", 1) for a in opts["annotations"])
    c: dict[str, Any] = {"name": name, "image": opts["image"]}
    if args:
        c["command" if opts["command"] else "args"] = list(args)
    if opts["port"]:
        c["ports"] = [{"containerPort": int(opts["port"])}]
    if opts["env"]:
        c["env"] = [dict(zip(("name", "value"), e.split("=", 1))) for e in opts["env"]]
    c["resources"] = {}
    if opts["image_pull_policy"]:
        c["imagePullPolicy"] = opts["image_pull_policy"]
    if opts["privileged"]:
        c["securityContext"] = {"privileged": True}
    if opts["stdin"]:
        c["stdin"] = True
        c["stdinOnce"] = True
    if opts["tty"]:
        c["tty"] = True
    pod = {"kind": "Pod", "apiVersion": "v1", "metadata": meta,
           "spec": {"containers": [c], "restartPolicy": opts["restart"], "dnsPolicy": "ClusterFirst"},
           "status": {}}
    if opts["overrides"]:
        import json

        from ..api.patch.strategic import apply_strategic_merge_patch, schema_for_kind

        pod = apply_strategic_merge_patch(pod, json.loads(opts["overrides"]),
                                          schema_for_kind("", "v1", "Pod"))
    return pod


def run(f: Factory, args: list[str], opts: dict[str, Any]) -> int:
    if not args:
        raise UsageError("NAME is required for run", "run")
    if not opts["image"]:
        raise CommandError("error: required flag(s) \"image\" not set")
    if opts["attach"] or opts["rm"] or opts["stdin"] or opts["tty"]:
        raise CommandError("error: run --attach/--rm/-i/-t need the node agent's attach "
                           "stream, which k3trio kubectl does not provide yet")
    name = args[0]
    pod = build_pod(name, opts, args[1:] + list(opts.get("__after__") or []))
    res = f.discovery.resolve("pods")
    from .mutate import enforce_namespace

    pod = enforce_namespace(f, pod)
    if dry_run_mode(opts) == "client":
        report(f, opts, res, pod, "created", typed=True)
        return 0
    created = f.client.json("POST", res.path(f.namespace),
                            params=write_params(opts, opts["field_manager"]), body=pod)
    report(f, opts, res, created, "created")
    return 0
